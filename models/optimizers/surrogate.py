"""GP surrogates and acquisition optimisation shared by the BoTorch strategies.

Every observed outcome the objective or an outcome constraint needs gets its own GP
(``SingleTaskGP``, or ``MixedSingleTaskGP`` with a categorical kernel when there are categorical
parameters), in double precision, with ``Normalize`` inputs (explicit bounds of the encoded space)
and ``Standardize`` outcomes, trained on the rows that did not fail. When some experiments failed,
one more GP models the success indicator (1 ok, 0 failed) on all rows; the acquisition treats
"indicator >= 0.5" as an outcome constraint, i.e. it is multiplied by the posterior probability of
success, so the search stops proposing near clogs.
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from botorch.exceptions.errors import CandidateGenerationError
from botorch.exceptions.warnings import BotorchWarning, OptimizationWarning
from botorch.fit import fit_gpytorch_mll
from botorch.models import MixedSingleTaskGP, ModelListGP, SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.models.transforms.outcome import Standardize
from botorch.optim import optimize_acqf
from gpytorch.constraints import GreaterThan
from gpytorch.mlls import ExactMarginalLogLikelihood
from linear_operator.utils.warnings import NumericalWarning

from models.numbers import as_float
from models.objectives import Objective
from models.optimizers.space import Space
from models.optimizers.warping import YeoJohnson

__all__ = ["Surrogate", "fit_gp", "torch_utility", "optimize_sequential", "FEASIBLE"]

FEASIBLE = "__feasible__"
DTYPE = torch.float64


def fit_gp(
    X: torch.Tensor, Y: torch.Tensor, space: Space, maxiter: int, min_lengthscale: float | None = None
) -> SingleTaskGP:
    """Fit one GP to ``n x d`` encoded inputs and ``n x m`` outcomes (maximum marginal likelihood).

    With m > 1 the outputs are independent GPs batched into one model (one optimiser run).
    """
    m = Y.shape[-1]
    bounds = torch.tensor(np.stack([np.zeros(space.d), space.upper]), dtype=DTYPE)
    if space.cat_dims:
        idx = space.cont_dims
        tf = Normalize(space.d, indices=idx, bounds=bounds[:, idx]) if idx else None
        model = MixedSingleTaskGP(
            X, Y, cat_dims=space.cat_dims, input_transform=tf, outcome_transform=Standardize(m)
        )
    else:
        model = SingleTaskGP(
            X, Y, input_transform=Normalize(space.d, bounds=bounds), outcome_transform=Standardize(m)
        )
    if min_lengthscale:
        _floor_lengthscale(model, min_lengthscale)
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", (OptimizationWarning, NumericalWarning, BotorchWarning, RuntimeWarning)
        )
        try:
            fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": int(maxiter)}})
        except Exception:  # noqa: BLE001 - a failed fit keeps the prior-mode hyperparameters; still usable
            pass
    model.eval()
    return model


def _floor_lengthscale(model: Any, floor: float) -> None:
    """Lower-bound every lengthscale (normalised inputs): failures come in contiguous regions
    (concentrated, slow, hot), and a feasibility model that may shrink its lengthscale to the spacing of
    the data forgets a failure a few steps away from it."""
    for _, mod in model.named_modules():
        if getattr(mod, "has_lengthscale", False) and hasattr(mod, "raw_lengthscale_constraint"):
            ls = mod.lengthscale.detach().clamp_min(floor * 1.01)
            mod.raw_lengthscale_constraint = GreaterThan(floor)
            mod.lengthscale = ls


def _summary(model: Any, j: int = 0) -> dict[str, Any]:
    """Lengthscales (normalised inputs), noise variance (standardised units and as an outcome SD) of
    output ``j`` of a (possibly batched) fitted GP."""
    m = model.num_outputs
    out: dict[str, Any] = {"n_train": int(model.train_inputs[0].shape[-2])}
    scales = []
    for _, mod in model.named_modules():
        if getattr(mod, "has_lengthscale", False) and hasattr(mod, "lengthscale"):
            ls = mod.lengthscale.detach()
            ls = ls.reshape(m, -1)[j] if m > 1 and ls.numel() % m == 0 and ls.dim() > 2 else ls.reshape(-1)
            scales.append([round(float(v), 5) for v in ls])
    if scales:
        out["lengthscales"] = scales[0] if len(scales) == 1 else scales
    try:
        noise = float(model.likelihood.noise.detach().reshape(-1)[j if m > 1 else 0])
        std = float(model.outcome_transform.stdvs.reshape(-1)[j])
        out["noise"] = round(noise, 8)
        out["noise_sd_outcome_units"] = round(math.sqrt(noise) * std, 8)
    except (AttributeError, IndexError):
        pass
    return out


def torch_utility(objective: Objective, cols: dict[str, int]) -> Callable[[torch.Tensor], torch.Tensor]:
    """The objective's utility as a function of outcome samples ``... x m`` -> ``...``."""
    terms = [(cols[t.outcome], t) for t in objective.terms]
    sign = objective.sign if objective.simple else 1.0

    def f(Z: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(Z.shape[:-1], dtype=Z.dtype, device=Z.device)
        for c, t in terms:
            z = Z[..., c]
            if objective.simple:
                total = total + sign * z
            elif t.goal == "target":
                assert t.target is not None  # set with goal "target"
                total = total - t.weight * (z - t.target).abs() / t.scale
            elif t.goal == "within":
                assert t.within is not None  # set with goal "within"
                lo, hi = t.within
                total = total - t.weight * (torch.clamp(lo - z, min=0) + torch.clamp(z - hi, min=0)) / t.scale
            else:
                total = total + t.weight * (z if t.goal == "maximize" else -z) / t.scale
        return total

    return f


@dataclass
class Surrogate:
    """A ``ModelListGP`` with one output per name in ``outputs`` (outcomes, then maybe FEASIBLE)."""

    model: ModelListGP
    outputs: list[str]
    X: torch.Tensor  # n x d, all ingested rows
    summary: dict[str, Any] = field(default_factory=dict)
    warps: dict[int, YeoJohnson] = field(default_factory=dict)  # output column -> its warp

    def utility(self, objective: Objective) -> Callable[[torch.Tensor], torch.Tensor]:
        """:func:`torch_utility` of ``objective`` applied to this model's posterior samples (unwarped)."""
        util = torch_utility(objective, self.cols)
        return util if not self.warps else (lambda Z: util(self.unwarp(Z)))

    def unwarp(self, Z: torch.Tensor) -> torch.Tensor:
        """Posterior samples ``... x m`` in the outcomes' own units (the warped columns mapped back)."""
        if not self.warps:
            return Z
        cols = [
            self.warps[j].inverse(Z[..., j]) if j in self.warps else Z[..., j] for j in range(Z.shape[-1])
        ]
        return torch.stack(cols, dim=-1)

    @property
    def cols(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.outputs)}

    @classmethod
    def fit(
        cls,
        space: Space,
        X: np.ndarray,
        rows: Sequence[dict[str, Any]],
        outcomes: Sequence[str],
        failed: Sequence[bool],
        maxiter: int,
        feasibility_min_lengthscale: float | None = 0.2,
        warp: dict[str, tuple[float, bool]] | None = None,
    ) -> Surrogate:
        """``warp``: outcome name -> (sign, oriented) of a :class:`models.optimizers.warping.YeoJohnson`
        for that outcome's GP (the others are standardised)."""
        warp = warp or {}
        warps: dict[int, YeoJohnson] = {}
        Xt = torch.tensor(np.asarray(X), dtype=DTYPE)
        models, names, summary = [], [], {}
        ok = ~np.asarray(failed, dtype=bool)
        # one single-output GP per outcome: BoTorch's batched multi-output fit was several times slower
        for name in outcomes:
            y = np.array([as_float(r.get(name)) for r in rows], dtype=float)
            mask = ok & np.isfinite(y)
            Yt = torch.tensor(y[mask], dtype=DTYPE).unsqueeze(-1)
            if name in warp:
                warps[len(models)] = YeoJohnson(y[mask], *warp[name])
                Yt = warps[len(models)].forward(Yt)
            gp = fit_gp(Xt[torch.from_numpy(mask)], Yt, space, maxiter)
            summary[name] = _summary(gp)
            if len(models) in warps:
                # the GP's noise is in warped units, which have no sd in the outcome's own
                summary[name].pop("noise_sd_outcome_units", None)
                summary[name]["warp"] = warps[len(models)].summary()
            models.append(gp)
            names.append(name)
        if not ok.all():
            Yt = torch.tensor(ok.astype(float), dtype=DTYPE).unsqueeze(-1)
            gp = fit_gp(Xt, Yt, space, maxiter, feasibility_min_lengthscale)
            models.append(gp)
            names.append(FEASIBLE)
            summary["feasibility"] = _summary(gp)
        return cls(ModelListGP(*models), names, Xt, summary, warps)

    def constraints(
        self, outcome_constraints: Sequence[Any], feasibility_threshold: float = 0.5
    ) -> list[Callable[[torch.Tensor], torch.Tensor]]:
        """BoTorch constraint callables (<= 0 where satisfied) for the outcome constraints and for
        "success indicator >= feasibility_threshold"."""
        cols = self.cols
        out: list[Callable[[torch.Tensor], torch.Tensor]] = [
            (lambda Z, c=cols[oc.outcome], oc=oc: oc.slack(self.unwarp(Z)[..., c]))
            for oc in outcome_constraints
        ]
        if FEASIBLE in cols:
            out.append(lambda Z, c=cols[FEASIBLE], t=feasibility_threshold: t - Z[..., c])
        return out


