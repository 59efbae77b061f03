"""Cost-aware acquisition: expected improvement per expected cost (docs/adr/0015).

A :class:`CostAware` carries what a strategy needs to weigh a candidate's expected cost: ``hours``, a
plain callable from a candidate's values in user units (parameter name -> torch tensor of any batch
shape) to its expected cost (positive, e.g. hours of reactor time; only ratios between candidates
matter), and ``exponent``, how much that cost counts. :class:`CostWeighted` wraps a log-valued
acquisition (BoTorch's qLogEI / qLogNEI) as ``log a(x) - exponent * log cost(x)``: with exponent 1 it
is (log) improvement per unit cost, with 0 it is the plain acquisition; a caller anneals it towards 0
as its budget is spent (EI-cool, Lee et al. 2020), so early proposals favour cheap experiments and
late ones chase the improvement wherever it is.

The cost is any torch expression of the values (arithmetic, ``abs``), so the wrapped acquisition stays
differentiable and L-BFGS-B optimises it as it does the plain one. ``record`` is what the caller wants
recorded of it in the decision (its inputs), so a replay can rebuild the same cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from botorch.acquisition import AcquisitionFunction

__all__ = ["CostAware", "CostWeighted"]

COST_FLOOR = 1e-9
"""Costs below this are taken as this (log of zero is no preference)."""


@dataclass(frozen=True)
class CostAware:
    """A candidate's expected cost and its weight (see the module docstring)."""

    hours: Callable[[Mapping[str, torch.Tensor]], torch.Tensor]
    exponent: float = 1.0
    record: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.exponent) <= 10.0:
            raise ValueError(f"cost exponent must lie in [0, 10], got {self.exponent!r}")


class CostWeighted(AcquisitionFunction):
    """``base(X) - exponent * log(sum over the q points of cost)`` for a log-valued ``base``.

    ``decode`` maps encoded points (``... x d``) to user units; ``names`` are the columns' parameter
    names, in order."""

    def __init__(
        self,
        base: AcquisitionFunction,
        cost: CostAware,
        decode: Callable[[torch.Tensor], torch.Tensor],
        names: list[str],
    ):
        super().__init__(model=base.model)
        self.base = base
        self.cost = cost
        self.decode = decode
        self.names = list(names)

    def expected_cost(self, X: torch.Tensor) -> torch.Tensor:
        """Expected cost of each batch of ``X`` (``b x q x d`` -> ``b``): the sum over its q points."""
        values = self.decode(X)
        c = self.cost.hours({n: values[..., i] for i, n in enumerate(self.names)})
        c = torch.as_tensor(c, dtype=X.dtype).expand(X.shape[:-1])
        return c.clamp_min(COST_FLOOR).sum(-1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        value = self.base(X)
        if float(self.cost.exponent) == 0.0:
            return value
        return value - float(self.cost.exponent) * torch.log(self.expected_cost(X))

    def set_X_pending(self, X_pending: torch.Tensor | None = None) -> None:
        self.base.set_X_pending(X_pending)
