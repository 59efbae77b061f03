"""The optimiser a campaign asks for, built the same way for a run, a resume and a replay."""

from __future__ import annotations

from typing import Any

from campaigns.spec import CampaignSpec
from models import make_optimizer

__all__ = ["optimizer_for", "parameters_of"]


def parameters_of(spec: CampaignSpec) -> list[dict[str, Any]]:
    return [{"name": p.name, "low": p.low, "high": p.high, "log": p.log} for p in spec.search.parameters]


def optimizer_for(spec: CampaignSpec, *, seed: int | None = None, strategy: str | None = None) -> Any:
    """A fresh optimiser for ``spec`` (nothing ingested)."""
    return make_optimizer(strategy or spec.strategy, parameters=parameters_of(spec), objective=spec.objective,
                          seed=spec.seed if seed is None else seed, **spec.strategy_options)
