"""Ordering a batch of conditions so that a slow parameter (reactor temperature) moves little."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from models.errors import OptimizerError

__all__ = ["order_by_cost"]


def order_by_cost(
    points: Sequence[Mapping[str, Any]], slow: str, start: float | None = None
) -> list[dict[str, Any]]:
    """``points`` reordered as one sweep of the ``slow`` parameter, which minimises its total travel.

    From ``start`` (the slow parameter's current value; default: the first point's), the path goes
    first to the nearer end of the batch's range, then sweeps monotonically to the other end. Ties
    keep the input order. Returns new dicts; the input is untouched.
    """
    pts = [dict(p) for p in points]
    if not pts:
        return []
    try:
        vals = [float(p[slow]) for p in pts]
    except KeyError:
        raise OptimizerError(f"every point needs the slow parameter {slow!r}") from None
    s = vals[0] if start is None else float(start)
    up = sorted(range(len(pts)), key=lambda i: (vals[i], i))
    down = sorted(range(len(pts)), key=lambda i: (-vals[i], i))
    down_first = [i for i in down if vals[i] <= s] + [i for i in up if vals[i] > s]
    up_first = [i for i in up if vals[i] >= s] + [i for i in down if vals[i] < s]

    def travel(order: list[int]) -> float:
        path = [s] + [vals[i] for i in order]
        return sum(abs(b - a) for a, b in zip(path, path[1:]))

    order = down_first if travel(down_first) < travel(up_first) else up_first
    return [pts[i] for i in order]
