"""Hypervolume of the noise-free outcomes of a multi-objective campaign: the "best value" of a Pareto search.

Each experiment's true outcomes become the objectives' utilities (higher is better); an experiment
counts when it did not fail and meets every outcome constraint. The reference point is each
objective's ``ref`` (outcome units, oriented like its utility); a point that does not dominate it
adds nothing. Computed exactly (BoTorch's ``Hypervolume``), in utility units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.errors import ConfigurationError
from models.objectives import MultiObjective, is_feasible, non_dominated
from models.objectives import outcome_constraints as build_constraints

__all__ = ["hypervolume_trace", "reference_point"]


def reference_point(objective: MultiObjective) -> np.ndarray:
    """Each objective's ``ref`` as a utility; ConfigurationError when one lacks it."""
    missing = [o.spec.get("name") for o in objective.objectives if o.ref is None]
    if missing:
        raise ConfigurationError(f"objective(s) {missing} need a 'ref' for the hypervolume", key="objective")
    return np.array([o.sign * o.ref for o in objective.objectives if o.ref is not None], dtype=float)


def hypervolume_trace(
    objective: MultiObjective,
    outcome_constraints: Sequence[Mapping[str, Any]],
    outcomes: Sequence[Mapping[str, Any]],
) -> list[float]:
    """Hypervolume dominated by experiments ``1..k`` for each k (``len(outcomes)`` values, non-decreasing)."""
    import torch
    from botorch.utils.multi_objective.hypervolume import Hypervolume

    constraints = build_constraints(outcome_constraints)
    ref = reference_point(objective)
    hv = Hypervolume(torch.as_tensor(ref, dtype=torch.float64))
    kept: list[list[float]] = []
    trace: list[float] = []
    value = 0.0
    for row in outcomes:
        u = objective.utilities(row)
        if u is not None and is_feasible(objective, row, constraints) and np.all(np.array(u) > ref):
            kept.append([float(x) for x in u])
            Y = torch.tensor(kept, dtype=torch.float64)
            value = float(hv.compute(Y[torch.as_tensor(non_dominated(kept, deduplicate=True))]))
        trace.append(value)
    return trace
