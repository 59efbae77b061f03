"""Outcome warping: a Yeo-Johnson power transform between standardisations, fitted per outcome.

A GP with a stationary kernel fits a skewed outcome badly: a few very bad values (Branin's corners,
a reaction that gives nothing) stretch the standardised scale, and the region that matters, near the
optimum, is squeezed into a fraction of it. HEBO (Cowen-Rivers et al., JAIR 2022; the winner of the
NeurIPS 2020 black-box optimisation challenge) warps outcomes with a fitted power transform before the
GP; Ax winsorises the bad tail. :class:`YeoJohnson` does the former:

    z = sign * (y - mean) / sd;  w = yeo_johnson(z, lambda);  t = (w - mean_w) / sd_w

with lambda the maximum-likelihood value for the training outcomes (``scipy.stats.yeojohnson_normmax``),
clipped to ``[0.05, 1.95]`` (where the transform maps the real line onto itself, so every posterior
sample has an inverse). ``oriented=True`` (``sign`` +1 for an outcome to maximise, -1 to minimise;
lambda at least 1) only ever compresses the bad tail and leaves the good one as it is. The GP models
the warped values; :class:`models.optimizers.surrogate.Surrogate` maps posterior samples back to the
outcome's units before any utility or constraint sees them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import Tensor

__all__ = ["YeoJohnson", "yeo_johnson", "yeo_johnson_inverse"]


def yeo_johnson(z: Tensor, lam: float) -> Tensor:
    """The Yeo-Johnson transform of ``z`` for ``0 < lam < 2`` (where it maps the real line onto itself)."""
    pos = ((z.clamp_min(0) + 1).pow(lam) - 1) / lam
    neg = -((1 - z.clamp_max(0)).pow(2 - lam) - 1) / (2 - lam)
    return torch.where(z >= 0, pos, neg)


def yeo_johnson_inverse(w: Tensor, lam: float) -> Tensor:
    """The inverse of :func:`yeo_johnson` (``0 < lam < 2``)."""
    pos = (w.clamp_min(0) * lam + 1).pow(1 / lam) - 1
    neg = 1 - (1 - w.clamp_max(0) * (2 - lam)).pow(1 / (2 - lam))
    return torch.where(w >= 0, pos, neg)


class YeoJohnson:
    """Standardise, Yeo-Johnson warp, standardise again, fitted to one outcome's training values.

    The GP is trained on :meth:`forward` of the outcome; :meth:`inverse` maps its posterior samples back
    to the outcome's units (differentiably, so acquisition gradients pass through it).
    """

    def __init__(self, y: np.ndarray, sign: float = 1.0, oriented: bool = False) -> None:
        y = np.asarray(y, dtype=float).reshape(-1)
        self.sign = float(sign)
        lo, hi = (1.0 if oriented else 0.05), 1.95
        self.mean = float(y.mean()) if len(y) else 0.0
        self.sd = float(y.std(ddof=1)) if len(y) > 1 and y.std() > 0 else 1.0
        z = self.sign * (y - self.mean) / self.sd
        lam = 1.0
        if len(y) >= 3 and np.ptp(z) > 0:
            from scipy.stats import yeojohnson_normmax

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                try:
                    lam = float(np.asarray(yeojohnson_normmax(z), dtype=float).reshape(-1)[0])
                except (ValueError, FloatingPointError):
                    lam = 1.0
        self.lam = min(max(lam if math.isfinite(lam) else 1.0, lo), hi)
        w = yeo_johnson(torch.as_tensor(z, dtype=torch.float64), self.lam).numpy()
        self.mean_w = float(w.mean()) if len(w) else 0.0
        self.sd_w = float(w.std(ddof=1)) if len(w) > 1 and w.std() > 0 else 1.0

    def forward(self, y: Tensor) -> Tensor:
        z = self.sign * (y - self.mean) / self.sd
        return (yeo_johnson(z, self.lam) - self.mean_w) / self.sd_w

    def inverse(self, t: Tensor) -> Tensor:
        z = yeo_johnson_inverse(t * self.sd_w + self.mean_w, self.lam)
        return self.mean + self.sign * self.sd * z

    def summary(self) -> dict[str, float]:
        return {"lambda": round(self.lam, 4), "sign": self.sign}
