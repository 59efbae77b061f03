"""Scoring experiments against a campaign's objective: one number, and the first experiment on target.

The incumbent and the Pareto front are :func:`models.objectives.incumbent` and
:func:`models.objectives.pareto_positions` (one definition, honouring failures and outcome constraints).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.objectives import MultiObjective

__all__ = ["scalar_value", "is_multi", "reached_at"]


def is_multi(objective: Any) -> bool:
    return isinstance(objective, MultiObjective)


def scalar_value(objective: Any, outcomes: dict[str, Any]) -> float | None:
    """The objective of one experiment; None for a failure or a multi-objective campaign."""
    return None if is_multi(objective) else objective.value(outcomes)


def reached_at(objective: Any, rows: Sequence[tuple[int, dict[str, Any]]]) -> int | None:
    """Index of the first experiment (in ``rows`` order) whose measured outcomes meet the objective's
    ``reached`` criteria; None when none does or the objective has no ``reached``."""
    return next((i for i, r in rows if objective.reached(r)), None)
