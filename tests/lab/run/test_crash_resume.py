"""Nothing lost, nothing counted twice: SIGKILL at random moments (also mid-write), then resume."""

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from event_model import DocumentNames, schema_validators

from lab.store.records import completed, experiments_from_documents
from lab.store.storage import read_documents

ROOT = Path(__file__).resolve().parents[3]
BUDGET = 3
SEED = 5
TRIALS = 20  # the full crash campaign (marked slow); the default suite runs QUICK_TRIALS of them
QUICK_TRIALS = 4
DOCS_PER_EXPERIMENT = 6  # start, 2 descriptors, 2 events, stop


TORN_WRITE = ROOT / "tests/fixtures/torn_write.py"  # qdlab, killed half-way through writing its Nth line


def qdlab(*args, env=None, torn_at=None, **kw):
    run = ["-m", "lab.cli"] if torn_at is None else [str(TORN_WRITE), str(torn_at)]
    return subprocess.Popen(
        [sys.executable, *run, *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kw,
    )


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """cdse-green with the Sobol strategy: the crash path is the same, proposals are cheap."""
    path = tmp_path_factory.mktemp("campaign") / "sobol.toml"
    text = (ROOT / "campaigns/examples/cdse-green.toml").read_text()
    path.write_text(text.replace('strategy = "botorch"', 'strategy = "sobol"'))
    return path


def rows(directory):
    records = completed(experiments_from_documents(read_documents(directory / "documents.jsonl")))
    return [(r.index, r.parameters, r.outcomes) for r in records]


@pytest.fixture(scope="module")
def reference(campaign, tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "run"
    proc = qdlab("run", campaign, "--sim", "--out", out, "--budget", BUDGET, "--seed", SEED)
    assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    return rows(out)


def one_trial(campaign, base: Path, trial: int) -> dict:
    rng = random.Random(trial)
    out = base / f"trial{trial}"
    env = dict(os.environ)
    how = "torn-write" if trial % 2 else "sigkill"
    if how == "torn-write":
        torn_at = rng.randint(1, BUDGET * DOCS_PER_EXPERIMENT)
        proc = qdlab(
            "run",
            campaign,
            "--sim",
            "--out",
            out,
            "--budget",
            BUDGET,
            "--seed",
            SEED,
            env=env,
            torn_at=torn_at,
        )
        proc.wait(timeout=120)
    else:
        proc = qdlab("run", campaign, "--sim", "--out", out, "--budget", BUDGET, "--seed", SEED, env=env)
        log = out / "documents.jsonl"
        deadline = time.monotonic() + 60
        while not log.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))  # somewhere inside the campaign's experiments
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    before = rows(out) if (out / "documents.jsonl").exists() else []
    resumed = (
        qdlab("resume", out)
        if (out / "documents.jsonl").exists()
        else qdlab("run", campaign, "--sim", "--out", out, "--budget", BUDGET, "--seed", SEED)
    )
    code = resumed.wait(timeout=180)
    return {
        "trial": trial,
        "how": how,
        "killed_rc": proc.returncode,
        "before": before,
        "out": out,
        "resume_rc": code,
        "resume_err": resumed.stderr.read().decode(),
    }


@pytest.mark.parametrize("trials", [pytest.param(TRIALS, marks=pytest.mark.slow), QUICK_TRIALS])
def test_sigkill_at_random_moments_then_resume(campaign, reference, tmp_path, trials):
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda t: one_trial(campaign, tmp_path, t), range(trials)))
    killed = [r for r in results if r["killed_rc"] == -signal.SIGKILL]
    assert len(killed) >= trials * 3 // 4, [(r["trial"], r["killed_rc"]) for r in results]
    assert any(r["how"] == "torn-write" and r["killed_rc"] == -signal.SIGKILL for r in results)
    for r in results:
        assert r["resume_rc"] == 0, (r["trial"], r["resume_err"])
        # what completed before the kill is exactly what an uninterrupted run completed
        assert r["before"] == reference[: len(r["before"])], r["trial"]
        after = rows(r["out"])
        assert [i for i, _, _ in after] == list(range(BUDGET)), r["trial"]
        docs = list(read_documents(r["out"] / "documents.jsonl"))
        for name, doc in docs:
            schema_validators[DocumentNames[name]].validate(doc)
        successes = [d for n, d in docs if n == "stop" and d["exit_status"] == "success"]
        assert len(successes) == BUDGET, r["trial"]  # nothing counted twice


def test_resume_refuses_a_changed_campaign_file(campaign, reference, tmp_path):
    out = tmp_path / "changed"
    proc = qdlab("run", campaign, "--sim", "--out", out, "--budget", 1, "--seed", SEED)
    assert proc.wait(timeout=120) == 0
    text = (out / "campaign.toml").read_text()
    (out / "campaign.toml").write_text(text.replace("budget = 1", "budget = 2"))
    resumed = qdlab("resume", out)
    assert resumed.wait(timeout=60) == 2
    err = resumed.stderr.read().decode().strip()
    assert "campaign.toml" in err and "changed since the campaign began" in err
    assert len(err.splitlines()) == 1


def test_sigterm_closes_the_run_as_aborted_makes_safe_and_is_resumable(campaign, tmp_path):
    out = tmp_path / "term"
    proc = qdlab("run", campaign, "--sim", "--out", out, "--budget", 40, "--seed", SEED)
    log = out / "documents.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (log.exists() and b'"start"' in log.read_bytes()):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 143
    err = proc.stderr.read().decode()
    assert "SIGTERM" in err and "qdlab resume" in err and "read back stopped" in err
    stops = [d for n, d in read_documents(log) if n == "stop"]
    assert stops and stops[-1]["exit_status"] == "abort"
    assert completed(experiments_from_documents(read_documents(log))) == []
    text = (out / "campaign.toml").read_text()
    assert "budget = 40" in text


def test_the_injected_torn_writer_kills_qdlab_half_way_through_a_line(campaign, tmp_path):
    """The crash tests' torn write lives in tests/fixtures, not in lab.store.storage: it still tears."""
    out = tmp_path / "torn"
    proc = qdlab("run", campaign, "--sim", "--out", out, "--budget", BUDGET, "--seed", SEED, torn_at=4)
    assert proc.wait(timeout=120) == -signal.SIGKILL
    text = (out / "documents.jsonl").read_bytes()
    assert text.count(b"\n") == 3 and not text.endswith(b"\n")  # three whole lines, then half of one
