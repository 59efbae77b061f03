"""Every strategy behind make_optimizer: interface, determinism for replay, constraints, pending points."""

from __future__ import annotations

import json
import math

import pytest

from models import make_optimizer
from models.errors import ConfigurationError, OptimizerError

FAST = {
    "num_restarts": 2,
    "raw_samples": 64,
    "maxiter": 30,
    "mc_samples": 64,
    "fit_maxiter": 50,
    "n_initial": 4,
}
STRATEGIES = ["random", "sobol", "sklearn-gp", "botorch"]
PARAMS = [{"name": "q_a", "low": 1.0, "high": 40.0, "log": True}, {"name": "T", "low": 200.0, "high": 300.0}]
LOSS = {"name": "loss", "goal": "minimize"}


def options(strategy):
    if strategy.startswith("botorch"):
        return dict(FAST)
    if strategy == "sklearn-gp":
        return {"n_initial": 4, "n_candidates": 500}
    return {}


def loss(x):
    return (math.log(x["q_a"] / 8.0)) ** 2 + ((x["T"] - 260.0) / 40.0) ** 2


def run(opt, n_iter, f=loss, batch=1):
    for _ in range(n_iter):
        xs = opt.suggest(batch)
        opt.ingest([{**x, "loss": f(x)} for x in xs])
    return opt


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_suggest_ingest_best_and_decision(strategy):
    opt = make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=1, options=options(strategy))
    run(opt, 7)
    assert len(opt) == 7
    for r in opt.rows:
        assert 1.0 <= r["q_a"] <= 40.0 and 200.0 <= r["T"] <= 300.0
    best = opt.best()
    assert best["loss"] == min(r["loss"] for r in opt.rows)
    d = opt.last_decision()
    json.dumps(d)
    assert d["strategy"] == strategy and d["n_observations"] == 6 and d["seed"] == 1
    if strategy in ("botorch", "sklearn-gp"):
        assert d["acquisition"] in ("qLogNoisyExpectedImprovement", "ExpectedImprovement")
        assert isinstance(d["acquisition_value"], float)
        assert d["model"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_fresh_optimizer_with_same_rows_proposes_the_same_point(strategy):
    a = run(make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=3, options=options(strategy)), 6)
    nxt = a.suggest(2)
    b = make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=3, options=options(strategy))
    b.ingest(a.rows)
    assert b.suggest(2) == nxt
    # suggest has no side effect on later proposals
    assert a.suggest(2) == nxt
    pend = [nxt[0]]
    assert a.suggest(1, pending=pend) == b.suggest(1, pending=pend)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_different_seeds_differ(strategy):
    a = make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=0, options=options(strategy))
    b = make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=1, options=options(strategy))
    assert a.suggest(1) != b.suggest(1)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_pending_points_give_distinct_proposals(strategy):
    opt = run(
        make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=0, options=options(strategy)), 6
    )
    (first,) = opt.suggest(1)
    (second,) = opt.suggest(1, pending=[first])
    assert second != first
    batch = opt.suggest(3)
    assert len({(p["q_a"], p["T"]) for p in batch}) == 3


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_linear_constraint_respected(strategy):
    params = [
        {"name": "q_a", "low": 1.0, "high": 40.0},
        {"name": "q_b", "low": 1.0, "high": 40.0},
        {"name": "T", "low": 200.0, "high": 300.0},
    ]
    cons = [
        {"coefficients": {"q_a": 1, "q_b": 1}, "op": "<=", "rhs": 30.0},
        {"coefficients": {"q_a": 1, "q_b": 1}, "op": ">=", "rhs": 10.0},
    ]

    def f(x):
        return ((x["q_a"] - 25) / 10) ** 2 + ((x["q_b"] - 20) / 10) ** 2 + ((x["T"] - 250) / 50) ** 2

    opt = make_optimizer(
        strategy, parameters=params, objective=LOSS, constraints=cons, seed=0, options=options(strategy)
    )
    run(opt, 5, f, batch=2)
    for r in opt.rows:
        assert 10.0 - 1e-6 <= r["q_a"] + r["q_b"] <= 30.0 + 1e-6


@pytest.mark.parametrize("strategy", ["sobol", "botorch"])
def test_constraint_on_log_parameter_respected(strategy):
    params = [
        {"name": "q_a", "low": 1.0, "high": 40.0, "log": True},
        {"name": "q_b", "low": 1.0, "high": 40.0},
    ]
    cons = [{"coefficients": {"q_a": 1, "q_b": 1}, "op": "<=", "rhs": 30.0}]

    def f(x):
        return ((x["q_a"] - 25) / 10) ** 2 + ((x["q_b"] - 20) / 10) ** 2

    opt = make_optimizer(
        strategy, parameters=params, objective=LOSS, constraints=cons, seed=0, options=options(strategy)
    )
    run(opt, 7, f)
    for r in opt.rows:
        assert r["q_a"] + r["q_b"] <= 30.0 + 1e-6


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_categorical_parameter(strategy):
    params = [*PARAMS, {"name": "ligand", "values": ["OA", "TOP"]}]

    def f(x):
        return loss(x) + (0.0 if x["ligand"] == "TOP" else 1.0)

    opt = run(
        make_optimizer(strategy, parameters=params, objective=LOSS, seed=0, options=options(strategy)), 8, f
    )
    assert {r["ligand"] for r in opt.rows} <= {"OA", "TOP"}
    assert opt.best()["ligand"] in ("OA", "TOP")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_failed_rows_are_accepted_and_never_best(strategy):
    opt = make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=0, options=options(strategy))
    for i in range(7):
        (x,) = opt.suggest(1)
        if x["T"] > 270:
            opt.ingest([{**x, "failure": "clog"}])
        elif i % 3 == 0:
            opt.ingest([{**x, "loss": None}])
        else:
            opt.ingest([{**x, "loss": loss(x)}])
    opt.suggest(1)
    assert not opt.best().get("failure")
    assert opt.best()["loss"] is not None


