"""A real local Tiled server stopped in the middle of a run: the campaign goes on, the log stays complete,
the user is told once, and `qdlab sync` / `qdlab resume --tiled` bring the server up to date, the
half-written run included. The API key (a recognisable fake) shows nowhere."""

import os
from pathlib import Path

import pytest

from lab.cli import main
from lab.store.storage import LOG_NAME, read_documents
from lab.store.tiled import TiledSink
from tests.lab.conftest import free_port, main_json, read_campaign_id, run_sim
from tests.lab.tiled_server import TiledServer

KEY = "qdlabFAKEKEYdoNotPrint7f3a9c0b"  # what must never appear in a message, a file or a report
WARNING = "stopped taking documents"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with TiledServer(tmp_path_factory.mktemp("tiled"), free_port(), KEY, persistent=True) as srv:
        yield srv


@pytest.fixture
def key_in_env(monkeypatch):
    monkeypatch.setenv("TILED_API_KEY", KEY)


def _stop_server_before_stop_document(monkeypatch, server, run_number):
    """Stop the server just before the sink writes the stop document of run ``run_number`` (1-based): the
    server then holds that run's start and descriptors but not its end. The client tries once (its own
    retries would outlive the test's restart of the server and finish the run behind its back). Returns
    the undo."""
    import tiled.client.utils

    real = TiledSink.open_writer
    stops = []

    def open_writer(self):
        writer = real(self)

        def write(name, doc):
            if name == "stop":
                stops.append(doc["uid"])
                if len(stops) == run_number:
                    server.stop()
            writer(name, doc)

        return write

    attempts = tiled.client.utils.TILED_RETRY_ATTEMPTS
    monkeypatch.setattr(TiledSink, "open_writer", open_writer)
    monkeypatch.setattr(tiled.client.utils, "TILED_RETRY_ATTEMPTS", 1)

    def undo():
        monkeypatch.setattr(TiledSink, "open_writer", real)
        monkeypatch.setattr(tiled.client.utils, "TILED_RETRY_ATTEMPTS", attempts)

    return undo


def _run_with_the_server_stopped_before_the_first_stop(monkeypatch, server, campaign_file, out, budget):
    """``qdlab run --tiled`` (exit 0) with the server stopped before the stop document of run 1, then
    started again: the rest of the test and the module's other tests need it back."""
    undo = _stop_server_before_stop_document(monkeypatch, server, run_number=1)
    try:
        assert run_sim(campaign_file, out, budget, "--tiled", server.uri) == 0
    finally:
        undo()
        if server.proc is None:
            server.start()


def _mismatched(uri: str, out: Path) -> list[str]:
    """The logged runs the server does not hold whole (missing, or a stream / the stop that differs)."""
    from tiled.client import from_uri

    from lab.store.tiled_sync import log_runs, server_shape

    container = from_uri(uri, api_key=KEY)[read_campaign_id(out)]
    return [
        uid
        for uid, (shape, _) in log_runs(read_documents(out / LOG_NAME)).items()
        if uid not in container or server_shape(container[uid]) != shape
    ]


def _assert_server_equals_log(uri: str, out: Path, experiments: int) -> None:
    assert _mismatched(uri, out) == []
    code, from_dir = main_json(["replay", str(out), "--json"])
    code_t, from_tiled = main_json(
        ["replay", "--tiled", f"{uri}?api_key={KEY}", "--campaign-id", read_campaign_id(out), "--json"]
    )
    assert code == code_t == 0
    assert from_tiled == from_dir and len(from_dir["experiments"]) == experiments


def _assert_no_key(*texts: str, directory: Path | None = None) -> None:
    for text in texts:
        assert KEY not in text and KEY[:8] not in text
    for path in directory.rglob("*") if directory else ():
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path


