"""Number coercion, in one place: what counts as a number in an outcome row, a spec or a spectrum figure.

``as_float``: a float for anything ``float()`` takes (infinities kept), NaN for None, a bool or what is not
a number (the optimisers' training data, where NaN marks a missing value). ``finite_or_none``: the same
read, but None for anything that is not a finite number (objectives, figures of merit).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["as_float", "finite_or_none"]


def as_float(x: Any) -> float:
    """``float(x)``; NaN for None, a bool, or what ``float`` refuses."""
    if x is None or isinstance(x, bool):
        return math.nan
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def finite_or_none(x: Any) -> float | None:
    """``float(x)`` when that is a finite number; None otherwise (None, a bool, NaN, an infinity, text)."""
    v = as_float(x)
    return v if math.isfinite(v) else None