def test_composite_objective_with_outcome_constraint():
    spec = {
        "terms": [
            {"outcome": "peak", "target": 525.0, "scale": 10.0},
            {"outcome": "fwhm", "goal": "minimize", "scale": 30.0},
        ]
    }

    def outcomes(x):
        return {"peak": 450 + 150 * (x["T"] - 200) / 100, "fwhm": 20 + 0.5 * x["q_a"], "plqy": x["q_a"] / 40}

    opt = make_optimizer(
        "botorch",
        parameters=PARAMS,
        objective=spec,
        seed=0,
        options=FAST,
        outcome_constraints=[{"outcome": "plqy", "op": ">=", "value": 0.1}],
    )
    for _ in range(7):
        (x,) = opt.suggest(1)
        opt.ingest([{**x, **outcomes(x)}])
    d = opt.last_decision()
    assert set(d["model"]) == {"peak", "fwhm", "plqy"}
    assert opt.best()["plqy"] >= 0.1


def test_nothing_ingested_has_no_best():
    opt = make_optimizer("random", parameters=PARAMS, objective=LOSS)
    with pytest.raises(OptimizerError):
        opt.best()
    with pytest.raises(OptimizerError):
        opt.last_decision()


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"strategy": "bayes"}, "strategy"),
        ({"options": {"restarts": 3}}, "options"),
        ({"parameters": [{"name": "a", "low": 2, "high": 1}]}, "parameters.a"),
        ({"parameters": [{"name": "a", "low": 0, "high": 1, "log": True}]}, "parameters.a"),
        ({"parameters": [{"name": "a", "low": 0, "high": 1, "step": 1}]}, "parameters.a"),
        ({"constraints": [{"coefficients": {"zz": 1}, "op": "<=", "rhs": 1}]}, "constraints[0].coefficients"),
        ({"constraints": [{"coefficients": {"T": 1}, "op": "<", "rhs": 1}]}, "constraints[0].op"),
        (
            {"outcome_constraints": [{"outcome": "plqy", "op": ">=", "value": "x"}]},
            "outcome_constraints[0].value",
        ),
        ({"seed": -1}, "seed"),
        ({"objective": {"name": "T", "goal": "minimize"}}, "objective"),
    ],
)
def test_bad_configuration(kwargs, key):
    args = {"strategy": "botorch", "parameters": PARAMS, "objective": LOSS}
    args.update(kwargs)
    with pytest.raises(ConfigurationError) as e:
        make_optimizer(args.pop("strategy"), **args)
    assert e.value.key == key


def test_rows_outside_bounds_or_missing_parameters_are_rejected():
    opt = make_optimizer("sobol", parameters=PARAMS, objective=LOSS)
    with pytest.raises(OptimizerError):
        opt.ingest([{"q_a": 50.0, "T": 250.0, "loss": 1.0}])
    with pytest.raises(OptimizerError):
        opt.ingest([{"q_a": 5.0, "loss": 1.0}])
    assert len(opt) == 0


def test_categorical_with_constraint_on_log_parameter_and_batches():
    params = [
        {"name": "q_a", "low": 1.0, "high": 40.0, "log": True},
        {"name": "q_b", "low": 1.0, "high": 40.0},
        {"name": "ligand", "values": ["OA", "TOP", "DDT"]},
    ]
    cons = [{"coefficients": {"q_a": 1, "q_b": 1}, "op": "<=", "rhs": 30}]
    opt = make_optimizer(
        "botorch",
        parameters=params,
        objective={"name": "y", "goal": "maximize"},
        constraints=cons,
        seed=0,
        options={**FAST, "n_initial": 3},
    )
    for _ in range(4):
        xs = opt.suggest(2)
        opt.ingest([{**x, "y": 0.1 * x["q_a"] + 0.05 * x["q_b"] + (x["ligand"] == "TOP")} for x in xs])
    assert all(r["q_a"] + r["q_b"] <= 30 + 1e-6 for r in opt.rows)


def test_all_failures_keep_exploring_with_sobol_then_model_feasibility():
    opt = make_optimizer("botorch", parameters=PARAMS, objective=LOSS, seed=0, options=FAST)
    for _ in range(5):
        (x,) = opt.suggest(1)
        opt.ingest([{**x, "failure": "clog"}])
    assert opt.last_decision()["acquisition"] == "sobol-initial"
    for i in range(2):
        (x,) = opt.suggest(1)
        opt.ingest([{**x, "loss": float(i)}])
    opt.suggest(1)
    d = opt.last_decision()
    assert d["acquisition"] == "qLogNoisyExpectedImprovement"
    assert set(d["model"]) == {"loss", "feasibility"}
    assert d["n_failed"] == 5


def test_botorch_leaves_torchs_thread_count_to_the_application(monkeypatch):
    """One owner of torch's threads, lab.run.runtime.configure_numerics; BoTorch proposals never set them."""
    torch = pytest.importorskip("torch")
    set_to = []
    monkeypatch.setattr(torch, "set_num_threads", set_to.append)
    opt = make_optimizer("botorch", parameters=PARAMS, objective=LOSS, seed=1, options=options("botorch"))
    run(opt, 6)  # past the Sobol points: modelled proposals
    assert opt.last_decision()["acquisition"] == "qLogNoisyExpectedImprovement"
    assert set_to == []
    with pytest.raises(ConfigurationError, match="num_threads"):
        make_optimizer("botorch", parameters=PARAMS, objective=LOSS, seed=1, options={"num_threads": 1})
