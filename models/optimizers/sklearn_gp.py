"""Baseline: scikit-learn Gaussian process + expected improvement over random candidates.

Failed experiments are imputed with the worst observed utility (a common practice that pushes the
search away from them). Batches and pending points use the kriging believer: a chosen point is added
with its predicted mean, the GP is re-conditioned with fixed hyperparameters, and EI is recomputed.
"""

from __future__ import annotations

import warnings
from typing import cast

import numpy as np
from scipy.stats import norm
from sklearn.exceptions import ConvergenceWarning
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Kernel, Matern, WhiteKernel

from models.optimizers.base import Optimizer, SuggestInfo, sample_encoded
from models.optimizers.sobol import sobol_points

__all__ = ["SklearnGPOptimizer"]


def _ei(mu: np.ndarray, sd: np.ndarray, best: float, xi: float) -> np.ndarray:
    sd = np.maximum(sd, 1e-12)
    z = (mu - best - xi) / sd
    return (mu - best - xi) * norm.cdf(z) + sd * norm.pdf(z)


class SklearnGPOptimizer(Optimizer):
    """GP (Matern 5/2, ARD, white noise, normalised y) + EI maximised over random feasible candidates.

    Options: ``n_initial`` (Sobol points first; default max(4, d+1)), ``n_candidates`` (2000),
    ``xi`` (EI exploration margin in standardised units, 0.01).
    """

    strategy = "sklearn-gp"
    supports_multi_objective = False
    OPTIONS = {"n_initial": None, "n_candidates": 2000, "xi": 0.01}

    def _suggest(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, SuggestInfo]:
        n_init = self.options["n_initial"] or max(4, self.space.d + 1)
        util = [self._utility(r) if self._feasible(r) else None for r in self._rows]
        good = [u for u in util if u is not None]
        if len(self._rows) < n_init or len(good) < 2:
            return sobol_points(self, n, pending), {"acquisition": "sobol-initial"}
        worst = min(good)
        y = np.array([worst if u is None else u for u in util])
        X = self._scaled(np.array(self._X))
        ymu, ysd = y.mean(), y.std() or 1.0
        ys = (y - ymu) / ysd
        d = self.space.d
        kernel = ConstantKernel(1.0, (1e-2, 1e2)) * Matern(
            np.full(d, 0.3),  # pyright: ignore[reportArgumentType] - sklearn takes one scale per dimension
            (1e-2, 1e2),
            nu=2.5,
        ) + WhiteKernel(1e-3, (1e-6, 1e0))
        gp = GaussianProcessRegressor(
            kernel, normalize_y=False, n_restarts_optimizer=1, random_state=call_seed
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(X, ys)
        cands = sample_encoded(self.space, int(self.options["n_candidates"]), call_seed, method="random")
        C = self._scaled(cands)
        best = float(ys.max())
        Xa, ya = X, ys
        chosen: list[int] = []
        values: list[float] = []
        fitted = cast(Kernel, gp.kernel_)  # set by fit; the stub's type is a union of get_params' values
        fixed = GaussianProcessRegressor(
            fitted,
            optimizer=None,  # pyright: ignore[reportArgumentType] - None (keep the kernel) is documented
            normalize_y=False,
        )
        for p in list(self._scaled(pending)) + [None] * n:
            if p is None:
                model = gp if len(Xa) == len(X) else fixed.fit(Xa, ya)
                mu, sd = cast(tuple[np.ndarray, np.ndarray], model.predict(C, return_std=True))
                ei = _ei(mu, sd, best, float(self.options["xi"]))
                ei[chosen] = -np.inf
                k = int(np.argmax(ei))
                chosen.append(k)
                values.append(float(ei[k]))
                p = C[k]
            mu_p = (gp if len(Xa) == len(X) else fixed.fit(Xa, ya)).predict(p[None, :])
            Xa, ya = np.vstack([Xa, p]), np.append(ya, mu_p)
        params = fitted.get_params()
        model = {
            "kernel": str(fitted),
            "lengthscales": np.atleast_1d(params["k1__k2__length_scale"]).tolist(),
            "noise": float(params["k2__noise_level"]) * ysd**2,
        }
        return cands[chosen], {
            "acquisition": "ExpectedImprovement",
            "acquisition_value": values[0],
            "model": model,
        }

    def _scaled(self, E: np.ndarray) -> np.ndarray:
        """Encoded points with categorical indices scaled into [0, 1] like the continuous ones."""
        E = np.array(E, dtype=float).reshape(-1, self.space.d)
        up = self.space.upper
        return E / np.where(up > 0, up, 1.0)
