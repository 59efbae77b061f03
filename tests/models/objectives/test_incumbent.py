"""The one incumbent and Pareto front (models.objectives): failures and outcome constraints honoured."""

import numpy as np
import pytest

from models.errors import OptimizerError
from models.objectives import (
    incumbent,
    incumbent_trace,
    make_objective,
    non_dominated,
    pareto_positions,
)
from models.optimizers import make_optimizer

PARAMS = [{"name": "x", "low": 0.0, "high": 1.0}]
SINGLE = {"name": "plqy", "goal": "maximize"}
MULTI = [{"name": "plqy", "goal": "maximize"}, {"name": "fwhm", "goal": "minimize"}]
LIMIT = [{"outcome": "fwhm", "op": "<=", "value": 40.0}]

ROWS = [
    {"x": 0.1, "plqy": 0.50, "fwhm": 30.0},
    {"x": 0.2, "plqy": 0.90, "fwhm": 60.0},  # the unconstrained best: violates fwhm <= 40
    {"x": 0.3, "plqy": 0.95, "failure": "clog"},  # failed: never the incumbent
    {"x": 0.4, "plqy": 0.70, "fwhm": 35.0},  # the constrained best
    {"x": 0.5, "fwhm": 20.0},  # no plqy measured: failed for this objective
]


def test_non_dominated_mask():
    pts = np.array([[1.0, 1.0], [2.0, 0.5], [0.5, 0.5], [2.0, 1.0]])
    assert non_dominated(pts).tolist() == [False, False, False, True]
    equal = np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0]])
    assert non_dominated(equal).tolist() == [True, True, True]
    assert non_dominated(equal, deduplicate=True).tolist() == [True, False, True]
    assert non_dominated(np.zeros((0, 2))).tolist() == []


def test_non_dominated_agrees_with_botorch():
    import torch
    from botorch.utils.multi_objective.pareto import is_non_dominated

    rng = np.random.default_rng(3)
    Y = np.round(rng.random((40, 3)), 1)  # coarse: ties and duplicates
    expected = is_non_dominated(torch.as_tensor(Y)).numpy()
    assert non_dominated(Y, deduplicate=True).tolist() == expected.tolist()


def test_scalar_incumbent_honours_constraints_and_failures():
    objective = make_objective(SINGLE)
    assert incumbent(objective, ROWS) == 1
    assert incumbent(objective, ROWS, LIMIT) == 3
    assert incumbent(objective, ROWS[2:3], LIMIT) is None
    assert incumbent(objective, [], LIMIT) is None
    assert incumbent_trace(objective, ROWS, LIMIT) == [0, 0, 0, 3, 3]
    assert incumbent_trace(objective, ROWS) == [0, 1, 1, 1, 1]


def test_ties_go_to_the_first():
    objective = make_objective(SINGLE)
    rows = [{"x": 0.1, "plqy": 0.5}, {"x": 0.2, "plqy": 0.8}, {"x": 0.3, "plqy": 0.8}]
    assert incumbent(objective, rows) == 1
    assert incumbent_trace(objective, rows) == [0, 1, 1]


def test_multi_objective_front_and_incumbent_honour_constraints():
    objective = make_objective(MULTI)
    rows = ROWS + [{"x": 0.6, "plqy": 0.2, "fwhm": 25.0}]
    assert pareto_positions(objective, rows) == [0, 1, 3, 5]
    assert pareto_positions(objective, rows, LIMIT) == [0, 3, 5]
    best = incumbent(objective, rows, LIMIT)
    assert best in pareto_positions(objective, rows, LIMIT)
    trace = incumbent_trace(objective, rows, LIMIT)
    assert trace == [incumbent(objective, rows[: k + 1], LIMIT) for k in range(len(rows))]
    assert trace[-1] == best


@pytest.mark.parametrize("objective", [SINGLE, MULTI], ids=["single", "multi"])
def test_optimizer_best_is_the_incumbent(objective):
    opt = make_optimizer("random", parameters=PARAMS, objective=objective, outcome_constraints=LIMIT)
    opt.ingest(ROWS)
    parsed = make_objective(objective)
    assert opt.best() == ROWS[incumbent(parsed, ROWS, LIMIT)]
    assert opt.pareto_front() == [ROWS[k] for k in pareto_positions(parsed, ROWS, LIMIT)]
    empty = make_optimizer("random", parameters=PARAMS, objective=objective, outcome_constraints=LIMIT)
    empty.ingest(ROWS[1:3])
    with pytest.raises(OptimizerError, match="no feasible experiment"):
        empty.best()
    assert empty.pareto_front() == []
