"""The optimiser a campaign asks for, built the same way for a run, a resume and a replay."""

from __future__ import annotations

from typing import Any

from campaigns.spec import CampaignSpec
from models import make_optimizer
from models.outcomes import figure_names, outcome_references

__all__ = ["optimizer_for", "parameters_of", "campaign_row_outcomes"]


def parameters_of(spec: CampaignSpec) -> list[dict[str, Any]]:
    return [{"name": p.name, "low": p.low, "high": p.high, "log": p.log} for p in spec.search.parameters]


def campaign_row_outcomes(spec: CampaignSpec) -> tuple[str, ...]:
    """Outcome names a campaign's logged rows may carry: the figures of merit and whatever the
    objective and outcome constraints name (checked against the known outcomes when the campaign is
    loaded; a user reactor model's own names among them)."""
    named = [n for _, n in outcome_references(spec.objective, spec.outcome_constraints) if isinstance(n, str)]
    return tuple(dict.fromkeys((*figure_names(), *named)))


def optimizer_for(spec: CampaignSpec, *, seed: int | None = None, strategy: str | None = None) -> Any:
    """A fresh optimiser for ``spec`` (nothing ingested); its rows may carry :func:`campaign_row_outcomes`."""
    name = strategy or spec.strategy
    options = dict(spec.strategy_options)
    return make_optimizer(
        name,
        parameters=parameters_of(spec),
        objective=spec.parsed_objective,
        seed=spec.seed if seed is None else seed,
        constraints=spec.constraints or None,
        outcome_constraints=spec.outcome_constraints or None,
        options=options,
        outcomes=campaign_row_outcomes(spec),
    )
