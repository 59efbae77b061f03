"""The one Pareto dominance rule: which rows of an ``n x m`` utility array are non-dominated.

Utilities are oriented higher-is-better (:meth:`MultiObjective.utilities`). A row is dominated when
another is at least as good in every objective and strictly better in one; two equal rows do not
dominate each other (both stay, unless ``deduplicate`` keeps only the first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["non_dominated"]


def non_dominated(utilities: Any, *, deduplicate: bool = False) -> np.ndarray:
    """Boolean mask (length n) of the non-dominated rows of ``utilities`` (n x m, higher is better).

    ``deduplicate``: of rows equal in every objective, only the first is marked (what a hypervolume
    needs; BoTorch's ``is_non_dominated`` default)."""
    Y = np.asarray(utilities, dtype=float)
    n = len(Y)
    if n == 0:
        return np.zeros(0, dtype=bool)
    Y = Y.reshape(n, -1)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        dominated = np.all(Y >= Y[i], axis=1) & np.any(Y > Y[i], axis=1)
        mask[i] = not dominated.any()
        if deduplicate and mask[i] and i:
            mask[i] = not np.any(np.all(Y[:i] == Y[i], axis=1))
    return mask
