"""qdlab bench: reactor hours, precursor and solvent to target, measurement error, and --loops."""

import json
import math
import sys
from pathlib import Path

import pytest

import lab.bench.campaign as bench
from lab.cli import main

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "campaigns" / "examples" / "cdse-green.toml"
TOY = ROOT / "tests" / "fixtures" / "toy_reactor.py"
sys.path.insert(0, str(TOY.parent))
BUDGET = 4
ON_TARGET = {"pl_peak_nm": 525.0, "pl_fwhm_nm": 30.0, "plqy": 0.5}


@pytest.fixture(scope="module")
def setup():
    from lab.cli.app import sim_lab_path
    from lab.config.files import campaign_to_data, lab_to_data, load_campaign, load_lab

    spec = load_campaign(EXAMPLE)
    lab = load_lab(sim_lab_path(spec.material))
    spec_data = json.loads(json.dumps(campaign_to_data(spec)))
    lab_data = json.loads(json.dumps(lab_to_data(lab)))
    return spec, lab, spec_data, lab_data


@pytest.fixture(scope="module")
def simulated(setup):
    """One real simulated cdse-green campaign (sobol, 4 experiments): its rows and world, reused below
    with the truth replaced, so each test knows what the true outcomes are."""
    from campaigns.spec import CampaignSpec
    from models.optimizers.base import derive_seed

    spec, lab, spec_data, _ = setup
    seed = derive_seed(int(spec_data.get("seed", 0)), 0)
    run_spec = CampaignSpec.model_validate({**spec_data, "strategy": "sobol", "seed": seed, "budget": BUDGET})
    return bench._sim_campaign(run_spec, lab)


def _task(setup, simulated, monkeypatch, truth, loop="campaign"):
    _, _, spec_data, lab_data = setup
    monkeypatch.setattr(bench, "_sim_campaign", lambda *a, **k: simulated)
    monkeypatch.setattr(bench, "_true_outcomes", lambda *a, **k: truth)
    return bench.bench_task(spec_data, lab_data, "sobol", 0, BUDGET, loop=loop)


def test_calibration_taken_off_is_what_the_simulated_rig_spends_calibrating(setup):
    from bluesky import RunEngine

    from campaigns.plans import calibrate
    from lab.run.rig_builder import build_rig

    spec, lab, _, _ = setup
    flush_flow = 125.0
    built = build_rig(lab, material="CdSe", seed=3)
    try:
        rig = built.rig
        rig.connect()
        RunEngine({}, context_managers=[])(calibrate(rig, spec.protocol, flush_flow_ul_min=flush_flow))
        solvent = rig.pumps["solvent"]
        calibration = bench.calibration_spent(spec, lab, flush_flow)
        assert calibration["reactor_s"] == pytest.approx(rig.timer.clock.now())
        assert calibration["solvent_ul"] == pytest.approx(solvent.dispensed.get(), rel=1e-6)
        assert calibration["reactor_s"] > 0
    finally:
        built.close()


def test_hours_and_precursor_run_from_the_first_set_point_to_the_experiment_on_target(
    setup, simulated, monkeypatch
):
    rows, _ = simulated
    truth = [dict(r["measured"]) for r in rows]
    truth[2].update(ON_TARGET)  # the third experiment is the first on target
    result = _task(setup, simulated, monkeypatch, truth)
    assert result["experiments_to_target"] == 3
    hours = result["reactor_hours_trace"]
    assert len(hours) == BUDGET and all(b > a >= 0 for a, b in zip([0.0, *hours], hours))
    assert (
        result["reactor_hours_to_target"] == pytest.approx(hours[2]) and result["reactor_hours"] == hours[-1]
    )
    assert 0 < result["precursor_ml_to_target"] < result["precursor_ml"]
    assert 0 < result["solvent_ml_to_target"] < result["solvent_ml"]
    # every experiment waits at least its residence times at its own flows: a floor on what was spent
    spec = setup[0]
    floor_h = sum(r["setpoints"]["residence_time_s"] * spec.protocol.residence_times for r in rows) / 3600
    assert result["reactor_hours"] > floor_h
    floor_ml = sum(
        sum(q for reagent, q in r["setpoints"]["flows_ul_min"].items() if reagent != "solvent")
        * r["setpoints"]["residence_time_s"]
        * spec.protocol.residence_times
        / 60.0
        / 1000.0
        for r in rows
    )
    assert result["precursor_ml"] > floor_ml


