"""qdlab bench and --reactor-model: figures from real runs, in the documented shape."""

import json
import sys
from pathlib import Path

from lab.cli import main
from lab.tools.replay import replay

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "campaigns" / "examples" / "cdse-green.toml"
TOY = ROOT / "tests" / "fixtures" / "toy_reactor.py"
sys.path.insert(0, str(TOY.parent))
import toy_reactor  # noqa: E402


def test_run_with_a_user_reactor_model_logs_its_outcomes(tmp_path, capsys):
    out = tmp_path / "toy"
    assert (
        main(
            [
                "run",
                str(EXAMPLE),
                "--sim",
                "--reactor-model",
                f"{TOY}:green",
                "--out",
                str(out),
                "--budget",
                "3",
                "--seed",
                "2",
            ]
        )
        == 0
    )
    capsys.readouterr()
    result = replay(out)
    assert len(result["experiments"]) == 3 and result["divergences"] == []
    for e in result["experiments"]:
        start_setpoints = e["conditions"]
        expected = toy_reactor.green(
            {
                "temperature": start_setpoints["temperature"],
                "residence_time_s": start_setpoints["residence_time"],
            }
        )
        assert abs(e["outcomes"]["pl_peak_nm"] - expected["pl_peak_nm"]) < 1e-6
        assert abs(e["outcomes"]["plqy"] - expected["plqy"]) < 1e-9


def test_bad_reactor_model_reference_is_one_line(tmp_path, capsys):
    assert (
        main(["run", str(EXAMPLE), "--sim", "--reactor-model", f"{TOY}:nope", "--out", str(tmp_path / "x")])
        == 2
    )
    assert "has no function 'nope'" in capsys.readouterr().err


def test_bench_reports_per_strategy_figures(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(
        [
            "bench",
            "--campaign",
            str(EXAMPLE),
            "--strategies",
            "sobol,random",
            "--repeats",
            "2",
            "--budget",
            "4",
            "--reactor-model",
            f"{TOY}:green",
            "--json",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["strategies"]) == {"sobol", "random"}
    for s in result["strategies"].values():
        assert len(s["experiments_to_target"]) == 2
        assert all(e is None or 1 <= e <= 4 for e in s["experiments_to_target"])
        expected_median = sorted(5 if e is None else e for e in s["experiments_to_target"])
        assert s["median_experiments_to_target"] == sum(expected_median) / 2
        assert (
            s["proposal_latency_s"]["p50"] is not None
            and s["proposal_latency_s"]["p95"] >= s["proposal_latency_s"]["p50"]
        )
        assert len(s["best_true"]) == 2
    assert out.is_file() and out.with_suffix(".png").is_file()


def test_bench_refuses_unknown_strategy(capsys):
    assert main(["bench", "--campaign", str(EXAMPLE), "--strategies", "magic"]) == 2
    assert "unknown strategy magic" in capsys.readouterr().err


def test_first_repeat_continues_the_same_sequence_of_worlds(tmp_path, capsys):
    common = [
        "bench",
        "--campaign",
        str(EXAMPLE),
        "--strategies",
        "random",
        "--budget",
        "3",
        "--reactor-model",
        f"{TOY}:green",
        "--latency-observations",
        "0",
    ]
    assert main([*common, "--repeats", "2", "--out", str(tmp_path / "both.json")]) == 0
    shown = capsys.readouterr()
    # without --json the table is on stdout (qdlab bench ... | less), the progress bar on stderr
    assert "cdse-green: 2 repeats, budget 3" in shown.out and "random" in shown.out and "wrote" in shown.out
    assert "2 repeats, budget 3" not in shown.err
    assert (
        main([*common, "--repeats", "1", "--first-repeat", "1", "--out", str(tmp_path / "second.json")]) == 0
    )
    both = json.loads((tmp_path / "both.json").read_text())
    second = json.loads((tmp_path / "second.json").read_text())
    assert second["first_repeat"] == 1
    (run,) = second["runs"]
    same = next(r for r in both["runs"] if r["repeat"] == 1)
    assert run["seed"] == same["seed"] and run["best_true_trace"] == same["best_true_trace"]


def test_bench_truth_is_the_repeats_own_world():
    from lab.bench.campaign import _true_outcomes
    from lab.config.files import EXAMPLES, load_lab
    from lab.run.rig_builder import build_rig

    lab = load_lab(EXAMPLES["lab"] / "sim-cdse.toml")
    world = build_rig(lab, material="CdSe", seed=5).world
    assert world.reactivity_factor != 1.0  # this world drew its own precursor lot
    sp = {"temperature_c": 280.0, "flows_ul_min": {"cd": 30.0, "se": 20.0, "solvent": 90.0}}
    (own,) = _true_outcomes("CdSe", lab, [sp], world)
    (nominal,) = _true_outcomes("CdSe", lab, [sp])
    expected = world.evaluate_true(
        {"temperature": 280.0, "flow_cd": 30.0, "flow_se": 20.0, "flow_solvent": 90.0}
    )
    assert own["pl_peak_nm"] == expected["pl_peak_nm"] and own["plqy"] == expected["plqy"]
    assert own["pl_peak_nm"] != nominal["pl_peak_nm"]


DECLARED = """
OUTCOMES = ["loss"]


def predict(conditions):
    return {"loss": (conditions["temperature"] - 260.0) ** 2 / 100.0}
"""


def _loss_campaign(tmp_path):
    text = EXAMPLE.read_text().replace('strategy = "botorch"', 'strategy = "sobol"')
    head, rest = text.split("[objective]")
    path = tmp_path / "loss.toml"
    path.write_text(
        head + '[objective]\nname = "loss"\ngoal = "minimize"\n\n[protocol]' + rest.split("[protocol]")[1]
    )
    return path


def test_a_model_that_declares_its_outcomes_runs_benches_and_replays(tmp_path, capsys):
    model = tmp_path / "declared.py"
    model.write_text(DECLARED)
    campaign, out = _loss_campaign(tmp_path), tmp_path / "run"
    assert (
        main(
            [
                "run",
                str(campaign),
                "--sim",
                "--reactor-model",
                f"{model}:predict",
                "--out",
                str(out),
                "--budget",
                "3",
            ]
        )
        == 0
    )
    result = replay(out)
    assert result["divergences"] == [] and len(result["experiments"]) == 3
    for e in result["experiments"]:
        assert e["outcomes"]["loss"] == (e["conditions"]["temperature"] - 260.0) ** 2 / 100.0
        assert e["outcomes"]["objective"] == e["outcomes"]["loss"]
    capsys.readouterr()
    assert (
        main(
            [
                "bench",
                "--campaign",
                str(campaign),
                "--strategies",
                "sobol",
                "--repeats",
                "1",
                "--budget",
                "3",
                "--reactor-model",
                f"{model}:predict",
                "--json",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    bench = json.loads(capsys.readouterr().out)
    assert bench["strategies"]["sobol"]["best_true"][0] is not None


def test_latency_rows_carry_only_what_a_campaign_row_does():
    # the noise-free truth also holds conditions and simulator internals (clog_risk, size_rsd, ...):
    # the optimiser's row check must not see them
    from lab.bench.campaign import latency_at
    from lab.config.files import load_campaign, load_lab

    spec = load_campaign(EXAMPLE).model_copy(update={"strategy": "sobol"})
    result = latency_at(spec, load_lab(ROOT / "lab" / "examples" / "sim-cdse.toml"), "sobol", 5, proposals=2)
    assert result["n_observations"] == 5 and result["p95"] >= result["p50"] >= 0
