"""Outcome constraints: ``outcome op value`` conditions an experiment must meet to count as feasible."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.errors import ConfigurationError
from models.validation import check_table
from models.objectives.objective import _num

__all__ = ["OutcomeConstraint", "outcome_constraints"]


class OutcomeConstraint:
    """``outcome op value`` with op ">=" or "<=", e.g. ``{"outcome": "plqy", "op": ">=", "value": 0.3}``."""

    def __init__(self, spec: Any, i: int = 0):
        where = f"outcome_constraints[{i}]"
        check_table(spec, where=where, what="an outcome constraint", allowed=("outcome", "op", "value"))
        outcome = spec.get("outcome")
        if not isinstance(outcome, str) or not outcome:
            raise ConfigurationError("needs an 'outcome' name", key=where)
        self.outcome: str = outcome
        self.op = spec.get("op")
        if self.op not in ("<=", ">="):
            raise ConfigurationError(f"op must be '<=' or '>=', got {self.op!r}", key=f"{where}.op")
        v = _num(spec.get("value"))
        if v is None:
            raise ConfigurationError(
                f"value must be a number, got {spec.get('value')!r}", key=f"{where}.value"
            )
        self.value = v
        self.spec = dict(spec)

    def satisfied(self, row: Mapping[str, Any]) -> bool:
        x = _num(row.get(self.outcome))
        if x is None:
            return False
        return x >= self.value if self.op == ">=" else x <= self.value

    def slack(self, z: Any) -> Any:
        """BoTorch convention: <= 0 where satisfied (``z``: a tensor of the outcome)."""
        return self.value - z if self.op == ">=" else z - self.value


def outcome_constraints(specs: Sequence[Any] | None) -> list[OutcomeConstraint]:
    """:class:`OutcomeConstraint` s from specs (dicts, as in ``campaign.toml``) or constraints already built."""
    return [
        c if isinstance(c, OutcomeConstraint) else OutcomeConstraint(c, i) for i, c in enumerate(specs or ())
    ]
