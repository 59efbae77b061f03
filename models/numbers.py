"""Number coercion, in one place: what counts as a number in an outcome row, a spec or a spectrum figure.

``as_float``: a float for anything ``float()`` takes (infinities kept), NaN for None, a bool or what is not
a number (the optimisers' training data, where NaN marks a missing value). ``finite_or_none``: the same
read, but None for anything that is not a finite number (objectives, figures of merit).
``is_finite_number``: whether a value already is a finite int or float (no coercion: text is not).
``json_ready``: a value as strict JSON takes it (the document log, decisions, ``qdlab simulate --json``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["as_float", "finite_or_none", "is_finite_number", "json_ready"]


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


def is_finite_number(x: Any) -> bool:
    """True for an int or float (not a bool, not text) that is finite: a measured value, not a stand-in."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def json_ready(x: Any) -> Any:
    """``x`` as plain JSON values: mappings (keys as text) and sequences recursively, numpy and torch
    values through ``tolist()``, and None for a float that is not finite (strict JSON has no NaN)."""
    if isinstance(x, Mapping):
        return {str(k): json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    if hasattr(x, "tolist") and not isinstance(x, (str, bytes)):  # numpy arrays and scalars, tensors
        return json_ready(x.tolist())
    if isinstance(x, bool):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    return x