def test_unreached_target_leaves_the_to_target_figures_null(setup, simulated, monkeypatch):
    rows, _ = simulated
    truth = [{**r["measured"], "plqy": 0.01} for r in rows]
    result = _task(setup, simulated, monkeypatch, truth)
    assert result["experiments_to_target"] is None
    assert result["reactor_hours_to_target"] is None and result["precursor_ml_to_target"] is None
    assert result["reactor_hours"] > 0 and result["precursor_ml"] > 0


def test_measurement_error_is_against_the_truth_at_the_set_points(setup, simulated, monkeypatch):
    rows, _ = simulated
    truth = []
    for k, r in enumerate(rows):
        m = r["measured"]
        truth.append(
            {
                **m,
                "pl_peak_nm": m["pl_peak_nm"] - 1.5,
                "pl_fwhm_nm": m["pl_fwhm_nm"] + k,  # offsets 0, 1, 2, 3
                "plqy": None if k == 0 else m["plqy"] + 0.02,
            }
        )
    error = _task(setup, simulated, monkeypatch, truth)["measurement_error"]
    assert set(error) == {"pl_peak_nm", "pl_fwhm_nm", "plqy"}  # what the objective uses
    assert error["pl_peak_nm"]["median"] == pytest.approx(1.5) and error["pl_peak_nm"][
        "p95"
    ] == pytest.approx(1.5)
    assert error["pl_fwhm_nm"]["median"] == pytest.approx(1.5)
    assert error["pl_fwhm_nm"]["p95"] == pytest.approx(2.85)  # between 2 and 3, by linear interpolation
    assert error["plqy"]["median"] == pytest.approx(0.02)  # experiment 0 has no true plqy: left out


def test_summarise_counts_an_unreached_repeat_as_its_whole_campaign_and_flags_it():
    def run(repeat, ett, to_target, whole, error):
        return {
            "strategy": "sobol",
            "loop": "current",
            "repeat": repeat,
            "experiments_to_target": ett,
            "best_true": 1.0,
            "proposal_latency_s": [0.1],
            "failures": 0,
            "wall_s": 1.0,
            "reactor_hours_to_target": to_target,
            "precursor_ml_to_target": None if to_target is None else 2 * to_target,
            "solvent_ml_to_target": None if to_target is None else 3 * to_target,
            "reactor_hours": whole,
            "precursor_ml": 2 * whole,
            "solvent_ml": 3 * whole,
            "measurement_error": {"plqy": {"median": error, "p95": 2 * error}},
        }

    results = [run(0, 3, 1.0, 5.0, 0.01), run(1, None, None, 9.0, 0.03), run(2, 2, 0.5, 4.0, 0.02)]
    s = bench.summarise(results, budget=10)["sobol/current"]
    assert s["reached"] == 2 and s["reached_per_repeat"] == [True, False, True]
    assert s["reactor_hours_to_target"] == [1.0, None, 0.5]
    assert s["median_reactor_hours_to_target"] == 1.0  # of 1.0, 9.0 (unreached: whole campaign), 0.5
    assert s["median_precursor_ml_to_target"] == 2.0 and s["median_solvent_ml_to_target"] == 3.0
    assert s["median_reactor_hours"] == 5.0 and s["median_precursor_ml"] == 10.0
    assert s["median_experiments_to_target"] == 3
    assert s["median_measurement_error"]["plqy"] == {"median": 0.02, "p95": 0.04}
    # the unreached one decides the median when most are unreached
    results = [run(0, None, None, 7.0, 0.01), run(1, None, None, 9.0, 0.01), run(2, 2, 0.5, 4.0, 0.01)]
    assert bench.summarise(results, budget=10)["sobol/current"]["median_reactor_hours_to_target"] == 7.0


