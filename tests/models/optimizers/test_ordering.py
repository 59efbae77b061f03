"""order_by_cost: one sweep of the slow parameter."""

from __future__ import annotations

import itertools

import pytest

from models import order_by_cost
from models.errors import OptimizerError


def travel(points, start):
    path = [start] + [p["T"] for p in points]
    return sum(abs(b - a) for a, b in zip(path, path[1:]))


@pytest.mark.parametrize("start", [150.0, 240.0, 262.0, 400.0])
def test_order_is_a_minimal_sweep(start):
    pts = [{"T": t, "q": i} for i, t in enumerate([300.0, 200.0, 250.0, 270.0, 220.0])]
    ordered = order_by_cost(pts, "T", start=start)
    assert sorted(p["q"] for p in ordered) == list(range(5))
    best = min(travel(list(p), start) for p in itertools.permutations(pts))
    assert travel(ordered, start) == pytest.approx(best)


def test_default_start_is_first_point_and_input_untouched():
    pts = [{"T": 250.0}, {"T": 300.0}, {"T": 200.0}]
    ordered = order_by_cost(pts, "T")
    assert [p["T"] for p in ordered] == [250.0, 200.0, 300.0] or [p["T"] for p in ordered] == [
        250.0,
        300.0,
        200.0,
    ]
    assert [p["T"] for p in pts] == [250.0, 300.0, 200.0]
    assert order_by_cost([], "T") == []


def test_missing_slow_parameter():
    with pytest.raises(OptimizerError):
        order_by_cost([{"q": 1}], "T")
