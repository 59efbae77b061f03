"""Stopping an agent-driven campaign (SIGINT) aborts what the reactors run, makes them safe and leaves a
directory that ``qdlab agent --resume`` finishes; bad input is one line and exit status 2."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.cli import main
from lab.store.records import completed, experiments_from_documents
from lab.store.storage import LOG_NAME, read_documents
from tests.lab.conftest import main_json


def _runs(out: Path):
    path = out / LOG_NAME
    return experiments_from_documents(read_documents(path)) if path.exists() else []


def _sigint_once(args: list[str], ready, *, hang_s: float, why: str, after_s: float = 0.0) -> tuple[int, str]:
    """Start ``qdlab agent ARGS``, SIGINT it ``after_s`` after ``ready()`` holds (within ``hang_s``, a hang
    guard only), and return its exit status and stderr; it is killed if it outlives the test."""
    qdlab = Path(sys.executable).parent / "qdlab"
    agent = subprocess.Popen([str(qdlab), "agent", *args], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + hang_s
        while not ready():
            assert agent.poll() is None, agent.stderr.read() if agent.stderr else ""
            assert time.monotonic() < deadline, why
            time.sleep(0.05)
        time.sleep(after_s)
        os.kill(agent.pid, signal.SIGINT)
        code = agent.wait(timeout=120)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
    return code, agent.stderr.read() if agent.stderr else ""


def test_sigint_between_experiments_and_resume_finishes(start_queue, fast_campaign_file, tmp_path):
    queue = start_queue("c", seed=3)
    out = tmp_path / "stopped"
    code, stderr = _sigint_once(
        [str(fast_campaign_file), "--sim", "--queue", queue.address, "--out", str(out), "--budget", "4",
         "--seed", "3"],
        lambda: len(completed(_runs(out))) >= 1 and len(_runs(out)) >= 2,  # one done, the next one running
        hang_s=300, why="the agent's campaign did not get going",
    )  # fmt: skip
    assert code == 130, stderr
    assert "qdlab agent --resume" in stderr.splitlines()[-1]
    assert all(r.exit_status is not None for r in _runs(out))  # aborted or finished, none left open
    assert queue.api.status()["manager_state"] == "idle"

    code, summary = main_json(["agent", "--resume", str(out), "--queue", queue.address, "--json"])
    assert code == 0, queue.log_text()
    assert summary["experiments"] == 4
    code, replayed = main_json(["replay", str(out), "--json"])
    assert code == 0 and replayed["divergences"] == []
    assert [e["index"] for e in replayed["experiments"]] == sorted(
        e["index"] for e in replayed["experiments"]
    )


def test_sigint_aborts_what_a_reactor_runs_and_makes_it_safe(start_queue, fast_campaign_file, tmp_path):
    """At wall-clock speed (``qdlab serve --realtime``) the calibration flush takes minutes: a SIGINT aborts it
    on the server, the agent runs make_safe there and exits 130 with one line saying how to continue."""
    queue = start_queue("rt", seed=4, realtime=True)
    code, stderr = _sigint_once(
        [str(fast_campaign_file), "--sim", "--queue", queue.address, "--out", str(tmp_path / "rt"), "--budget",
         "2"],
        lambda: queue.api.status()["manager_state"] == "executing_queue",
        hang_s=120, why="the calibration never began", after_s=0.5,  # half a second into the flush
    )  # fmt: skip
    # aborted, not waited out: the flush (minutes at wall-clock speed) did not complete, make_safe did
    assert code == 130, stderr
    history = queue.api.history_get()["items"]
    assert [item["name"] for item in history[-2:]] == ["calibrate", "make_safe"], stderr
    assert history[-2]["result"]["exit_status"] != "completed"
    assert history[-1]["result"]["exit_status"] == "completed"
    assert queue.api.status()["manager_state"] == "idle"


@pytest.mark.parametrize(
    "args, says",
    [
        (["agent", "CAMPAIGN", "--sim"], "give at least one --queue"),
        (["agent", "CAMPAIGN", "--sim", "--queue", "a=tcp://127.0.0.1:1"], "is not NAME=tcp://"),
        (
            ["agent", "--queue", "a=tcp://127.0.0.1:1,tcp://127.0.0.1:2"],
            "give a campaign file or --resume DIR",
        ),
        (["serve"], "give exactly one of --sim MATERIAL or --lab"),
        (["serve", "--sim", "Unobtainium"], "no simulated lab for material 'Unobtainium'"),
        (["serve", "--lab", "CAMPAIGN"], "CAMPAIGN"),
    ],
    ids=["no-queue", "bad-queue", "no-campaign", "serve-no-lab", "serve-unknown-material", "serve-bad-lab"],
)
def test_bad_input_is_one_line_and_exit_2(args, says, fast_campaign_file, capsys):
    args = [str(fast_campaign_file) if a == "CAMPAIGN" else a for a in args]
    says = says.replace("CAMPAIGN", str(fast_campaign_file))  # a campaign file is no lab file: named
    assert main(args) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]


def test_an_unreachable_queue_is_refused_before_anything_is_written(
    redis, fast_campaign_file, tmp_path, capsys
):
    from tests.lab.queue.servers import free_port

    out = tmp_path / "nowhere"
    dead = f"x=tcp://127.0.0.1:{free_port()},tcp://127.0.0.1:{free_port()}"
    assert main(["agent", str(fast_campaign_file), "--sim", "--queue", dead, "--out", str(out)]) == 2
    assert "queue x" in capsys.readouterr().err and not out.exists()
