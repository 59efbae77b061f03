"""Issue 12's day on the example rig, end to end: the example campaign with its full budget on the
emulated rig (real NE-1000 and Modbus drivers over their emulators, 4 mL syringes of cd and se) is stopped by ONE
Ctrl-C, resumed from its directory, and completes its budget, refilling syringes when asked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.store.records import completed, experiments_from_documents
from lab.store.storage import read_documents
from tests.lab.run.test_refill import _campaign, _emulated_lab, _Refiller, _refill_events

ROOT = Path(__file__).resolve().parents[3]
BUDGET = 30


def _qdlab(*args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lab.cli", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _done(out: Path) -> int:
    return len(completed(experiments_from_documents(read_documents(out / "documents.jsonl"))))


@pytest.mark.slow
def test_full_emulated_campaign_stops_on_one_ctrl_c_resumes_and_completes_with_refills(tmp_path):
    lab = _emulated_lab(tmp_path, {"cd": "4 mL", "se": "4 mL"})  # a refill in each half
    campaign = _campaign(tmp_path, budget=BUDGET)
    out = tmp_path / "run"
    with _Refiller(out, subprocess_=True) as refiller:
        proc = _qdlab("run", campaign, "--lab", lab, "--out", out)
        deadline = time.monotonic() + 600
        while proc.poll() is None and time.monotonic() < deadline:
            if (out / "documents.jsonl").exists() and _done(out) >= 5:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        proc.send_signal(signal.SIGINT)  # exactly one
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, err[-3000:]
        stopped_at = _done(out)
        assert 5 <= stopped_at < BUDGET
        assert f"continue with: qdlab resume {out}" in err
        resumed = _qdlab("resume", out)
        _, err = resumed.communicate(timeout=1200)
        assert resumed.returncode == 0, err[-3000:]
    assert _done(out) == BUDGET
    starts = [
        d for n, d in read_documents(out / "documents.jsonl") if n == "start" and "experiment_index" in d
    ]
    assert sorted({d["experiment_index"] for d in starts}) == list(range(BUDGET))
    # ~10 mL of cd and of se over 30 experiments: 4 mL syringes are refilled before and after the stop
    assert len(_refill_events(out)) >= 2 and set(refiller.codes) == {0}
