"""BoTorch, several objectives: qLogNoisyExpectedHypervolumeImprovement over per-outcome GPs.

Each objective's utility (higher is better) is computed from joint posterior samples of the outcome
GPs. The reference point is, per objective, its ``ref`` (outcome units) when given, else inferred
from the observed Pareto front (BoTorch's ``infer_reference_point``: slightly worse than the nadir).
Failures and outcome constraints are handled as in the single-objective strategy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import GenericMCMultiOutputObjective
from botorch.sampling import SobolQMCNormalSampler
from botorch.utils.multi_objective.hypervolume import infer_reference_point

from models.errors import OptimizerError
from models.objectives import MultiObjective, non_dominated
from models.optimizers.base import SuggestInfo
from models.optimizers.botorch_single import BoTorchOptimizer
from models.optimizers.surrogate import Surrogate

__all__ = ["BoTorchMultiOptimizer"]


class BoTorchMultiOptimizer(BoTorchOptimizer):
    """Multi-objective BO (see module docstring); a single composite objective is split into its terms.

    Options as :class:`BoTorchOptimizer`, with ``mc_samples`` defaulting to 64.
    """

    strategy = "botorch-mo"
    supports_multi_objective = True
    acquisition_name = "qLogNoisyExpectedHypervolumeImprovement"
    OPTIONS = {**BoTorchOptimizer.OPTIONS, "mc_samples": 64}

    def __init__(self, parameters: Any, objective: Any, **kw: Any):
        from models.objectives import Objective, make_objective

        obj = make_objective(objective)
        if isinstance(obj, Objective):
            obj = MultiObjective(obj.split())
        super().__init__(parameters, obj, **kw)

    def _multi(self) -> MultiObjective:
        """The objective, a :class:`MultiObjective` by construction (``__init__``)."""
        if not isinstance(self.objective, MultiObjective):
            raise OptimizerError(f"strategy {self.strategy!r} holds a {type(self.objective).__name__}")
        return self.objective

    def _ref_point(self) -> list[float]:
        objective = self._multi()
        given = [o.sign * o.ref if o.ref is not None else None for o in objective.objectives]
        known = [g for g in given if g is not None]
        if len(known) == len(given):
            return known
        Y = torch.tensor(
            [objective.utilities(r) for r in self._rows if self._feasible(r)], dtype=torch.float64
        )
        if len(Y) == 0:
            Y = torch.tensor(
                [objective.utilities(r) for r in self._rows if not self._failed(r)], dtype=torch.float64
            )
        front = Y[torch.as_tensor(non_dominated(Y.numpy(), deduplicate=True))]
        inferred = infer_reference_point(front).tolist()
        return [g if g is not None else v for g, v in zip(given, inferred)]

    def _acquisition(self, sur: Surrogate, sampler: SobolQMCNormalSampler) -> Any:
        utils = [sur.utility(o) for o in self._multi().objectives]
        ref = self._ref_point()
        self._last_ref = ref
        return qLogNoisyExpectedHypervolumeImprovement(
            sur.model,
            ref_point=ref,
            X_baseline=sur.X,
            sampler=sampler,
            objective=GenericMCMultiOutputObjective(
                lambda Z, X=None: torch.stack([u(Z) for u in utils], dim=-1)
            ),
            constraints=sur.constraints(
                self.outcome_constraints, float(self.options["feasibility_threshold"])
            )
            or None,
            prune_baseline=True,
            cache_root=False,
        )

    def _suggest(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, SuggestInfo]:
        U, info = super()._suggest(n, pending, call_seed)
        if info.get("acquisition") == self.acquisition_name:
            info["ref_point"] = self._last_ref
        return U, info
