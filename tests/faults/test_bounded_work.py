"""Bounded work (issue 15, item 8): a NaN or infinite outcome is a named failure of its experiment, never
a hang; a non-finite set point is refused before anything moves; pre-flight checks a number of corners
linear in the parameter count; every config limit that bounds memory or time is enforced with one line."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from bluesky import RunEngine

import campaigns.plans as plans
from campaigns.conditions import Setpoints, to_setpoints
from campaigns.plans import NON_FINITE_OUTCOME, calibrate, closed_loop, experiment
from campaigns.preflight import ALL_CORNERS_MAX_DIMS, CORNER_SAMPLE, corner_points
from campaigns.spec import MAX_PARAMETERS, ProtocolSpec
from devices import Heater, HeaterLimits, PumpLimits, SyringePump
from devices.signals import SoftValue
from lab.cli import main
from lab.config.files import EXAMPLES, load_lab
from lab.run.rig_builder import build_rig
from models.errors import SafetyError
from models.validation import MAX_FILE_BYTES, MAX_NESTING

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "campaigns" / "examples" / "cdse-green.toml"
LAB = load_lab(EXAMPLES["lab"] / "sim-cdse.toml")
STOCKS = {p.reagent: p.stock for p in LAB.pumps.values()}
POINT = {"temperature": 270.0, "residence_time": 60.0, "conc_cd": 3.0, "ratio_se_cd": 1.0}
NAN, INF = float("nan"), float("inf")


def _run_bounded(plan_factory, rig):
    """Run a plan on a RunEngine in a thread; a hang (ophyd's set(nan) never completes) fails the test
    instead of blocking the suite. The bound is for a hang, not a speed: a sim experiment takes seconds."""
    run_engine = RunEngine({}, context_managers=[])
    docs, errors = [], []
    run_engine.subscribe(lambda name, doc: docs.append((name, doc)))

    def go():
        try:
            run_engine(plan_factory())
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(timeout=600)
    assert not thread.is_alive(), "the plan hangs"
    return docs, errors


@pytest.fixture
def rig():
    built = build_rig(LAB, material="CdSe", seed=3)
    built.rig.connect()
    RunEngine({}, context_managers=[])(calibrate(built.rig, ProtocolSpec(), flush_flow_ul_min=125.0))
    return built.rig


# -- non-finite outcomes and set points -----------------------------------------------------------


@pytest.mark.parametrize("bad", [NAN, INF, -INF], ids=["nan", "inf", "-inf"])
def test_a_non_finite_outcome_from_the_measurement_is_a_named_failure_not_a_hang(rig, monkeypatch, bad):
    measured = plans.figures_of_merit

    def glitch(*args, **kwargs):  # the spectrum analysis returning a non-finite figure
        return {**measured(*args, **kwargs), "plqy": bad}

    monkeypatch.setattr(plans, "figures_of_merit", glitch)
    setpoints = to_setpoints(POINT, kind="chemical", reactor_volume_ul=LAB.reactor.volume, stocks_mM=STOCKS)
    result = {}

    def plan():
        result.update(
            (
                yield from experiment(
                    rig, setpoints, ProtocolSpec(), material="CdSe", objective=lambda o: o.get("plqy")
                )
            )
        )

    docs, errors = _run_bounded(plan, rig)
    assert not errors, errors
    assert result["failure"] == NON_FINITE_OUTCOME and result["plqy"] is None and result["objective"] is None
    (stop,) = [d for n, d in docs if n == "stop"]
    assert stop["exit_status"] == "success"  # a failed experiment is data, the run closes normally
    outcomes = [d["data"] for n, d in docs if n == "event" and "outcomes_failure" in d["data"]]
    assert outcomes[-1]["outcomes_failure"] == NON_FINITE_OUTCOME


def test_an_infinite_objective_value_is_the_same_named_failure(rig):
    setpoints = to_setpoints(POINT, kind="chemical", reactor_volume_ul=LAB.reactor.volume, stocks_mM=STOCKS)
    result = {}

    def plan():
        result.update(
            (yield from experiment(rig, setpoints, ProtocolSpec(), material="CdSe", objective=lambda o: INF))
        )

    _, errors = _run_bounded(plan, rig)
    assert not errors, errors
    assert result["failure"] == NON_FINITE_OUTCOME and result["objective"] is None


def test_a_non_finite_set_point_stops_the_loop_before_any_device_moves(rig):
    sent = []
    good = to_setpoints(POINT, kind="chemical", reactor_volume_ul=LAB.reactor.volume, stocks_mM=STOCKS)
    bad = Setpoints(NAN, dict(good.flows_ul_min), good.residence_time_s, dict(good.concentrations_mM))

    def plan():
        yield from closed_loop(
            rig,
            propose=lambda i: (POINT, bad, {"experiment_index": i}),
            learn=lambda *a: None,
            indices=range(1),
            protocol=ProtocolSpec(),
            material="CdSe",
        )

    run_engine = RunEngine({}, context_managers=[])
    run_engine.msg_hook = lambda msg: sent.append(msg.command)
    with pytest.raises(
        SafetyError, match=r"experiment 0: the proposed set points are not finite.*temperature_c=nan"
    ):
        run_engine(plan())
    assert "set" not in sent and "open_run" not in sent


@pytest.mark.parametrize("value", [NAN, INF])
def test_the_device_layer_refuses_non_finite_values_at_once(value):
    outcome = SoftValue(name="outcomes_plqy")
    with pytest.raises(SafetyError, match="outcomes_plqy: .* is not a finite number"):
        outcome.set(value)  # ophyd's own set would return a status that never completes
    pump = SyringePump(None, PumpLimits(0.5, 500.0, 10_000.0), reagent="cd", name="pump_cd")
    with pytest.raises(SafetyError, match="pump_cd: flow rate .* is not a finite number"):
        pump.set(value)
    heater = Heater(None, HeaterLimits(20.0, 330.0, 25.0), name="heater")
    with pytest.raises(SafetyError, match="heater: set point .* is not a finite number"):
        heater.set(value)


# -- pre-flight corners ---------------------------------------------------------------------------

_COUNT_SCRIPT = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a blow-up fails here, not on the host
import campaigns.preflight as pf
from campaigns.spec import CampaignSpec, ParameterSpec, ProtocolSpec, SearchSpec
from devices import HeaterLimits, PumpLimits

counts = {}
for n in map(int, sys.argv[1:]):
    params = [ParameterSpec(name=f"flow_r{i}", low=1.0, high=2.0) for i in range(n)]
    # built without validation: the schema caps a campaign's parameters; the function must not care
    spec = CampaignSpec.model_construct(name="wide", material="CdSe", budget=1, search=SearchSpec.model_construct(
        kind="flows", parameters=params, fixed={"temperature": 250.0}), protocol=ProtocolSpec())
    seen = [0]
    convert = pf.to_setpoints

    def counting(*args, **kwargs):
        seen[0] += 1
        return convert(*args, **kwargs)

    pf.to_setpoints = counting
    reagents = [f"r{i}" for i in range(n)]
    pf.preflight(spec, reactor_volume_ul=250.0, stocks_mM=dict.fromkeys(reagents, 10.0),
                 pump_limits=dict.fromkeys(reagents, PumpLimits(0.5, 1000.0, 1e9)),
                 heater_limits=HeaterLimits(20.0, 330.0, 25.0), source="wide.toml")
    pf.to_setpoints = convert
    counts[n] = seen[0]
print(json.dumps(counts))
"""


def test_preflight_checks_a_number_of_corners_linear_in_the_parameters():
    """21 parameters took 1.2 GB (all 2^21 corners built, then 1,024 kept) and 1,000 could not run at all;
    the points evaluated are now 2 + 2N + CORNER_SAMPLE corners plus the 256 Sobol points."""
    proc = subprocess.run(
        [sys.executable, "-c", _COUNT_SCRIPT, "3", "21", "1000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    counts = {int(k): v for k, v in json.loads(proc.stdout).items()}
    assert counts[3] == 2**3 + 256  # few parameters: every corner
    for n in (21, 1000):
        assert counts[n] == 2 + 2 * n + CORNER_SAMPLE + 256, counts


def test_corner_sample_is_deterministic_and_covers_each_axis_extreme():
    n = ALL_CORNERS_MAX_DIMS + 11
    first, again = corner_points(n), corner_points(n)
    assert (first == again).all() and first.shape == (2 + 2 * n + CORNER_SAMPLE, n)
    assert set(first.ravel()) == {0.0, 1.0}
    rows = {tuple(r) for r in first}
    for i in range(n):  # only parameter i high, and only parameter i low
        assert tuple(1.0 if j == i else 0.0 for j in range(n)) in rows
        assert tuple(0.0 if j == i else 1.0 for j in range(n)) in rows
    assert corner_points(ALL_CORNERS_MAX_DIMS).shape == (2**ALL_CORNERS_MAX_DIMS, ALL_CORNERS_MAX_DIMS)


# -- config limits: one line, exit 2 ----------------------------------------------------------------


def _run_cli(capsys, *args):
    code = main(list(map(str, args)))
    err = capsys.readouterr().err.strip()
    return code, err


def _variant(tmp_path, old, new):
    text = EXAMPLE.read_text()
    assert old in text
    path = tmp_path / "c.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def _many_parameters(n):
    return "\n".join(
        f'[[search.parameters]]\nname = "conc_r{i}"\nlow = "1 mM"\nhigh = "2 mM"\n' for i in range(n)
    )


LIMIT_CASES = {
    "budget": ("budget = 30", "budget = 10001", ["budget", "less than or equal to 10000"]),
    "long string": (
        'strategy = "botorch"',
        f'strategy = "{"x" * 1001}"',
        ["strategy", "at most 1000 characters"],
    ),
    "long description": (
        'description = "',
        f'description = "{"d" * 20_001}',
        ["description", "at most 20000"],
    ),
    "tiny poll interval": ('poll_interval = "5 s"', 'poll_interval = "1 us"', ["poll_interval", "0.1"]),
    "endless heater timeout": (
        'heater_hold = "30 s"',
        'heater_hold = "30 s"\nheater_timeout = "2 d"',
        ["heater_timeout", "86400"],
    ),
    "deep nesting": (
        "seed = 1",
        "seed = 1\nstrategy_options = { deep = " + "[" * 20 + "]" * 20 + " }",
        [f"nest deeper than {MAX_NESTING}"],
    ),
    "nesting tomllib cannot read": (
        "seed = 1",
        "seed = 1\nx = " + "[" * 5000 + "]" * 5000,
        ["nest too deeply"],
    ),
    "file too large": (
        "seed = 1",
        "seed = 1\n" + "# padding\n" * (MAX_FILE_BYTES // 10 + 1),
        ["larger than 1024 KiB"],
    ),
}


@pytest.mark.parametrize("case", sorted(LIMIT_CASES))
def test_a_limit_that_bounds_memory_or_time_is_one_line_exit_2(tmp_path, capsys, case):
    old, new, expected = LIMIT_CASES[case]
    path = _variant(tmp_path, old, new)
    code, err = _run_cli(capsys, "run", path, "--sim", "--out", tmp_path / "out")
    assert code == 2, err[-2000:]
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err[-2000:]
    assert str(path) in err
    for fragment in expected:
        assert fragment in err, err
    assert not (tmp_path / "out").exists()


def test_too_many_parameters_is_one_line_exit_2(tmp_path):
    """In a child process with its address space capped: without the limit, pre-flight tried 2^65 corners."""
    import resource

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    path = _variant(tmp_path, "[objective]", _many_parameters(MAX_PARAMETERS) + "\n[objective]")
    proc = subprocess.run(
        [sys.executable, "-m", "lab.cli", "run", str(path), "--sim", "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=cap,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"},
    )
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1, err[-2000:]
    assert "search.parameters" in err and f"at most {MAX_PARAMETERS}" in err, err


def test_a_lab_with_too_many_pumps_is_one_line_exit_2(tmp_path, capsys):
    text = (EXAMPLES["lab"] / "sim-cdse.toml").read_text()
    extra = "".join(
        f'\n[pumps.p{i}]\ntype = "sim"\nreagent = "x{i}"\nsyringe_volume = "1 mL"\n'
        f'min_rate = "1 uL/min"\nmax_rate = "2 uL/min"\n'
        for i in range(64)
    )
    lab = tmp_path / "lab.toml"
    lab.write_text(text + extra)
    code, err = _run_cli(capsys, "run", EXAMPLE, "--lab", lab, "--out", tmp_path / "out")
    assert code == 2 and len(err.splitlines()) == 1, err[-2000:]
    assert "pumps" in err and "at most 64" in err
