"""Fixtures of the queue tests: one Redis for the module, and queue servers on it (tests/lab/queue/servers.py)."""

import pytest

from tests.lab.queue.servers import QueueServer, Redis, need_queue_packages


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    need_queue_packages()
    server = Redis(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def start_queue(redis, tmp_path_factory):
    """``start_queue(name, seed, realtime=False)``: a started ``qdlab serve --sim CdSe`` reactor, stopped at the module's end."""
    started: list[QueueServer] = []

    def start(name: str, seed: int, *, realtime: bool = False) -> QueueServer:
        server = QueueServer(
            tmp_path_factory.mktemp(f"queue-{name}"), redis, name=name, seed=seed, realtime=realtime
        )
        started.append(server.start())
        return server

    yield start
    for server in started:
        server.stop()
