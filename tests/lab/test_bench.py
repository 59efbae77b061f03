"""qdlab bench and --reactor-model: figures from real runs, in the documented shape."""

import json
import sys
from pathlib import Path

from lab.cli import main
from lab.replay import replay

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "campaigns" / "examples" / "cdse-green.toml"
TOY = ROOT / "tests" / "fixtures" / "toy_reactor.py"
sys.path.insert(0, str(TOY.parent))
import toy_reactor  # noqa: E402


def test_run_with_a_user_reactor_model_logs_its_outcomes(tmp_path, capsys):
    out = tmp_path / "toy"
    assert main(["run", str(EXAMPLE), "--sim", "--reactor-model", f"{TOY}:green", "--out", str(out),
                 "--budget", "3", "--seed", "2"]) == 0
    capsys.readouterr()
    result = replay(out)
    assert len(result["experiments"]) == 3 and result["divergences"] == []
    for e in result["experiments"]:
        start_setpoints = e["conditions"]
        expected = toy_reactor.green({"temperature": start_setpoints["temperature"],
                                      "residence_time_s": start_setpoints["residence_time"]})
        assert abs(e["outcomes"]["pl_peak_nm"] - expected["pl_peak_nm"]) < 1e-6
        assert abs(e["outcomes"]["plqy"] - expected["plqy"]) < 1e-9


def test_bad_reactor_model_reference_is_one_line(tmp_path, capsys):
    assert main(["run", str(EXAMPLE), "--sim", "--reactor-model", f"{TOY}:nope", "--out", str(tmp_path / "x")]) == 2
    assert "has no function 'nope'" in capsys.readouterr().err


def test_bench_reports_per_strategy_figures(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "--campaign", str(EXAMPLE), "--strategies", "sobol,random", "--repeats", "2",
                 "--budget", "4", "--reactor-model", f"{TOY}:green", "--json", "--out", str(out)])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["strategies"]) == {"sobol", "random"}
    for s in result["strategies"].values():
        assert len(s["experiments_to_target"]) == 2
        assert all(e is None or 1 <= e <= 4 for e in s["experiments_to_target"])
        expected_median = sorted(5 if e is None else e for e in s["experiments_to_target"])
        assert s["median_experiments_to_target"] == sum(expected_median) / 2
        assert s["proposal_latency_s"]["p50"] is not None and s["proposal_latency_s"]["p95"] >= s[
            "proposal_latency_s"]["p50"]
        assert len(s["best_true"]) == 2
    assert out.is_file() and out.with_suffix(".png").is_file()


def test_bench_refuses_unknown_strategy(capsys):
    assert main(["bench", "--campaign", str(EXAMPLE), "--strategies", "magic"]) == 2
    assert "unknown strategy magic" in capsys.readouterr().err
