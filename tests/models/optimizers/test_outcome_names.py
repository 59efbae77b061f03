"""Every optimiser refuses names it does not know: ingested rows with a typo'd key, objectives and
constraints naming an outcome outside the declared ``outcomes`` (issue 12, deliverable 4)."""

import importlib.util

import pytest

from models.errors import ConfigurationError
from models.optimizers import STRATEGIES, Optimizer, make_optimizer
from models.outcomes import FIGURES_OF_MERIT, figure_names

PARAMS = [{"name": "x", "low": 0.0, "high": 1.0}, {"name": "t", "low": 200.0, "high": 300.0}]
LOSS = {"name": "loss", "goal": "minimize"}
PARETO = [{"name": "plqy", "goal": "maximize"}, {"name": "pl_fwhm_nm", "goal": "minimize"}]


def _optimizer(strategy, objective=LOSS, **kw):
    module = {"ax": "ax", "baybe": "baybe"}.get(strategy)
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} (the bench extra) is not installed")
    return make_optimizer(strategy, parameters=PARAMS, objective=objective, seed=1, **kw)


def test_every_strategy_ingests_through_the_one_check_in_base():
    # Ax and BayBE included, installed or not: none overrides ingest or the row check
    for name, cls in STRATEGIES.items():
        assert cls.ingest is Optimizer.ingest, name
        assert cls._check_row_keys is Optimizer._check_row_keys, name


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_a_typo_in_an_ingested_row_is_refused(strategy):
    multi = strategy == "botorch-mo"
    opt = _optimizer(strategy, PARETO if multi else LOSS)
    good = {"x": 0.2, "t": 250.0, **({"plqy": 0.5, "pl_fwhm_nm": 30.0} if multi else {"loss": 0.4})}
    opt.ingest([good, {"x": 0.4, "t": 240.0, "failure": "clog"}])
    typo = {"x": 0.1, "t": 260.0, **({"plqy": 0.5, "pl_fwhm": 30.0} if multi else {"los": 0.1})}
    with pytest.raises(ConfigurationError) as info:
        opt.ingest([good, typo])
    message = str(info.value)
    wrong, right = ("pl_fwhm", "pl_fwhm_nm") if multi else ("los", "loss")
    assert f"unknown key {wrong!r}" in message and f"did you mean {right!r}" in message
    assert "ingest row 3" in message and "x, t" in message and "failure" in message
    assert len(opt) == 2  # all or nothing: the good row of the refused batch is not stored either


def test_row_keys_allowed_by_default_are_the_objective_constraint_and_bookkeeping_names():
    opt = make_optimizer(
        "sobol",
        parameters=PARAMS,
        objective={**LOSS, "reached": {"loss": [0, 0.1]}},
        outcome_constraints=[{"outcome": "cost", "op": "<=", "value": 3.0}],
    )
    opt.ingest([{"x": 0.1, "t": 210.0, "loss": 1.0, "cost": 2.0, "failure": None, "objective": 1.0}])
    with pytest.raises(ConfigurationError, match="unknown key 'plqy'"):
        opt.ingest([{"x": 0.1, "t": 210.0, "loss": 1.0, "plqy": 0.3}])


def test_declared_outcomes_admit_every_figure_of_merit_in_a_row():
    opt = make_optimizer("random", parameters=PARAMS, objective={"name": "plqy"}, outcomes=figure_names())
    opt.ingest([{"x": 0.1, "t": 210.0, **dict.fromkeys(FIGURES_OF_MERIT, 0.5), "failure": None}])
    assert opt.best()["plqy"] == 0.5


@pytest.mark.parametrize(
    "objective,constraints,key",
    [
        ({"name": "pl_peak", "goal": "maximize"}, None, "objective.name"),
        ({"terms": [{"outcome": "pl_peak", "target": 525.0}]}, None, "objective.terms[0].outcome"),
        ({"name": "plqy", "reached": {"pl_peak": [520, 530]}}, None, "objective.reached.pl_peak"),
        (
            {"name": "plqy"},
            [{"outcome": "pl_peak", "op": ">=", "value": 510}],
            "outcome_constraints[0].outcome",
        ),
        ([{"name": "plqy"}, {"name": "pl_peak", "goal": "minimize"}], None, "objective[1].name"),
        # a composite inside a multi-objective is split into its terms: its reached keys are still checked
        (
            [
                {"name": "plqy"},
                {"terms": [{"outcome": "pl_fwhm_nm", "goal": "minimize"}], "reached": {"pl_peak": [0, 1]}},
            ],
            None,
            "objective",
        ),
    ],
)
def test_declared_outcomes_check_the_objective_and_constraints(objective, constraints, key):
    with pytest.raises(ConfigurationError) as info:
        make_optimizer(
            "botorch",
            parameters=PARAMS,
            objective=objective,
            outcome_constraints=constraints,
            outcomes=figure_names(),
        )
    message = str(info.value)
    assert message.startswith(f"{key}: unknown outcome 'pl_peak'"), message
    assert "did you mean 'pl_peak_nm'" in message and "plqy" in message and "pl_fwhm_nm [nm]" in message


def test_outcomes_must_be_names():
    with pytest.raises(ConfigurationError, match="outcomes must be a list of names"):
        make_optimizer("sobol", parameters=PARAMS, objective=LOSS, outcomes="loss")
