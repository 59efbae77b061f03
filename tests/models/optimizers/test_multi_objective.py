"""Multi-objective BoTorch: qLogNEHVI, Pareto front, determinism."""

from __future__ import annotations

import json

import numpy as np

from models import make_optimizer
from models.optimizers import BoTorchMultiOptimizer

FAST = {
    "num_restarts": 2,
    "raw_samples": 64,
    "maxiter": 20,
    "mc_samples": 32,
    "fit_maxiter": 40,
    "n_initial": 4,
}
PARAMS = [{"name": "a", "low": 0.0, "high": 1.0}, {"name": "b", "low": 0.0, "high": 1.0}]
OBJS = [{"name": "f1", "goal": "minimize", "ref": 1.2}, {"name": "f2", "goal": "minimize", "ref": 2.2}]


def outcomes(x):
    return {"f1": x["a"], "f2": 1.0 - x["a"] + x["b"] ** 2}


def run(opt, n):
    for _ in range(n):
        (x,) = opt.suggest(1)
        opt.ingest([{**x, **outcomes(x)}])
    return opt


def test_list_objective_gives_hypervolume_acquisition_and_pareto_front():
    opt = make_optimizer("botorch", parameters=PARAMS, objective=OBJS, seed=0, options=FAST)
    assert isinstance(opt, BoTorchMultiOptimizer)
    run(opt, 7)
    d = opt.last_decision()
    json.dumps(d)
    assert d["acquisition"] == "qLogNoisyExpectedHypervolumeImprovement"
    assert d["ref_point"] == [-1.2, -2.2]
    front = opt.pareto_front()
    Y = np.array([[r["f1"], r["f2"]] for r in front])
    for i in range(len(Y)):
        assert not np.any(np.all(Y <= Y[i], axis=1) & np.any(Y < Y[i], axis=1))
    others = [r for r in opt.rows if r not in front]
    for r in others:  # everything off the front is dominated by something on it
        assert np.any(np.all(Y <= [r["f1"], r["f2"]], axis=1))
    assert opt.best() in front


def test_multi_objective_is_deterministic_and_respects_pending():
    a = run(make_optimizer("botorch-mo", parameters=PARAMS, objective=OBJS, seed=2, options=FAST), 6)
    b = make_optimizer("botorch-mo", parameters=PARAMS, objective=OBJS, seed=2, options=FAST)
    b.ingest(a.rows)
    (x,) = a.suggest(1)
    assert b.suggest(1) == [x]
    assert a.suggest(1, pending=[x]) != [x]


def test_composite_spec_splits_into_objectives_with_inferred_reference_point():
    spec = {"terms": [{"outcome": "f1", "target": 0.3, "scale": 1.0}, {"outcome": "f2", "goal": "minimize"}]}
    opt = run(make_optimizer("botorch-mo", parameters=PARAMS, objective=spec, seed=0, options=FAST), 6)
    d = opt.last_decision()
    assert len(d["ref_point"]) == 2
    assert opt.pareto_front()