def test_server_stopped_mid_run_then_sync_and_resume_complete_every_run(
    server, key_in_env, campaign_file, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "c"
    _run_with_the_server_stopped_before_the_first_stop(monkeypatch, server, campaign_file, out, budget=2)
    run_err = capsys.readouterr().err
    # the campaign went on: the log holds both experiments
    assert [d["experiment_index"] for n, d in read_documents(out / LOG_NAME) if n == "start"] == [0, 1]
    # told once, on one line, naming the run and the command that mends it
    told = [line for line in run_err.splitlines() if WARNING in line]
    assert len(told) == 1 and run_err.count("Tiled at") == 2, run_err  # and "streaming to Tiled at"
    assert "experiment 0" in told[0] and f"qdlab sync {out} --tiled {server.uri}" in told[0]
    # the restarted server holds run 0 without its end and lacks run 1: what a backfill by uid misses
    assert _mismatched(server.uri, out) == [
        d["uid"] for n, d in read_documents(out / LOG_NAME) if n == "start"
    ]

    assert main(["sync", str(out), "--tiled", server.uri]) == 0
    said = capsys.readouterr().out
    assert "1 runs sent, 1 incomplete runs sent again, 0 already complete" in " ".join(said.split())
    assert _mismatched(server.uri, out) == []

    # resume --tiled finds the server whole, then streams the budget run and experiment 2
    assert main(["resume", str(out), "--budget", "3", "--tiled", server.uri]) == 0
    resume_err = capsys.readouterr().err
    assert "0 runs sent, 0 incomplete runs sent again, 2 already complete" in " ".join(resume_err.split())
    assert WARNING not in resume_err
    _assert_server_equals_log(server.uri, out, 3)
    _assert_no_key(run_err, said, resume_err, directory=out)


def test_resume_with_tiled_sends_the_half_written_run_again(
    server, key_in_env, campaign_file, tmp_path, monkeypatch, capsys
):
    """The campaign itself stopped too (a crash, Ctrl-C) while the server was down: resume mends both."""
    out = tmp_path / "c"
    _run_with_the_server_stopped_before_the_first_stop(monkeypatch, server, campaign_file, out, budget=1)
    capsys.readouterr()
    assert main(["resume", str(out), "--budget", "2", "--tiled", server.uri]) == 0
    err = capsys.readouterr().err
    assert "0 runs sent, 1 incomplete runs sent again, 0 already complete" in " ".join(err.split()), err
    _assert_server_equals_log(server.uri, out, 2)
    _assert_no_key(err, directory=out)


def test_sync_to_a_stopped_server_is_one_line_and_the_key_shows_nowhere(
    server, key_in_env, campaign_file, tmp_path, capsys
):
    out = tmp_path / "c"
    keyed = f"{server.uri}?api_key={KEY}"  # the Tiled client also takes the key in the URI
    os.environ.pop("TILED_API_KEY")
    assert run_sim(campaign_file, out, 1, "--tiled", keyed) == 0
    texts = [capsys.readouterr().err]
    assert f"streaming to Tiled at {server.uri}," in " ".join(texts[0].split())
    _assert_server_equals_log(server.uri, out, 1)
    code, _ = main_json(
        ["report", str(tmp_path / "r"), "--tiled", keyed, "--campaign-id", read_campaign_id(out), "--json"]
    )
    assert code == 0
    texts.append(capsys.readouterr().err)
    # a wrong key: refused in one line that names neither key
    os.environ["TILED_API_KEY"] = KEY[::-1]
    assert main(["sync", str(out), "--tiled", f"{server.uri}?api_key={KEY}x"]) == 2
    texts.append(capsys.readouterr().err)
    os.environ["TILED_API_KEY"] = KEY
    dead = f"http://127.0.0.1:{free_port()}?api_key={KEY}"
    assert main(["sync", str(out), "--tiled", dead]) == 2
    texts.append(capsys.readouterr().err)
    assert "cannot reach the Tiled server" in texts[-1] and len(texts[-1].strip().splitlines()) == 1
    _assert_no_key(*texts, directory=out)
    _assert_no_key(directory=tmp_path / "r")
