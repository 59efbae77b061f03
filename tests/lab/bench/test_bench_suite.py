"""qdlab bench --suite: the runner's figures, its noise stream, and the factors' definitions."""

import json
import math
import statistics

import numpy as np
import pytest

import models.optimizers
from lab.bench.suite import acceleration_factor, enhancement_factor, function_task, run_suite
from lab.cli import main
from models.benchmarks import function_problem


def test_acceleration_factor_is_the_ratio_of_experiments_to_the_references_best():
    reference = [1.0, 2.0, 2.0, 3.0, 3.0]  # reaches its best, 3, at experiment 4
    assert acceleration_factor([1.0, 3.0, 3.0, 3.0, 4.0], reference, 5) == 4 / 2
    assert acceleration_factor(reference, reference, 5) == 1.0
    assert acceleration_factor([0.0] * 5, reference, 5) == 4 / 6  # never there: budget + 1
    assert acceleration_factor([1.0] * 5, [-math.inf] * 5, 5) is None


def test_enhancement_factor_measures_the_gain_over_the_median_of_the_space():
    assert enhancement_factor([0, 5.0], [0, 3.0], 1.0) == (5.0 - 1.0) / (3.0 - 1.0)
    assert enhancement_factor([0, 5.0], [0, 1.0], 1.0) is None  # the reference gained nothing
    assert enhancement_factor([0, -math.inf], [0, 3.0], 1.0) is None


def _observed_noise(monkeypatch, name, strategy, repeat, budget):
    ingested = []
    make = models.optimizers.make_optimizer

    def recording(*args, **kwargs):
        optimizer = make(*args, **kwargs)
        ingest = optimizer.ingest
        optimizer.ingest = lambda rows: (ingested.extend(rows), ingest(rows))
        return optimizer

    monkeypatch.setattr(models.optimizers, "make_optimizer", recording)
    result = function_task(name, strategy, repeat, budget)
    p = function_problem(name)
    rows = ingested[-budget:]  # after the warm-up's rows
    noise = [(r["y"] - p.evaluate_true(p.to_array([r]))[0]) / p.noise_sd for r in rows]
    return result, noise


def test_every_strategy_meets_the_same_noise_stream(monkeypatch):
    _, sobol = _observed_noise(monkeypatch, "smoke-branin", "sobol", 0, 5)
    _, random = _observed_noise(monkeypatch, "smoke-branin", "random", 0, 5)
    _, other_repeat = _observed_noise(monkeypatch, "smoke-branin", "sobol", 1, 5)
    assert sobol == pytest.approx(random, abs=1e-9)
    assert sobol != pytest.approx(other_repeat, abs=1e-3)
    assert np.std(sobol) > 0.1  # there is noise


def test_random_search_needs_about_one_over_the_share_of_the_box():
    """The target is the best 1 % of the box: random search's median experiments to it is ln 2 / 0.01 = 69
    for a geometric law; 15 repeats put the sample median well inside [20, 200]."""
    results = [function_task("branin", "random", r, 400) for r in range(15)]
    reached = [r["experiments_to_target"] for r in results]
    median = statistics.median(401 if e is None else e for e in reached)
    print(
        f"random on branin: median experiments to target {median}, reached {sum(e is not None for e in reached)}/15"
    )
    assert 20 <= median <= 200
    p = function_problem("branin")
    for r in (
        results
    ):  # chosen by its noisy observation, the incumbent may get worse in truth, never beat the optimum
        assert len(r["best_true_trace"]) == 400 and all(v >= p.optimum - 1e-9 for v in r["best_true_trace"])


def test_smoke_suite_reports_every_figure(tmp_path, capsys):
    out = tmp_path / "suite.json"
    code = main(
        [
            "bench",
            "--suite",
            "smoke",
            "--strategies",
            "sobol,random",
            "--repeats",
            "2",
            "--workers",
            "1",
            "--json",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["problems"]) == {"smoke-branin", "smoke-gramacy"}
    for name, p in result["problems"].items():
        assert p["target"] is not None and p["median"] is not None and p["skipped"] == {}
        assert list(p["strategies"]) == ["sobol", "random"]
        for s, f in p["strategies"].items():
            assert len(f["experiments_to_target"]) == 2
            assert 1 <= f["median_experiments_to_target"] <= p["budget"] + 1
            assert f["success_rate"] == f["reached"] / 2
            assert f["median_best_true"] is not None
            assert f["proposal_latency_s"]["p95"] >= f["proposal_latency_s"]["p50"] > 0
            assert len(f["median_best_true_trace"]) == p["budget"]
        assert (
            p["strategies"]["sobol"]["af_vs_sobol"] == 1.0
            and p["strategies"]["random"]["af_vs_random"] == 1.0
        )
    saved = json.loads(out.read_text())
    assert len(saved["problems"]["smoke-branin"]["runs"]) == 4
    assert "| smoke-branin | smoke | 2 | 8 |" in out.with_suffix(".md").read_text()
    assert out.with_suffix(".png").stat().st_size > 0


def test_multi_objective_campaign_is_judged_by_hypervolume():
    result = run_suite("cdse-pareto", strategies=["sobol", "ax"], repeats=1, budget=3, workers=1)
    p = result["problems"]["cdse-pareto"]
    assert p["target"] > 0 and "ax" in p["skipped"]  # Ax gets a scalar utility only
    trace = p["runs"][0]["best_true_trace"]
    assert len(trace) == 3 and all(b >= a >= 0 for a, b in zip(trace, trace[1:]))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--suite", "nope"], "unknown suite or problem nope"),
        (["--suite", "smoke", "--campaign", "x.toml"], "give one of --campaign FILE or --suite NAME"),
        ([], "give one of --campaign FILE or --suite NAME"),
        (["--suite", "smoke", "--strategies", "magic"], "unknown strategy magic"),
    ],
)
def test_bad_suite_arguments_are_one_line(args, message, capsys):
    assert main(["bench", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_botorch_effort_is_bounded_by_counts_as_in_a_campaign(monkeypatch):
    # a 2 s wall-clock cap cut proposals short on a loaded machine, so the suite's figures (and the
    # determinism tests) depended on the load: the bench and a campaign get the same safety net, far
    # above a proposal's usual 0.5-3 s
    from campaigns.strategy import optimizer_for
    from lab.config.files import EXAMPLES, load_campaign
    from models.optimizers.botorch_single import TIME_BUDGET_S

    seen = {}
    real = models.optimizers.make_optimizer

    def spy(strategy, **kwargs):
        seen[strategy] = real(strategy, **kwargs)
        return seen[strategy]

    monkeypatch.setattr(models.optimizers, "make_optimizer", spy)
    function_task("smoke-branin", "botorch", 0, 6)
    assert TIME_BUDGET_S >= 30.0
    assert seen["botorch"].options["time_budget_s"] == TIME_BUDGET_S
    spec = load_campaign(EXAMPLES["campaigns"] / "cdse-green.toml")
    assert optimizer_for(spec, strategy="botorch").options["time_budget_s"] == TIME_BUDGET_S