def _decode_torch(space: Space) -> Callable[[torch.Tensor], torch.Tensor]:
    lows = torch.tensor([p.low for p in space.parameters], dtype=DTYPE)
    highs = torch.tensor([p.high for p in space.parameters], dtype=DTYPE)
    logs = torch.tensor([p.log for p in space.parameters])

    def dec(u: torch.Tensor) -> torch.Tensor:
        lin = lows + u * (highs - lows)
        lg = torch.exp(
            torch.log(lows.clamp_min(1e-300))
            + u * (torch.log(highs.clamp_min(1e-300)) - torch.log(lows.clamp_min(1e-300)))
        )
        return torch.where(logs, lg, lin)

    return dec


def _nonlinear(space: Space) -> list[tuple[Callable[[torch.Tensor], torch.Tensor], bool]]:
    dec = _decode_torch(space)
    index = {n: i for i, n in enumerate(space.names)}
    out = []
    for c in space.constraints:
        idx = torch.tensor([index[k] for k, _ in c.coefficients])
        coef = torch.tensor([a for _, a in c.coefficients], dtype=DTYPE)
        sgn = 1.0 if c.op == "<=" else -1.0

        def g(x: torch.Tensor, idx=idx, coef=coef, sgn=sgn, rhs=c.rhs) -> torch.Tensor:
            return sgn * (rhs - (dec(x)[..., idx] * coef).sum(-1))

        out.append((g, True))
    return out


