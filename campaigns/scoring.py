"""Scoring experiments against a campaign's objective: one number, or a Pareto front for several."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.objective import MultiObjective

__all__ = ["scalar_value", "pareto_indices", "best_index", "is_multi", "reached_at"]


def is_multi(objective: Any) -> bool:
    return isinstance(objective, MultiObjective)


def scalar_value(objective: Any, outcomes: dict[str, Any]) -> float | None:
    """The objective of one experiment; None for a failure or a multi-objective campaign."""
    return None if is_multi(objective) else objective.value(outcomes)


def pareto_indices(objective: Any, rows: Sequence[tuple[int, dict[str, Any]]]) -> list[int]:
    """Indices of the non-dominated successful experiments (multi-objective), by index."""
    scored = [(i, objective.utilities(r)) for i, r in rows]
    scored = [(i, u) for i, u in scored if u is not None]
    if not scored:
        return []
    Y = np.array([u for _, u in scored], dtype=float)
    front = []
    for k, (i, _) in enumerate(scored):
        dominated = np.any(np.all(Y >= Y[k], axis=1) & np.any(Y > Y[k], axis=1))
        if not dominated:
            front.append(i)
    return sorted(front)


def best_index(objective: Any, rows: Sequence[tuple[int, dict[str, Any]]]) -> int | None:
    """The incumbent: highest utility; for a multi-objective, the Pareto point nearest the ideal point
    after scaling each objective over the front."""
    if is_multi(objective):
        front = pareto_indices(objective, rows)
        if not front:
            return None
        by_index = dict(rows)
        Y = np.array([objective.utilities(by_index[i]) for i in front], dtype=float)
        span = np.where(np.ptp(Y, axis=0) > 0, np.ptp(Y, axis=0), 1.0)
        return front[int(np.argmin(np.linalg.norm((Y.max(axis=0) - Y) / span, axis=1)))]
    scored = [(objective.utility(r), i) for i, r in rows]
    scored = [(u, i) for u, i in scored if u is not None]
    return max(scored)[1] if scored else None


def reached_at(objective: Any, rows: Sequence[tuple[int, dict[str, Any]]]) -> int | None:
    """Index of the first experiment (in ``rows`` order) whose measured outcomes meet the objective's
    ``reached`` criteria; None when none does or the objective has no ``reached``."""
    return next((i for i, r in rows if objective.reached(r)), None)
