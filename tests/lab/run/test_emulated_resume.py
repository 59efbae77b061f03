"""A stopped campaign on the emulated rig (real drivers, NE-1000 and Modbus emulators on pseudo-terminals)
resumes end to end: the lab.toml it wrote as run loads again, syringe diameters with their unit."""

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from event_model import DocumentNames, schema_validators

from lab.store.records import completed, experiments_from_documents
from lab.tools.replay import replay
from lab.store.storage import LOG_NAME, read_documents

ROOT = Path(__file__).resolve().parents[3]
QDLAB = [sys.executable, "-m", "lab.cli"]


def _lab(tmp_path: Path) -> Path:
    text = (ROOT / "lab/examples/emulated.toml").read_text()
    for link in ("ne1000", "tc"):
        text = text.replace(f"/tmp/qdlab-{link}", str(tmp_path / link))
    path = tmp_path / "emulated.toml"
    path.write_text(text)
    return path


def _qdlab(*args, timeout=300):
    return subprocess.run(
        [*QDLAB, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def _done(out: Path) -> list[int]:
    return [r.index for r in completed(experiments_from_documents(read_documents(out / LOG_NAME)))]


def _check_resumed(out: Path, budget: int, files: dict[str, bytes]) -> None:
    assert _done(out) == list(range(budget))
    assert {n: (out / n).read_bytes() for n in files} == files  # resume rewrites neither file
    for name, doc in read_documents(out / LOG_NAME):
        schema_validators[DocumentNames[name]].validate(doc)
    result = replay(out)
    assert result["divergences"] == [] and result["campaign"]["budget"] == budget


def test_an_emulated_campaign_stopped_at_its_budget_resumes_with_a_larger_one(tmp_path, fast_campaign_file):
    campaign = fast_campaign_file  # cdse-green with Sobol proposals
    out = tmp_path / "run"
    first = _qdlab("run", campaign, "--lab", _lab(tmp_path), "--budget", 2, "--out", out)
    assert first.returncode == 0, first.stderr[-2000:]
    written = tomllib.loads((out / "lab.toml").read_text())
    assert written["pumps"]["cd"]["syringe_diameter"] == "14.57 mm"
    assert written["pumps"]["solvent"]["syringe_diameter"] == "26.7 mm"
    files = {n: (out / n).read_bytes() for n in ("campaign.toml", "lab.toml")}

    resumed = _qdlab("resume", out, "--budget", 4, "--json")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout)["experiments"] == 4
    assert "budget: 2 -> 4 experiments" in resumed.stderr
    _check_resumed(out, 4, files)
    assert not (tmp_path / "ne1000").exists() and not (tmp_path / "tc").exists()  # links cleaned up


@pytest.mark.slow
def test_an_emulated_campaign_killed_mid_experiment_resumes(tmp_path, fast_campaign_file):
    """kill -9 (a power cut: the emulators die with the run) once experiment 0 is logged, then resume."""
    campaign = fast_campaign_file
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [*QDLAB, "run", str(campaign), "--lab", str(_lab(tmp_path)), "--budget", "3", "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = out / LOG_NAME
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and log.read_bytes().count(b'"name":"start"') >= 2:  # experiment 1 under way
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _done(out) == [0]
    files = {n: (out / n).read_bytes() for n in ("campaign.toml", "lab.toml")}
    resumed = _qdlab("resume", out)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    _check_resumed(out, 3, files)
