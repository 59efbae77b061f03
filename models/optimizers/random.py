"""Baseline: independent uniform samples (in the encoded space, so log parameters are log-uniform)."""

from __future__ import annotations

import numpy as np

from models.optimizers.base import Optimizer, SuggestInfo, sample_encoded

__all__ = ["RandomOptimizer"]


class RandomOptimizer(Optimizer):
    """Uniform random search; constraints by rejection. Seeded by (seed, number of rows ingested)."""

    strategy = "random"

    def _suggest(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, SuggestInfo]:
        # pending points take the first draws so that a batch split across calls stays distinct
        U = sample_encoded(self.space, n + len(pending), call_seed, method="random")[len(pending) :]
        return U, {"acquisition": "random"}
