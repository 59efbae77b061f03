"""--tiled: a campaign streamed to a real local Tiled server reads back exactly as from its directory."""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli import main
from tests.lab.conftest import free_port, main_json, read_campaign_id, run_sim
from tests.lab.tiled_server import TiledServer

API_KEY = secrets.token_hex(32)


@pytest.fixture(scope="module")
def tiled_server(tmp_path_factory):
    with TiledServer(tmp_path_factory.mktemp("tiled"), free_port(), API_KEY) as server:
        yield server.uri


@pytest.fixture(scope="module")
def streamed(tiled_server, fast_campaign_file, tmp_path_factory):
    os.environ["TILED_API_KEY"] = API_KEY
    out = tmp_path_factory.mktemp("tiled-run") / "cdse"
    try:
        assert run_sim(fast_campaign_file, out, 3, "--tiled", tiled_server) == 0
        yield tiled_server, out, read_campaign_id(out)
    finally:
        os.environ.pop("TILED_API_KEY", None)


def test_replay_from_tiled_equals_replay_from_directory(streamed):
    uri, out, campaign_id = streamed
    code, from_dir = main_json(["replay", str(out), "--json"])
    assert code == 0
    code, from_tiled = main_json(["replay", "--tiled", uri, "--campaign-id", campaign_id, "--json"])
    assert code == 0
    assert from_tiled == from_dir
    assert len(from_tiled["experiments"]) == 3 and from_tiled["divergences"] == []


def test_report_from_tiled(streamed, tmp_path):
    uri, out, campaign_id = streamed
    code, summary = main_json(
        ["report", str(tmp_path / "r"), "--tiled", uri, "--campaign-id", campaign_id, "--json"]
    )
    assert code == 0 and summary["experiments"] == 3
    page = (tmp_path / "r" / "report.html").read_text()
    assert 'alt="spectra plot"' in page and campaign_id in page


def test_without_campaign_id_the_campaigns_are_listed(streamed, capsys):
    uri, _, campaign_id = streamed
    assert main(["replay", "--tiled", uri]) == 2
    assert f"{campaign_id} (cdse-green)" in capsys.readouterr().err


def test_unreachable_server_is_refused_before_anything_moves(fast_campaign_file, tmp_path, capsys):
    port = free_port()
    out = tmp_path / "c"
    assert run_sim(fast_campaign_file, out, 1, "--tiled", f"http://127.0.0.1:{port}") == 2
    assert "cannot reach the Tiled server" in capsys.readouterr().err
    assert not (out / "documents.jsonl").exists()


def test_resume_with_tiled_sends_the_logged_runs_first(tiled_server, fast_campaign_file, tmp_path):
    # a campaign started without --tiled dies half-way through writing its 9th document (experiment 2)
    out = tmp_path / "c"
    killed = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).parents[3] / "tests/fixtures/torn_write.py"),
            "9",
            "run",
            str(fast_campaign_file),
            "--sim",
            "--out",
            str(out),
            "--budget",
            "3",
        ],
        capture_output=True,
        cwd=Path(__file__).parents[3],
    )
    assert killed.returncode != 0
    os.environ["TILED_API_KEY"] = API_KEY
    try:
        assert main(["resume", str(out), "--tiled", tiled_server]) == 0
        campaign_id = read_campaign_id(out)
        code, from_dir = main_json(["replay", str(out), "--json"])
        assert code == 0
        code, from_tiled = main_json(
            ["replay", "--tiled", tiled_server, "--campaign-id", campaign_id, "--json"]
        )
        assert code == 0
        assert from_tiled == from_dir and len(from_tiled["experiments"]) == 3
    finally:
        os.environ.pop("TILED_API_KEY", None)


def test_a_budget_set_on_resume_reads_back_from_tiled(streamed, tmp_path):
    """The budget run goes to Tiled like any run (no streams), and replay from there honours it."""
    uri, out, campaign_id = streamed
    copy = tmp_path / "extended"
    shutil.copytree(out, copy)  # same campaign id: the server's container is extended (this test runs last)
    os.environ["TILED_API_KEY"] = API_KEY
    try:
        assert main(["resume", str(copy), "--budget", "4", "--tiled", uri]) == 0
        code, from_dir = main_json(["replay", str(copy), "--json"])
        code_t, from_tiled = main_json(["replay", "--tiled", uri, "--campaign-id", campaign_id, "--json"])
    finally:
        os.environ.pop("TILED_API_KEY", None)
    assert code == code_t == 0
    assert from_tiled == from_dir
    assert from_tiled["campaign"]["budget"] == 4 and len(from_tiled["experiments"]) == 4
    assert from_tiled["divergences"] == []