_Constraint = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class _Search:
    """What every acquisition run of one :func:`optimize_sequential` call shares."""

    space: Space
    bounds: torch.Tensor
    num_restarts: int
    raw_samples: int
    maxiter: int
    maxfun: int | None
    ineq: list[tuple[torch.Tensor, torch.Tensor, float]] | None
    nonlin: list[tuple[_Constraint, bool]] | None

    @classmethod
    def of(
        cls, space: Space, num_restarts: int, raw_samples: int, maxiter: int, maxfun: int | None
    ) -> _Search:
        """Bounds of the encoded space and its constraints, linear in the encoding or not."""
        bounds = torch.tensor(np.stack([np.zeros(space.d), space.upper]), dtype=DTYPE)
        ineq = None
        nonlin = None
        if space.constraints and space.linear_in_encoding:
            ineq = [
                (torch.tensor(i, dtype=torch.long), torch.tensor(c, dtype=DTYPE), float(b))
                for i, c, b in space.encoded_inequalities()
            ]
        elif space.constraints:
            nonlin = _nonlinear(space)
        return cls(space, bounds, num_restarts, raw_samples, maxiter, maxfun, ineq, nonlin)


def _combos(space: Space, max_combos: int, seed: int) -> list[dict[int, float]]:
    """Every combination of the categorical values (index -> value), a seeded subset of ``max_combos``
    beyond that; ``[{}]`` without categorical parameters."""
    if not space.cat_dims:
        return [{}]
    levels = [range(len(space.parameters[i].levels)) for i in space.cat_dims]
    allc = [dict(zip(space.cat_dims, map(float, c))) for c in itertools.product(*levels)]
    if len(allc) > max_combos:
        pick = np.random.default_rng(seed).choice(len(allc), size=max_combos, replace=False)
        allc = [allc[i] for i in sorted(pick)]
    return allc


def _candidates(s: _Search, seed: int, fixed: dict[int, float]) -> torch.Tensor:
    """``raw_samples`` feasible random points with the categorical values ``fixed``."""
    from models.optimizers.base import sample_encoded

    cand = torch.tensor(sample_encoded(s.space, s.raw_samples, seed, method="random"), dtype=DTYPE)
    for i, val in fixed.items():
        cand[:, i] = val
    return cand


def _start_kwargs(acq: Any, s: _Search, cand: torch.Tensor) -> dict[str, Any]:
    """optimize_acqf's start: raw samples, or (nonlinear constraints) the best candidates."""
    if s.nonlin is None:
        return {"raw_samples": s.raw_samples}
    with torch.no_grad():
        vals = acq(cand.unsqueeze(1))
    top = torch.topk(vals, min(s.num_restarts, len(cand))).indices
    return {"nonlinear_inequality_constraints": s.nonlin, "batch_initial_conditions": cand[top].unsqueeze(1)}


