"""A queue server given ``--tiled`` streams every campaign's documents to Tiled too: the campaign read back
from the server replays as the directory does."""

import os
import secrets
import time

import pytest

from tests.lab.conftest import free_port, main_json, read_campaign_id
from tests.lab.queue.servers import QueueServer
from tests.lab.tiled_server import TiledServer

API_KEY = secrets.token_hex(32)


@pytest.fixture(scope="module")
def tiled_uri(tmp_path_factory):
    os.environ["TILED_API_KEY"] = API_KEY  # the queue server's worker inherits it
    try:
        with TiledServer(tmp_path_factory.mktemp("tiled"), free_port(), API_KEY) as server:
            yield server.uri
    finally:
        os.environ.pop("TILED_API_KEY", None)


def test_documents_reach_tiled_as_the_log_holds_them(redis, tiled_uri, fast_campaign_file, tmp_path):
    server = QueueServer(tmp_path / "queue", redis, name="t", seed=5, tiled=tiled_uri).start()
    try:
        out = tmp_path / "tiled-campaign"
        code, _ = main_json(
            ["agent", str(fast_campaign_file), "--sim", "--queue", server.address, "--out", str(out),
             "--budget", "2", "--seed", "5", "--json"]
        )  # fmt: skip
        assert code == 0, server.log_text()
        code, from_dir = main_json(["replay", str(out), "--json"])
        assert code == 0 and len(from_dir["experiments"]) == 2
        campaign_id = read_campaign_id(out)
        deadline = time.monotonic() + 60  # the worker's sink sends from a thread of its own
        while True:
            code, from_tiled = main_json(
                ["replay", "--tiled", tiled_uri, "--campaign-id", campaign_id, "--json"]
            )
            if code == 0 and len(from_tiled["experiments"]) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert code == 0 and from_tiled["experiments"] == from_dir["experiments"]
        assert from_tiled["divergences"] == []
    finally:
        server.stop()
