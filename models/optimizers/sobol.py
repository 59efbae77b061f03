"""Baseline: one scrambled Sobol sequence seeded by the campaign seed, continued experiment by experiment;
and the cheap start a cost-aware model-based strategy uses before its first model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.optimizers.base import Optimizer, SuggestInfo, sample_encoded

__all__ = ["SobolOptimizer", "sobol_points", "cheap_start_points", "CHEAP_START_POOL"]

CHEAP_START_POOL = 2
"""A cost-aware start draws its ``n_initial`` points from this many times as many Sobol points."""
_SAME_POINT = 1e-6
"""Encoded distance (per coordinate) under which an ingested or pending point is a pool point."""


def sobol_points(optimizer: Optimizer, n: int, pending: np.ndarray) -> np.ndarray:
    """Points ``k .. k+n-1`` of the optimiser's feasible Sobol sequence, k = rows ingested + pending."""
    skip = len(optimizer) + len(pending)
    return sample_encoded(optimizer.space, n, optimizer.seed, method="sobol", skip=skip)


def cheap_start_points(
    optimizer: Optimizer,
    n: int,
    pending: np.ndarray,
    n_initial: int,
    cost_of: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, SuggestInfo]:
    """The initial design of a cost-aware campaign: the ``n`` cheapest points, by ``cost_of`` (encoded
    ``m x d`` -> expected cost of each, from the rig's state now), of the first
    ``CHEAP_START_POOL * n_initial`` points of the optimiser's Sobol sequence not yet ingested or
    pending. Greedy from the current state, so the start avoids the slowest corner (longest residence
    times) and takes the heater by small steps; a pure function of (seed, rows, pending, cost), as replay
    needs. Once the pool is spent (failures lengthen the start), the sequence continues after it."""
    pool_size = CHEAP_START_POOL * n_initial
    pool = sample_encoded(optimizer.space, pool_size, optimizer.seed, method="sobol")
    taken = [np.asarray(x, dtype=float) for x in optimizer._X] + list(np.asarray(pending, dtype=float))
    free = np.ones(pool_size, dtype=bool)
    for x in taken:
        near = np.max(np.abs(pool - x), axis=1) < _SAME_POINT
        free &= ~near
    left = np.flatnonzero(free)
    if len(left) < n:
        beyond = len(taken) - (pool_size - len(left))  # points taken from after the pool
        more = sample_encoded(
            optimizer.space, n - len(left), optimizer.seed, method="sobol", skip=pool_size + beyond
        )
        points = np.vstack([pool[left], more])
        return points, {"acquisition": "sobol-initial-cheap", "pool": pool_size, "pool_left": int(len(left))}
    costs = np.asarray(cost_of(pool[left]), dtype=float)
    order = np.argsort(costs, kind="stable")[:n]
    return pool[left[order]], {
        "acquisition": "sobol-initial-cheap",
        "expected_cost": float(costs[order[0]]),
        "pool": pool_size,
        "pool_left": int(len(left)),
    }


class SobolOptimizer(Optimizer):
    """Space-filling design: the feasible points of a scrambled Sobol sequence, in order."""

    strategy = "sobol"

    def _suggest(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, SuggestInfo]:
        return sobol_points(self, n, pending), {
            "acquisition": "sobol",
            "sequence_index": len(self) + len(pending),
        }
