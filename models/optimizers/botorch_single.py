"""BoTorch, one objective: per-outcome GPs, qLogNoisyExpectedImprovement on the scalarised objective.

The objective's outcomes are modelled separately (``ModelListGP``) and the scalar utility is applied
to joint posterior samples through a ``GenericMCObjective``: for a target term ``-|x - T|/S`` the GP
sees the smooth physical outcome (e.g. the PL peak rising with temperature) rather than a folded,
kinked utility, which typically reaches a target in fewer experiments. Failed rows train a
feasibility GP (see :mod:`models.optimizers.surrogate`); outcome constraints are constrained-qLogNEI
constraints; linear parameter constraints go to ``optimize_acqf``.

Determinism: each call runs under ``torch.random.fork_rng`` seeded with the call seed; the QMC
sampler is seeded too. The only wall-clock dependence is the ``time_budget_s`` safety net on
acquisition optimisation; effort caps (``num_restarts``, ``raw_samples``, ``maxiter``) are chosen so
it does not cut in in normal use, and ``last_decision()["timed_out"]`` says when it did (a replay of
such a decision may legitimately differ).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import torch
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.acquisition.objective import GenericMCObjective
from botorch.sampling import SobolQMCNormalSampler
from linear_operator.utils.warnings import NumericalWarning

from models.optimizers.base import Optimizer
from models.optimizers.sobol import sobol_points
from models.optimizers.surrogate import Surrogate, optimize_sequential, torch_utility

__all__ = ["BoTorchOptimizer"]


class BoTorchOptimizer(Optimizer):
    """GP Bayesian optimisation with BoTorch (see module docstring).

    Options: ``n_initial`` (Sobol points before the first model; default max(4, d+1)),
    ``num_restarts`` (4), ``raw_samples`` (128), ``maxiter`` (L-BFGS iterations per restart, 30),
    ``mc_samples`` (128), ``fit_maxiter`` (GP hyperparameter fit iterations, 50),
    ``time_budget_s`` (hard cap on acquisition optimisation, 2.0), ``max_categorical_combos`` (16),
    ``cache_root`` (BoTorch cached Cholesky for qLogNEI; False, it did not pay off here),
    ``feasibility_threshold`` (0.65: a candidate counts as feasible when the success-indicator GP
    exceeds it; 0.5 hugs failure boundaries, 0.8 is too timid - measured on a clog-boundary test),
    ``num_threads`` (torch intra-op threads while proposing, 1; restored afterwards).
    """

    strategy = "botorch"
    supports_multi_objective = False
    acquisition_name = "qLogNoisyExpectedImprovement"
    OPTIONS = {
        "n_initial": None,
        "num_restarts": 4,
        "raw_samples": 128,
        "maxiter": 30,
        "mc_samples": 128,
        "fit_maxiter": 50,
        "time_budget_s": 2.0,
        "max_categorical_combos": 16,
        "cache_root": False,
        "feasibility_threshold": 0.65,
        "num_threads": 1,
    }

    def _modelled_outcomes(self) -> list[str]:
        names = list(self.objective.outcomes)
        names += [c.outcome for c in self.outcome_constraints if c.outcome not in names]
        return names

    def _ready(self) -> bool:
        n_init = self.options["n_initial"] or max(4, self.space.d + 1)
        n_ok = sum(not self._failed(r) for r in self._rows)
        return len(self._rows) >= n_init and n_ok >= 2

    def _suggest(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        if not self._ready():
            return sobol_points(self, n, pending), {"acquisition": "sobol-initial"}
        o = self.options
        threads = torch.get_num_threads()
        # one intra-op thread: faster for GPs of a few hundred points (no spin contention) and the
        # same float reduction order on every machine, which replay relies on
        torch.set_num_threads(int(o["num_threads"]))
        try:
            with warnings.catch_warnings():
                # jitter notices from Cholesky of near-duplicate points; the fit copes, the log need not show them
                warnings.simplefilter("ignore", NumericalWarning)
                return self._suggest_model(n, pending, call_seed)
        finally:
            torch.set_num_threads(threads)

    def _suggest_model(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        o = self.options
        with torch.random.fork_rng():
            torch.manual_seed(call_seed)
            t0 = time.perf_counter()
            failed = [self._failed(r) for r in self._rows]
            sur = Surrogate.fit(self.space, np.array(self._X), self._rows, self._modelled_outcomes(), failed,
                                int(o["fit_maxiter"]))
            sampler = SobolQMCNormalSampler(sample_shape=torch.Size([int(o["mc_samples"])]), seed=call_seed)
            acq = self._acquisition(sur, sampler)
            t1 = time.perf_counter()
            P = torch.tensor(pending, dtype=torch.float64) if len(pending) else None
            U, values, timed_out = optimize_sequential(
                acq, self.space, n, P, num_restarts=int(o["num_restarts"]), raw_samples=int(o["raw_samples"]),
                maxiter=int(o["maxiter"]), time_budget_s=float(o["time_budget_s"]),
                max_combos=int(o["max_categorical_combos"]), seed=call_seed)
        return U, {
            "acquisition": self.acquisition_name,
            "acquisition_value": values[0],
            "acquisition_values": values,
            "model": sur.summary,
            "timed_out": timed_out,
            "fit_s": round(t1 - t0, 4),
            "acquisition_s": round(time.perf_counter() - t1, 4),
        }

    def _acquisition(self, sur: Surrogate, sampler: SobolQMCNormalSampler) -> Any:
        util = torch_utility(self.objective, sur.cols)
        return qLogNoisyExpectedImprovement(
            sur.model,
            X_baseline=sur.X,
            sampler=sampler,
            objective=GenericMCObjective(lambda Z, X=None: util(Z)),
            constraints=sur.constraints(self.outcome_constraints, float(self.options["feasibility_threshold"])) or None,
            prune_baseline=True,
            cache_root=bool(self.options.get("cache_root", False)),
        )
