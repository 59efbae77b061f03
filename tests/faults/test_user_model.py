"""A user's ``--reactor-model`` that raises or returns garbage mid-campaign: a failed experiment, named in
the log, and the campaign goes on; one that fails on each of the first experiments stops in one line
(exit 1) rather than spend the budget. Never a traceback, never a hang (docs/reliability.md, "User reactor
models")."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lab.cli import main
from lab.store.records import experiments_from_documents
from lab.store.storage import LOG_NAME, read_documents
from tests.lab.conftest import write_fast_campaign

ROOT = Path(__file__).resolve().parents[2]

# A model whose answer depends on how many times it was called: GOOD, then what BAD says on call BAD_AT.
MODEL = """
import math

CALLS = {"n": 0}
GOOD = {"pl_peak_nm": 525.0, "pl_fwhm_nm": 30.0, "plqy": 0.5, "failure": None}


def predict(conditions):
    CALLS["n"] += 1
    if CALLS["n"] in BAD_AT:
        return bad()
    return dict(GOOD)


BAD_AT = {bad_at}


def bad():
{bad}
"""

BAD = {
    "raises": ("    raise RuntimeError('solver diverged')", "model_error: RuntimeError: solver diverged"),
    "not a dict": ("    return [525.0, 30.0]", "model_error: returned list, expected a dict of outcomes"),
    "undeclared key": (
        "    return {'pl_peak': 525.0}",
        "model_error: returned unknown outcome 'pl_peak' (did you mean 'pl_peak_nm'?)",
    ),
    "a string": (
        "    return {**GOOD, 'plqy': 'high'}",
        "model_error: returned plqy = 'high', expected a number or None",
    ),
    "nan": (
        "    return {**GOOD, 'plqy': float('nan')}",
        "model_error: returned plqy = nan, expected a finite number or None",
    ),
    "infinity": (
        "    return {**GOOD, 'pl_peak_nm': math.inf}",
        "model_error: returned pl_peak_nm = inf, expected a finite number or None",
    ),
}


def _model(tmp_path: Path, bad: str, bad_at) -> Path:
    path = tmp_path / "model.py"
    path.write_text(MODEL.replace("{bad_at}", repr(set(bad_at))).replace("{bad}", bad))
    return path


def _records(out: Path):
    return experiments_from_documents(read_documents(out / LOG_NAME))


def _run_args(tmp_path: Path, model: Path, out: Path, budget: int) -> list[str]:
    """``qdlab run`` of the example campaign (sobol) on the simulator, with ``model`` as the reactor model."""
    args = ["run", write_fast_campaign(tmp_path / "c.toml"), "--sim", "--out", out, "--budget", budget]
    return [str(a) for a in args] + ["--reactor-model", f"{model}:predict"]


def _cli(capsys, tmp_path: Path, model: Path, out: Path, budget: int):
    code = main(_run_args(tmp_path, model, out, budget))
    return code, capsys.readouterr().err


def _no_traceback(err: str) -> None:
    assert "Traceback" not in err, err[-3000:]


@pytest.mark.parametrize("kind", ["raises", "not a dict", "undeclared key", "a string"])
def test_a_model_error_is_one_failed_experiment_and_the_campaign_goes_on(tmp_path, capsys, kind):
    bad, failure = BAD[kind]
    model, out = _model(tmp_path, bad, {2}), tmp_path / "out"
    code, err = _cli(capsys, tmp_path, model, out, 3)
    assert code == 0, err[-3000:]
    _no_traceback(err)
    records = _records(out)
    assert [r.index for r in records] == [0, 1, 2] and all(r.exit_status == "success" for r in records)
    assert [r.outcomes["failure"] is None for r in records] == [True, False, True]
    assert records[1].outcomes["failure"].startswith(failure)
    assert records[1].outcomes["pl_peak_nm"] is None and records[1].outcomes["plqy"] is None
    assert records[2].outcomes["plqy"] == 0.5


@pytest.mark.parametrize("kind", ["nan", "infinity"])
def test_a_non_finite_outcome_is_a_failed_experiment_not_a_hang(tmp_path, kind):
    bad, failure = BAD[kind]
    model, out = _model(tmp_path, bad, {2}), tmp_path / "out"
    try:  # before the fix, setting an outcome to NaN never completed: a hang, cut short here
        proc = subprocess.run(
            [sys.executable, "-m", "lab.cli", *_run_args(tmp_path, model, out, 3)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=240,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the campaign hung on a non-finite outcome")
    assert proc.returncode == 0, proc.stderr[-3000:]
    _no_traceback(proc.stderr)
    records = _records(out)
    assert [r.outcomes["failure"] for r in records] == [None, failure, None]


def test_a_missing_outcome_is_none_not_the_previous_experiments(tmp_path, capsys):
    model, out = _model(tmp_path, "    return {'pl_peak_nm': 530.0}", {2}), tmp_path / "out"
    code, err = _cli(capsys, tmp_path, model, out, 2)
    assert code == 0, err[-3000:]
    second = _records(out)[1].outcomes
    assert (second["pl_peak_nm"], second["plqy"], second["failure"]) == (530.0, None, None)


def test_a_model_failing_on_each_of_the_first_experiments_stops_the_campaign(tmp_path, capsys):
    from lab.run.user_model import FAILURES_TO_STOP

    model, out = (
        _model(tmp_path, "    raise ZeroDivisionError('division by zero')", range(1, 100)),
        tmp_path / "out",
    )
    code, err = _cli(capsys, tmp_path, model, out, 8)
    assert code == 1
    _no_traceback(err)
    (line,) = [ln for ln in err.splitlines() if ln.startswith("qdlab:")]
    assert (
        f"the reactor model {model}:predict failed on each of the first {FAILURES_TO_STOP} experiments"
        in line
    )
    assert "(last: model_error: ZeroDivisionError: division by zero)" in line
    assert f"campaign stopped after {FAILURES_TO_STOP} of 8 experiments" in line
    assert "read back stopped, heater set point read back" in line and "(its safe set point)" in line
    records = _records(out)
    assert len(records) == FAILURES_TO_STOP  # not the whole budget
    assert all(
        r.exit_status == "success" and r.outcomes["failure"].startswith("model_error: ZeroDivisionError")
        for r in records
    )


def test_a_model_that_worked_once_fails_as_experiments_do(tmp_path, capsys):
    # out of its range, not broken: every later failure is data, the budget is run
    model, out = (
        _model(tmp_path, "    raise ValueError('outside the fitted range')", range(2, 100)),
        tmp_path / "out",
    )
    code, err = _cli(capsys, tmp_path, model, out, 5)
    assert code == 0, err[-3000:]
    _no_traceback(err)
    failures = [r.outcomes["failure"] for r in _records(out)]
    assert failures == [None] + ["model_error: ValueError: outside the fitted range"] * 4
