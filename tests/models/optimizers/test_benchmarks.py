"""Small, fast sanity benchmarks: BoTorch beats random search; it learns to avoid a failing region."""

from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest

from models import make_optimizer

FAST = {
    "num_restarts": 2,
    "raw_samples": 64,
    "maxiter": 25,
    "mc_samples": 64,
    "fit_maxiter": 40,
    "n_initial": 4,
}
BRANIN_MIN = 0.397887
PARAMS = [{"name": "x1", "low": -5.0, "high": 10.0}, {"name": "x2", "low": 0.0, "high": 15.0}]


def branin(x):
    x1, x2 = x["x1"], x["x2"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def best_after(strategy, seed, budget, options=None):
    opt = make_optimizer(
        strategy, parameters=PARAMS, objective={"name": "y", "goal": "minimize"}, seed=seed, options=options
    )
    for _ in range(budget):
        (x,) = opt.suggest(1)
        opt.ingest([{**x, "y": branin(x)}])
    return opt.best()["y"] - BRANIN_MIN


def test_botorch_beats_random_on_branin():
    # six seeds: with the outcome warp (docs/adr/0004) the regret at 14 noise-free experiments is
    # 0.13-1.9 per seed (median 0.36 over ten), random's 1.9-6.4; three seeds made the median one draw
    seeds = range(6)
    bo = [best_after("botorch", s, 14, FAST) for s in seeds]
    rnd = [best_after("random", s, 14) for s in seeds]
    assert np.median(bo) < np.median(rnd)
    assert np.median(bo) < 1.0


def _failures_in_second_half(strategy, seed):
    """Everything with a > 0.6 clogs; the unconstrained optimum lies inside that region."""
    params = [{"name": "a", "low": 0.0, "high": 1.0}, {"name": "b", "low": 0.0, "high": 1.0}]
    opt = make_optimizer(
        strategy,
        parameters=params,
        objective={"name": "y", "goal": "minimize"},
        seed=seed,
        options=FAST if strategy == "botorch" else None,
    )
    for _ in range(16):
        (x,) = opt.suggest(1)
        if x["a"] > 0.6:
            opt.ingest([{**x, "failure": "clog"}])
        else:
            opt.ingest([{**x, "y": (x["a"] - 0.8) ** 2 + (x["b"] - 0.5) ** 2}])
    return sum(r["a"] > 0.6 for r in opt.rows[8:])


def test_failing_region_is_avoided_in_the_second_half():
    seeds = (0, 1)
    bo = sum(_failures_in_second_half("botorch", s) for s in seeds)
    rnd = sum(_failures_in_second_half("random", s) for s in seeds)
    assert bo < rnd


@pytest.mark.slow
def test_failing_region_is_avoided_over_more_seeds():
    seeds = range(6)
    bo = sum(_failures_in_second_half("botorch", s) for s in seeds)
    rnd = sum(_failures_in_second_half("random", s) for s in seeds)
    print(f"\nfailures in second half over {len(seeds)} seeds: botorch {bo}, random {rnd}")
    assert bo < rnd


@pytest.mark.slow
def test_report_proposal_latency_at_100_observations():
    """Reported, not asserted: p50/p95 wall time of one proposal at 100 observations, d = 5."""
    rng = np.random.default_rng(0)
    d = 5
    params = [{"name": f"x{i}", "low": 0.0, "high": 1.0} for i in range(d)]
    spec = {
        "terms": [
            {"outcome": "peak", "target": 525, "scale": 10},
            {"outcome": "fwhm", "goal": "minimize", "scale": 30},
        ]
    }
    for objective in ({"name": "loss", "goal": "minimize"}, spec):
        # every row carries all three outcomes, whichever the objective uses
        opt = make_optimizer(
            "botorch", parameters=params, objective=objective, seed=0, outcomes=("loss", "peak", "fwhm")
        )
        rows = []
        for u in rng.random((110, d)):
            x = {f"x{i}": float(u[i]) for i in range(d)}
            rows.append(
                {
                    **x,
                    "loss": float(np.sum((u - 0.3) ** 2)),
                    "peak": 450 + 150 * u[0] + 20 * u[1] ** 2,
                    "fwhm": 20 + 10 * u[2] + 5 * u[3],
                }
            )
        opt.ingest(rows[:100])
        ts = []
        for k in range(10):
            t = time.perf_counter()
            opt.suggest(1)
            ts.append(time.perf_counter() - t)
            opt.ingest([rows[100 + k]])
        p50, p95 = np.percentile(ts, [50, 95])
        # a bench figure, not a threshold: it depends on the machine and its load (qdlab bench reports it)
        print(f"\nlatency {list(objective)[0]} cores={os.cpu_count()}: p50 {p50:.3f} s, p95 {p95:.3f} s")


def _synthesis(x, rng):
    """A toy reactor: PL peak rises with temperature, linewidth and PLQY have interior optima; clogs
    when concentrated and hot."""
    u = math.log(x["q"]) / math.log(40.0)
    t = (x["T"] - 200.0) / 100.0
    r = (x["r"] - 0.5) / 2.5
    if u > 0.9 and t > 0.8:
        return {"failure": "clog"}
    return {
        "pl_peak_nm": 470 + 110 * t - 30 * u + 10 * r + rng.normal(0, 1.0),
        "pl_fwhm_nm": 25 + 15 * (t - 0.5) ** 2 + 10 * u + rng.normal(0, 0.5),
        "plqy": 0.6 * math.exp(-(((r - 0.6) / 0.3) ** 2)) * (1 - 0.3 * u) + rng.normal(0, 0.02),
    }


@pytest.mark.slow
def test_composite_target_reached_in_fewer_experiments_than_random():
    from models.objectives import Objective

    spec = {
        "goal": "maximize",
        "terms": [
            {"outcome": "pl_peak_nm", "target": 525.0, "scale": 10.0},
            {"outcome": "pl_fwhm_nm", "goal": "minimize", "scale": 30.0},
            {"outcome": "plqy", "goal": "maximize", "scale": 0.5},
        ],
        "reached": {"pl_peak_nm": [520.0, 530.0], "pl_fwhm_nm": [0.0, 35.0], "plqy": [0.3, 1.0]},
    }
    params = [
        {"name": "q", "low": 1.0, "high": 40.0, "log": True},
        {"name": "T", "low": 200.0, "high": 300.0},
        {"name": "r", "low": 0.5, "high": 3.0},
    ]
    obj = Objective(spec)
    budget = 25

    def to_target(strategy, seed):
        rng = np.random.default_rng(seed)
        opt = make_optimizer(strategy, parameters=params, objective=spec, seed=seed)
        for i in range(budget):
            (x,) = opt.suggest(1)
            row = {**x, **_synthesis(x, rng)}
            opt.ingest([row])
            if obj.reached(row):
                return i + 1
        return budget + 1

    seeds = range(4)
    bo = [to_target("botorch", s) for s in seeds]
    rnd = [to_target("random", s) for s in seeds]
    print(f"\nexperiments to target: botorch {bo}, random {rnd}")
    assert np.median(bo) < np.median(rnd)
