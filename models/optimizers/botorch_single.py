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
from botorch.acquisition.logei import qLogExpectedImprovement, qLogNoisyExpectedImprovement
from botorch.acquisition.objective import GenericMCObjective
from botorch.sampling import SobolQMCNormalSampler
from linear_operator.utils.warnings import NumericalWarning

from models.errors import ConfigurationError
from models.optimizers.base import Optimizer, SuggestInfo
from models.optimizers.cost import CostWeighted
from models.optimizers.sobol import cheap_start_points, sobol_points
from models.optimizers.surrogate import Surrogate, _decode_torch, optimize_sequential

__all__ = ["BoTorchOptimizer"]


# A proposal cut short by the wall clock cannot be re-derived by replay, and one cut short on a loaded
# machine differs from the same proposal on an idle one, so effort is bounded by iterations and the clock
# is only a safety net far above a proposal's usual 0.5-3 s: still well inside one experiment (minutes),
# so the reactor never waits on it. (It was 2 s for ask/tell use: on a busy 2-core machine proposals at
# 30-60 observations reached it, and benchmark figures and the determinism tests depended on the load.)
TIME_BUDGET_S = 30.0


class BoTorchOptimizer(Optimizer):
    """GP Bayesian optimisation with BoTorch (see module docstring).

    Options: ``n_initial`` (Sobol points before the first model; default max(4, d): on cdse-green,
    6 repeats, 4 initial points reached the target in a median 11 experiments, 5 in 16.5 - measured
    before the simulator fix of docs/adr/0006),
    ``cheap_start`` (True: with a cost given to ``suggest``, the initial points are the cheapest of
    twice as many Sobol points, :func:`models.optimizers.sobol.cheap_start_points`; docs/adr/0015),
    ``num_restarts`` (3), ``raw_samples`` (96), ``maxiter`` (L-BFGS iterations per restart, 25),
    ``mc_samples`` (64), ``fit_maxiter`` (GP hyperparameter fit iterations, 30),
    ``nei_max_observations`` (40: above this many observations qLogEI with a posterior-mean incumbent
    replaces qLogNEI, whose joint sampling over every observation dominates the proposal time),
    ``time_budget_s`` (hard cap on acquisition optimisation, :data:`TIME_BUDGET_S`),
    ``max_categorical_combos`` (16),
    ``cache_root`` (BoTorch cached Cholesky for qLogNEI; False, it did not pay off here),
    ``feasibility_threshold`` (0.65: a candidate counts as feasible when the success-indicator GP
    exceeds it; 0.5 hugs failure boundaries, 0.8 is too timid - measured on a clog-boundary test),
    ``many_maxfun`` (16: acquisition evaluations per L-BFGS-B run above ``nei_max_observations``,
    which keeps p95 latency at 100 observations under 1 s; see docs/adr/0004),
    ``outcome_warp`` (``"yeo-johnson"``: the GP of each outcome the objective only maximises or
    minimises models a fitted Yeo-Johnson transform of it, HEBO's power warping; on the tuning problems,
    16 repeats, it cut the median experiments to target from 15.5 / 7 / 19.5 to 13 / 6 / 16.5 on
    branin / snar / hartmann6, while warping cdse-green's target-band outcomes too (``"all"``) took it
    from 6.5 to 7.5, docs/adr/0004; ``"oriented"``: the same outcomes, only their bad tail compressed;
    ``"none"``; :mod:`models.optimizers.warping`).
    """

    strategy = "botorch"
    supports_multi_objective = False
    supports_cost = True
    """With ``suggest(cost=...)`` the model's proposals maximise ``log EI - exponent * log(expected cost)``
    (:class:`models.optimizers.cost.CostWeighted`); before the first model, with ``cheap_start`` (default),
    the initial points are the cheapest of twice as many Sobol points
    (:func:`models.optimizers.sobol.cheap_start_points`)."""
    acquisition_name = "qLogNoisyExpectedImprovement"
    OPTIONS = {
        "n_initial": None,
        "cheap_start": True,
        "num_restarts": 3,
        "raw_samples": 96,
        "maxiter": 25,
        "mc_samples": 64,
        "fit_maxiter": 30,
        "time_budget_s": TIME_BUDGET_S,
        "max_categorical_combos": 16,
        "cache_root": False,
        "feasibility_threshold": 0.65,
        "nei_max_observations": 40,
        "many_maxfun": 16,
        "outcome_warp": "yeo-johnson",
    }

    WARPS = ("none", "yeo-johnson", "oriented", "all")

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        if self.options["outcome_warp"] not in self.WARPS:
            raise ConfigurationError(
                f"outcome_warp must be one of {list(self.WARPS)}, got {self.options['outcome_warp']!r}",
                key="options.outcome_warp",
            )

    def _modelled_outcomes(self) -> list[str]:
        names = list(self.objective.outcomes)
        names += [c.outcome for c in self.outcome_constraints if c.outcome not in names]
        return names

    def _warp(self) -> dict[str, tuple[float, bool]]:
        """Outcome -> (sign, oriented) for :class:`models.optimizers.warping.YeoJohnson` (option ``outcome_warp``):
        the outcomes every objective term of which maximises or minimises them (``"all"``: every
        objective outcome); an outcome named only by an outcome constraint is never warped."""
        mode = str(self.options["outcome_warp"])
        if mode == "none":
            return {}
        signs: dict[str, set[float]] = {}
        for objective in getattr(self.objective, "objectives", [self.objective]):
            for t in objective.terms:  # a simple objective's one term carries its goal
                if t.goal in ("maximize", "minimize"):
                    signs.setdefault(t.outcome, set()).add(1.0 if t.goal == "maximize" else -1.0)
                else:
                    signs.setdefault(t.outcome, set()).add(0.0)
        if mode == "all":
            return {name: (1.0, False) for name in signs}
        oriented = mode == "oriented"
        # unoriented, the sign is immaterial (the fitted lambda mirrors), so it is always +1
        return {
            name: (s.pop() if oriented else 1.0, oriented)
            for name, s in signs.items()
            if len(s) == 1 and 0.0 not in s
        }

    def _n_initial(self) -> int:
        return int(self.options["n_initial"] or max(4, self.space.d))

    def _initial_cost(self):
        """Expected cost of each of ``m x d`` encoded points (numpy), from the cost given to ``suggest``."""
        cost = self._cost
        assert cost is not None
        decode = _decode_torch(self.space)
        names = list(self.space.names)

        def cost_of(E: np.ndarray) -> np.ndarray:
            values = decode(torch.as_tensor(E, dtype=torch.float64))
            c = cost.hours({name: values[..., i] for i, name in enumerate(names)})
            return torch.as_tensor(c, dtype=torch.float64).expand(values.shape[:-1]).numpy()

        return cost_of

    def _ready(self) -> bool:
        n_init = self._n_initial()
        n_ok = sum(not self._failed(r) for r in self._rows)
        return len(self._rows) >= n_init and n_ok >= 2

    def _suggest(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, SuggestInfo]:
        if not self._ready():
            if self._cost is not None and self.options["cheap_start"]:
                return cheap_start_points(self, n, pending, self._n_initial(), self._initial_cost())
            return sobol_points(self, n, pending), {"acquisition": "sobol-initial"}
        # torch's thread count is the application's (lab.run.runtime.configure_numerics: one intra-op thread,
        # the same float reduction order on every machine, which replay relies on), never set here
        with warnings.catch_warnings():
            # jitter notices from Cholesky of near-duplicate points; the fit copes, the log need not show them
            warnings.simplefilter("ignore", NumericalWarning)
            return self._suggest_model(n, pending, call_seed)

    def _suggest_model(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, SuggestInfo]:
        o = self.options
        with torch.random.fork_rng():
            torch.manual_seed(call_seed)
            t0 = time.perf_counter()
            failed = [self._failed(r) for r in self._rows]
            many = len(self._rows) > int(o["nei_max_observations"])
            fit_maxiter = min(int(o["fit_maxiter"]), 15) if many else int(o["fit_maxiter"])
            sur = Surrogate.fit(
                self.space,
                np.array(self._X),
                self._rows,
                self._modelled_outcomes(),
                failed,
                fit_maxiter,
                warp=self._warp(),
            )
            sampler = SobolQMCNormalSampler(sample_shape=torch.Size([int(o["mc_samples"])]), seed=call_seed)
            acq = self._acquisition(sur, sampler)
            if self._cost is not None:
                acq = CostWeighted(acq, self._cost, _decode_torch(self.space), list(self.space.names))
            t1 = time.perf_counter()
            P = torch.tensor(pending, dtype=torch.float64) if len(pending) else None
            restarts, raw, maxiter = int(o["num_restarts"]), int(o["raw_samples"]), int(o["maxiter"])
            maxfun = None
            if many:
                # With many observations the model is well resolved and each acquisition evaluation
                # costs ~10 ms (three GP posteriors): one short restart, its line searches capped at
                # many_maxfun evaluations, keeps p95 latency at 100 observations at 0.8 s on an idle
                # 2-core machine (1.6-2.6 s uncapped; docs/adr/0004).
                restarts, raw, maxiter = min(restarts, 1), min(raw, 16), min(maxiter, 8)
                maxfun = int(o["many_maxfun"])
            U, values, timed_out = optimize_sequential(
                acq,
                self.space,
                n,
                P,
                num_restarts=restarts,
                raw_samples=raw,
                maxiter=maxiter,
                time_budget_s=float(o["time_budget_s"]),
                max_combos=int(o["max_categorical_combos"]),
                seed=call_seed,
                maxfun=maxfun,
            )
        info: SuggestInfo = {
            "acquisition": self.acquisition_name,
            "acquisition_value": values[0],
            "acquisition_values": values,
            "model": sur.summary,
            "timed_out": timed_out,
            "fit_s": round(t1 - t0, 4),
            "acquisition_s": round(time.perf_counter() - t1, 4),
        }
        if isinstance(acq, CostWeighted):
            with torch.no_grad():
                first = torch.as_tensor(U[:1], dtype=torch.float64).unsqueeze(0)
                info["expected_cost"] = float(acq.expected_cost(first)[0])
        return U, info

    def _acquisition(self, sur: Surrogate, sampler: SobolQMCNormalSampler) -> Any:
        util = sur.utility(self._single_objective())
        constraints = (
            sur.constraints(self.outcome_constraints, float(self.options["feasibility_threshold"])) or None
        )
        if len(sur.X) > int(self.options["nei_max_observations"]):
            # Beyond a few dozen observations qLogNEI's joint sampling over every observed point costs
            # more than the rest of the proposal; the incumbent is then well resolved, so qLogEI with
            # the best posterior-mean utility at an observed, feasible point is the cheaper equivalent.
            return qLogExpectedImprovement(
                sur.model,
                best_f=self._best_posterior_utility(sur, util),
                sampler=sampler,
                objective=GenericMCObjective(lambda Z, X=None: util(Z)),
                constraints=constraints,
            )
        return qLogNoisyExpectedImprovement(
            sur.model,
            X_baseline=sur.X,
            sampler=sampler,
            objective=GenericMCObjective(lambda Z, X=None: util(Z)),
            constraints=constraints,
            prune_baseline=True,
            cache_root=bool(self.options.get("cache_root", False)),
        )

    def _best_posterior_utility(self, sur: Surrogate, util: Any) -> float:
        """Max over observed successful points of the utility's posterior mean (MC estimate)."""
        ok = [i for i, r in enumerate(self._rows) if not self._failed(r)]
        X = torch.as_tensor(np.array(self._X)[ok], dtype=torch.float64)
        with torch.no_grad():
            post = sur.model.posterior(X)
            Z = SobolQMCNormalSampler(sample_shape=torch.Size([64]), seed=0)(post)
            mean_util = util(Z).mean(dim=0)
        return float(mean_util.max())
