"""Baseline: one scrambled Sobol sequence seeded by the campaign seed, continued experiment by experiment."""

from __future__ import annotations

import numpy as np

from models.optimizers.base import Optimizer, SuggestInfo, sample_encoded

__all__ = ["SobolOptimizer", "sobol_points"]


def sobol_points(optimizer: Optimizer, n: int, pending: np.ndarray) -> np.ndarray:
    """Points ``k .. k+n-1`` of the optimiser's feasible Sobol sequence, k = rows ingested + pending."""
    skip = len(optimizer) + len(pending)
    return sample_encoded(optimizer.space, n, optimizer.seed, method="sobol", skip=skip)


class SobolOptimizer(Optimizer):
    """Space-filling design: the feasible points of a scrambled Sobol sequence, in order."""

    strategy = "sobol"

    def _suggest(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, SuggestInfo]:
        return sobol_points(self, n, pending), {
            "acquisition": "sobol",
            "sequence_index": len(self) + len(pending),
        }
