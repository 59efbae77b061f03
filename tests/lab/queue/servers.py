"""Real servers on loopback for the queue tests: a ``redis-server`` and one ``qdlab serve`` (an RE manager)
per reactor, each on free ports, each stopped by its process id (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

START_TIMEOUT_S = (
    120.0  # a hang guard only: on a loaded 2-core machine the worker imports bluesky, ophyd, numba
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_queue_packages() -> None:
    """Skip, with the reason, when redis-server or the queue extra is missing."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make redis, or apt-get install redis-server)")
    pytest.importorskip(
        "bluesky_queueserver", reason="the queue extra is not installed: pip install '.[queue]'"
    )
    pytest.importorskip(
        "bluesky_queueserver_api", reason="the queue extra is not installed: pip install '.[queue]'"
    )


def _stop(proc: subprocess.Popen | None, timeout_s: float = 20.0) -> None:
    """Stop ``proc`` and the processes it started (the RE manager's worker), each by its process id."""
    if proc is None:
        return
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for child in children:
        try:
            child.terminate()
            child.wait(timeout=timeout_s)
        except psutil.TimeoutExpired:
            child.kill()
        except psutil.NoSuchProcess:
            pass


class Redis:
    """``redis-server`` on a free loopback port, no persistence, its log in ``root``."""

    def __init__(self, root: Path):
        self.root, self.port = root, free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Redis":
        self.log = open(self.root / "redis.log", "a")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(
                        f"redis-server did not start: {(self.root / 'redis.log').read_text()[-2000:]}"
                    )
                time.sleep(0.1)

    def stop(self) -> None:
        _stop(self.proc)
        self.proc = None
        self.log.close()


class QueueServer:
    """``qdlab serve`` for one simulated reactor (``--sim MATERIAL``, world ``seed``), its files and log in
    ``root``, on Redis ``redis`` under its own key prefix; ``api`` is an REManagerAPI on its 0MQ sockets."""

    def __init__(
        self,
        root: Path,
        redis: Redis,
        *,
        name: str,
        seed: int,
        material: str = "CdSe",
        realtime: bool = False,
        tiled: str | None = None,
    ):
        self.root, self.redis, self.name, self.seed, self.material = root, redis, name, seed, material
        self.realtime, self.tiled = realtime, tiled
        self.control = f"tcp://127.0.0.1:{free_port()}"
        self.info = f"tcp://127.0.0.1:{free_port()}"
        self.proc: subprocess.Popen | None = None
        self.api = None

    @property
    def address(self) -> str:
        """``qdlab agent --queue``'s form: NAME=CONTROL,INFO."""
        return f"{self.name}={self.control},{self.info}"

    def start(self) -> "QueueServer":
        self.root.mkdir(parents=True, exist_ok=True)
        self.log = open(self.root / "manager.log", "a")
        qdlab = Path(sys.executable).parent / "qdlab"
        self.proc = subprocess.Popen(
            [str(qdlab), "serve", "--sim", self.material, "--seed", str(self.seed), "--folder", str(self.root),
             "--redis-addr", self.redis.addr, "--redis-prefix", f"qdlab_{self.name}",
             "--zmq-control-addr", self.control, "--zmq-info-addr", self.info,
             *(["--realtime"] if self.realtime else []), *(["--tiled", self.tiled] if self.tiled else [])],
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        from bluesky_queueserver_api.zmq import REManagerAPI

        self.api = REManagerAPI(zmq_control_addr=self.control, zmq_info_addr=self.info, timeout_recv=5.0)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.api.status()
                return self
            except Exception:  # noqa: BLE001 - not listening yet
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"the RE manager did not start: {self.log_text()}")
                time.sleep(0.3)

    def log_text(self) -> str:
        return (self.root / "manager.log").read_text()[-4000:]

    def stop(self) -> None:
        if self.api is not None:
            self.api.close()
            self.api = None
        _stop(self.proc)
        self.proc = None
        self.log.close()