def _gradient_point(
    acq: Any, s: _Search, fixed: dict[int, float], budget: float, kw: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """One L-BFGS-B run of the acquisition (q = 1); None when it fails the constraints."""
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", (OptimizationWarning, NumericalWarning, BotorchWarning, RuntimeWarning)
        )
        try:
            x, v = optimize_acqf(
                acq,
                s.bounds,
                q=1,
                num_restarts=s.num_restarts,
                options={
                    "maxiter": int(s.maxiter),
                    "batch_limit": 1 if s.nonlin else s.num_restarts,
                    **({"maxfun": int(s.maxfun)} if s.maxfun else {}),
                },
                inequality_constraints=s.ineq,
                fixed_features=fixed or None,
                timeout_sec=budget,
                retry_on_optimization_warning=False,
                **kw,
            )
        except CandidateGenerationError:
            return None
    assert v is not None  # only None with return_acq_values=False
    if s.space.constraints:
        u = x.reshape(-1).detach().numpy().copy()
        for i in s.space.cat_dims:
            u[i] = round(u[i])
        if not s.space.feasible(s.space.decode(u)):
            return None
    return x, v


def _best_candidate(acq: Any, cand: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw sample of highest acquisition value, and that value."""
    with torch.no_grad():
        vals = acq(cand.unsqueeze(1))
    best_i = int(torch.argmax(vals))
    return cand[best_i], vals[best_i]


def _optimize_combo(
    acq: Any, s: _Search, cand: torch.Tensor, fixed: dict[int, float], budget: float
) -> tuple[torch.Tensor, float, bool]:
    """(point, acquisition value, whether it ran into ``budget``) for one categorical combination."""
    kw = _start_kwargs(acq, s, cand)
    t0 = time.perf_counter()
    found = _gradient_point(acq, s, fixed, budget, kw)
    # the gradient optimiser failed the constraints: take the best feasible raw sample
    x, v = found if found is not None else _best_candidate(acq, cand)
    timed_out = time.perf_counter() - t0 >= 0.95 * budget
    return x.reshape(-1).detach(), float(v.reshape(-1)[0]), timed_out


def _rounded(space: Space, chosen: list[torch.Tensor]) -> np.ndarray:
    """The chosen points as ``n x d`` encoded rows: categorical indices rounded, the rest in [0, 1]."""
    U = torch.stack(chosen).numpy().copy()
    for i in space.cat_dims:
        U[:, i] = np.round(U[:, i])
    U[:, space.cont_dims] = np.clip(U[:, space.cont_dims], 0.0, 1.0)
    return U


def optimize_sequential(
    acq: Any,
    space: Space,
    n: int,
    pending: torch.Tensor | None,
    *,
    num_restarts: int,
    raw_samples: int,
    maxiter: int,
    time_budget_s: float,
    max_combos: int,
    seed: int,
    maxfun: int | None = None,
) -> tuple[np.ndarray, list[float], bool]:
    """Greedy sequential batch: pick ``n`` points one at a time, each later one with the earlier ones
    (and ``pending``) as X_pending. Categorical parameters: every combination of their values (at most
    ``max_combos``, a seeded subset beyond) is optimised with the others fixed; the best wins.

    ``maxfun`` caps acquisition evaluations per L-BFGS-B run (line searches included; ``maxiter`` alone
    lets a flat acquisition take ~20 evaluations per iteration).

    Returns ``n x d`` encoded points, their acquisition values and whether the time budget cut in.
    """
    s = _Search.of(space, num_restarts, raw_samples, maxiter, maxfun)
    combos = _combos(space, max_combos, seed)
    deadline = time.perf_counter() + time_budget_s
    timed_out = False
    chosen: list[torch.Tensor] = []
    values: list[float] = []
    calls_left = n * len(combos)
    base_pending = pending if pending is not None and len(pending) else None
    for k in range(n):
        parts = [p for p in (base_pending, torch.stack(chosen) if chosen else None) if p is not None]
        acq.set_X_pending(torch.cat(parts) if parts else None)
        best: tuple[torch.Tensor, float] | None = None
        for j, fixed in enumerate(combos):
            remaining = deadline - time.perf_counter()
            budget = max(remaining / calls_left, 0.05)
            calls_left -= 1
            cand = _candidates(s, seed + 7919 * k + j, fixed)
            x, v, late = _optimize_combo(acq, s, cand, fixed, budget)
            timed_out = timed_out or late
            if best is None or v > best[1]:
                best = (x, v)
        assert best is not None  # combos is never empty
        chosen.append(best[0])
        values.append(best[1])
    acq.set_X_pending(base_pending)
    return _rounded(space, chosen), values, timed_out
