"""The one incumbent ("best experiment") of a list of experiments, and their Pareto front.

An experiment counts (is *feasible*) when it did not fail - no ``failure`` mark, every outcome the
objective needs measured - and meets every outcome constraint. Among the feasible experiments:

- one objective: the highest utility (:meth:`Objective.utility`, higher is better); of equal ones,
  the first;
- several (:class:`MultiObjective`): the Pareto front (:func:`models.objectives.pareto.non_dominated`),
  and the incumbent is its point nearest the ideal point after scaling each objective to [0, 1] over the
  front (of equal distances, the first).

The optimisers (``Optimizer.best``), the run summary, ``qdlab replay``, ``qdlab report``, ``qdlab watch``
and the benchmarks all name the incumbent through :func:`incumbent`. Functions take the experiments as
rows (parameters and outcomes, in the order they were learnt) and return positions in that list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.objectives.constraints import OutcomeConstraint, outcome_constraints
from models.objectives.objective import MultiObjective, is_failed
from models.objectives.pareto import non_dominated

__all__ = ["is_feasible", "failed", "pareto_positions", "incumbent", "incumbent_trace"]

Rows = Sequence[Mapping[str, Any]]


def failed(objective: Any, row: Mapping[str, Any]) -> bool:
    """Failed: marked, or its objective cannot be computed."""
    if is_failed(row):
        return True
    if isinstance(objective, MultiObjective):
        return objective.utilities(row) is None
    return objective.utility(row) is None


def is_feasible(
    objective: Any, row: Mapping[str, Any], constraints: Sequence[OutcomeConstraint] = ()
) -> bool:
    """Not failed and every outcome constraint met (``constraints`` built, see :func:`outcome_constraints`)."""
    return not failed(objective, row) and all(c.satisfied(row) for c in constraints)


def _feasible(objective: Any, rows: Rows, constraints: Sequence[Any] | None) -> list[int]:
    built = outcome_constraints(constraints)
    return [k for k, r in enumerate(rows) if is_feasible(objective, r, built)]


def _front(objective: MultiObjective, rows: Rows, feasible: list[int]) -> list[int]:
    if not feasible:
        return []
    Y = np.array([objective.utilities(rows[k]) for k in feasible], dtype=float).reshape(len(feasible), -1)
    return [k for k, keep in zip(feasible, non_dominated(Y)) if keep]


def pareto_positions(objective: Any, rows: Rows, constraints: Sequence[Any] | None = ()) -> list[int]:
    """Positions (ascending) of the non-dominated feasible rows of a multi-objective; for one objective,
    the incumbent's alone (empty when nothing is feasible)."""
    feasible = _feasible(objective, rows, constraints)
    if not isinstance(objective, MultiObjective):
        best = _best_scalar(objective, rows, feasible)
        return [] if best is None else [best]
    return _front(objective, rows, feasible)


def _best_scalar(objective: Any, rows: Rows, feasible: list[int]) -> int | None:
    best, best_u = None, -np.inf
    for k in feasible:
        u = objective.utility(rows[k])
        if best is None or u > best_u:
            best, best_u = k, u
    return best


def incumbent(objective: Any, rows: Rows, constraints: Sequence[Any] | None = ()) -> int | None:
    """Position of the incumbent in ``rows`` (module docstring); None when no row is feasible.

    ``objective``: an :class:`Objective` or :class:`MultiObjective`; ``constraints``: outcome constraint
    specs (``campaign.toml``'s ``outcome_constraints``) or :class:`OutcomeConstraint` s."""
    feasible = _feasible(objective, rows, constraints)
    if not isinstance(objective, MultiObjective):
        return _best_scalar(objective, rows, feasible)
    front = _front(objective, rows, feasible)
    if not front:
        return None
    Y = np.array([objective.utilities(rows[k]) for k in front], dtype=float)
    span = np.where(np.ptp(Y, axis=0) > 0, np.ptp(Y, axis=0), 1.0)
    return front[int(np.argmin(np.linalg.norm((Y.max(axis=0) - Y) / span, axis=1)))]


def incumbent_trace(objective: Any, rows: Rows, constraints: Sequence[Any] | None = ()) -> list[int | None]:
    """:func:`incumbent` of ``rows[:k]`` for k = 1 .. len(rows) (the incumbent after each experiment)."""
    if isinstance(objective, MultiObjective):
        return [incumbent(objective, rows[: k + 1], constraints) for k in range(len(rows))]
    built = outcome_constraints(constraints)
    trace: list[int | None] = []
    best, best_u = None, -np.inf
    for k, row in enumerate(rows):
        if is_feasible(objective, row, built):
            u = objective.utility(row)
            if best is None or u > best_u:
                best, best_u = k, u
        trace.append(best)
    return trace