def test_each_loop_overrides_the_campaigns_protocol(setup, simulated, monkeypatch):
    seen = []
    monkeypatch.setattr(bench, "_sim_campaign", lambda spec, lab, *a: seen.append(spec.protocol) or simulated)
    monkeypatch.setattr(bench, "_true_outcomes", lambda *a, **k: [r["measured"] for r in simulated[0]])
    _, _, spec_data, lab_data = setup
    for loop in ("campaign", "current", "time-aware", "time-aware+overlap"):
        result = bench.bench_task(spec_data, lab_data, "sobol", 0, BUDGET, loop=loop)
        assert result["loop"] == loop and bench.run_key(result) == (
            "sobol" if loop == "campaign" else f"sobol/{loop}"
        )
    own, current, aware, overlapping = seen
    assert (own.steady_state, own.overlap, own.cost_aware) == ("fixed", False, False)  # cdse-green's own
    assert (current.steady_state, current.overlap, current.cost_aware) == ("fixed", False, False)
    assert (aware.steady_state, aware.overlap, aware.cost_aware) == ("detect", False, True)
    assert (overlapping.steady_state, overlapping.overlap, overlapping.cost_aware) == ("detect", True, True)
    assert own.residence_times == aware.residence_times == setup[0].protocol.residence_times
    with pytest.raises(ValueError, match="unknown loop fast"):
        bench.loop_overrides(["current", "fast"])


def test_bench_loops_side_by_side_in_json_markdown_and_plot(tmp_path, capsys):
    out = tmp_path / "time.json"
    code = main(
        [
            "bench",
            "--campaign",
            str(EXAMPLE),
            "--strategies",
            "sobol",
            "--loops",
            "current,time-aware",
            "--repeats",
            "1",
            "--budget",
            "3",
            "--reactor-model",
            f"{TOY}:green",
            "--latency-observations",
            "0",
            "--json",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    shown = capsys.readouterr()
    result = json.loads(shown.out)
    assert list(result["strategies"]) == ["sobol/current", "sobol/time-aware"]
    assert result["loops"]["time-aware"] == {"steady_state": "detect", "overlap": False, "cost_aware": True}
    for s in result["strategies"].values():
        assert s["median_reactor_hours"] > 0 and math.isfinite(s["median_reactor_hours_to_target"])
        assert s["median_precursor_ml_to_target"] <= s["median_precursor_ml"]
    md = out.with_suffix(".md").read_text()
    assert "| reactor h to target |" in md and "| sobol/time-aware |" in md and "| sobol/current |" in md
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from rich.console import Console

    from lab.cli.bench import _bench_table

    wide = Console(width=200, record=True)
    wide.print(_bench_table(result, "cdse-green", 1, 3, 0))
    table = wide.export_text()
    assert "reactor h to target" in table and "precursor mL to target" in table
    assert "sobol/current" in table and "sobol/time-aware" in table


def test_bench_refuses_an_unknown_loop(capsys):
    assert main(["bench", "--campaign", str(EXAMPLE), "--loops", "current,warp"]) == 2
    assert "unknown loop warp" in capsys.readouterr().err


def test_hours_grid_takes_each_runs_incumbent_at_each_hour():
    from lab.bench.plot import hours_grid

    runs = [
        {"reactor_hours_trace": [1.0, 2.0], "best_true_trace": [1.0, 3.0]},
        {"reactor_hours_trace": [0.5, 4.0], "best_true_trace": [2.0, 2.0]},
    ]
    hours, median, lo, hi = hours_grid(runs, points=9)  # 0, 0.5, ..., 4
    assert list(hours) == pytest.approx([0.5 * k for k in range(9)])
    assert math.isnan(median[0])  # nothing measured yet
    assert math.isnan(median[1])  # one of two runs has measured: the median lies between it and "none"
    assert (
        median[2] == pytest.approx(1.5)
        and median[4] == pytest.approx(2.5)
        and median[8] == pytest.approx(2.5)
    )
    # an unmeasured run ranks below every value: three runs, two measured, the median is the lower value
    runs.append({"reactor_hours_trace": [3.0], "best_true_trace": [9.0]})
    _, median, lo, hi = hours_grid(runs, points=9)
    assert median[2] == pytest.approx(1.0) and math.isnan(lo[2]) and hi[2] == pytest.approx(2.0)
    assert median[6] == pytest.approx(3.0)  # 3, 2, 9 once all have measured
    assert all(b >= a for a, b in zip(median[2:], median[3:]))  # never falls
    assert hours_grid([{"reactor_hours_trace": None, "best_true_trace": []}]) is None
