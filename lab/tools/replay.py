"""Reconstruct a campaign from its log alone and re-derive every decision."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from campaigns.cost import CostModel
from campaigns.scoring import is_multi, reached_at
from campaigns.strategy import optimizer_for
from lab.store.records import ExperimentRecord, in_log_order, missing_indices
from lab.run.runtime import configure_numerics
from lab.store.sources import open_directory
from models.objectives import incumbent, pareto_positions

__all__ = ["replay", "replay_data"]


def _same(a: dict, b: dict) -> bool:
    if set(a) != set(b):
        return False
    return all(math.isclose(float(a[k]), float(b[k]), rel_tol=1e-9, abs_tol=1e-9) for k in a)


def replay(directory: Path) -> dict[str, Any]:
    """``{"campaign", "experiments", "divergences", "best", "best_index", "reached_at", ...}``: ``best`` is
    the incumbent's entry of ``experiments`` and ``best_index`` its index (both None without a feasible
    experiment; :func:`models.objectives.incumbent`, as ``optimizer.best()`` picks it); ``divergences`` is empty
    when re-deriving every proposal from the log with the logged seed gives the logged conditions, within
    the budget in force (campaign.toml's, or the one ``qdlab resume --budget`` logged)."""
    return replay_data(open_directory(directory))


def replay_data(data: Any) -> dict[str, Any]:
    """:func:`replay` of a campaign already read (a :class:`lab.store.sources.CampaignData`, e.g. from Tiled)."""
    return _replay(data.spec, data.runs)


def _replay(spec: Any, runs: list[ExperimentRecord]) -> dict[str, Any]:
    """Re-derive in the order the log completed the experiments (the order the optimiser learnt them:
    an experiment re-run to fill a gap comes after those proposed before it)."""
    objective = spec.parsed_objective
    configure_numerics()
    optimizer = optimizer_for(spec)
    records = in_log_order(runs)
    # a directory's log with a gap is refused before this (lab.store.log_check); another source's is reported
    divergences = [
        {"index": i, "reason": f"experiment {i} is missing from the log"} for i in missing_indices(runs)
    ]
    experiments = []
    for record in records:
        if record.index >= spec.budget:
            divergences.append(
                {"index": record.index, "reason": f"beyond the budget in force ({spec.budget})"}
            )
        logged_cost = record.decision.get("cost")  # a cost-aware decision's inputs, as it was made
        cost = None if logged_cost is None else CostModel.from_record(logged_cost).for_optimizer()
        (proposal,) = optimizer.suggest(1, cost=cost)
        if not _same(proposal, record.conditions):
            divergences.append({"index": record.index, "logged": record.conditions, "rederived": proposal})
        row = record.outcome_row()
        optimizer.ingest([row])
        value = objective.value(row)
        experiments.append(
            {
                "index": record.index,
                "conditions": record.conditions,
                "outcomes": {**record.outcomes, "objective": value},
                "reached": objective.reached(row),
            }
        )
    rows = [(r.index, r.outcome_row()) for r in records]
    outcome_rows = [row for _, row in rows]
    k = incumbent(objective, outcome_rows, spec.outcome_constraints)
    return {
        "campaign": spec.identity(),
        "experiments": experiments,
        "divergences": divergences,
        "incomplete_runs": sum(1 for r in runs if not r.completed),
        "best": None if k is None else experiments[k],
        "best_index": None if k is None else experiments[k]["index"],
        "pareto_front": sorted(
            rows[j][0] for j in pareto_positions(objective, outcome_rows, spec.outcome_constraints)
        )
        if is_multi(objective)
        else None,
        "has_target": bool(objective.reached_ranges),
        "reached_at": reached_at(objective, rows) if objective.reached_ranges else None,
    }
