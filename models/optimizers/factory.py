"""``make_optimizer``: a strategy name -> an ask/tell optimiser."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.errors import ConfigurationError
from models.objectives import MultiObjective, make_objective
from models.optimizers.base import Optimizer
from models.optimizers.botorch_multi import BoTorchMultiOptimizer
from models.optimizers.botorch_single import BoTorchOptimizer
from models.optimizers.external import AxOptimizer, BayBEOptimizer
from models.optimizers.random import RandomOptimizer
from models.optimizers.sklearn_gp import SklearnGPOptimizer
from models.optimizers.sobol import SobolOptimizer

__all__ = ["make_optimizer", "STRATEGIES"]

STRATEGIES: dict[str, type[Optimizer]] = {
    "botorch": BoTorchOptimizer,
    "botorch-mo": BoTorchMultiOptimizer,
    "sobol": SobolOptimizer,
    "random": RandomOptimizer,
    "sklearn-gp": SklearnGPOptimizer,
    # optional back ends (the "bench" extra), imported only when constructed
    "ax": AxOptimizer,
    "baybe": BayBEOptimizer,
}


def make_optimizer(
    strategy: str,
    *,
    parameters: Sequence[Mapping[str, Any]],
    objective: Any,
    seed: int = 0,
    constraints: Sequence[Mapping[str, Any]] | None = None,
    outcome_constraints: Sequence[Mapping[str, Any]] | None = None,
    options: Mapping[str, Any] | None = None,
    outcomes: Sequence[str] | None = None,
) -> Optimizer:
    """An optimiser for ``strategy`` (one of :data:`STRATEGIES`).

    ``"botorch"`` with several objectives (a list of objective specs) becomes ``"botorch-mo"``.
    ``outcomes``: the outcome names an experiment reports (see :class:`Optimizer`); given, the objective
    and constraints may name only these, and ingested rows carry only these, parameters and ``failure``.
    Raises ConfigurationError for an unknown strategy, bad parameters, objective, outcome names or options.
    """
    if strategy not in STRATEGIES:
        raise ConfigurationError(
            f"unknown strategy {strategy!r}; choose one of {sorted(STRATEGIES)}", key="strategy"
        )
    cls = STRATEGIES[strategy]
    obj = make_objective(objective)
    if cls is BoTorchOptimizer and isinstance(obj, MultiObjective):
        cls = BoTorchMultiOptimizer
    return cls(
        parameters,
        obj,
        seed=seed,
        constraints=constraints,
        outcome_constraints=outcome_constraints,
        options=options,
        outcomes=outcomes,
    )
