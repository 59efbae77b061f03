"""Reconstruct a campaign from its log alone and re-derive every decision."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from campaigns.cost import CostModel
from campaigns.scoring import is_multi, reached_at
from campaigns.strategy import optimizer_for
from lab.store.records import ExperimentRecord, in_log_order, missing_indices
from lab.run.ahead import PROPOSALS
from lab.run.runtime import configure_numerics
from lab.store.sources import open_directory
from models.objectives import incumbent, pareto_positions

__all__ = ["replay", "replay_data"]


def _same(a: dict, b: dict) -> bool:
    if set(a) != set(b):
        return False
    return all(math.isclose(float(a[k]), float(b[k]), rel_tol=1e-9, abs_tol=1e-9) for k in a)


class _Proposals:
    """Each experiment's proposal re-derived as its start document says it was made (``proposed_with``,
    lab.run.ahead): by an optimiser that has ingested the log's first ``observed`` completed experiments,
    in log order, with the logged conditions of the ``pending`` ones as pending points. Without the key:
    serially, every experiment before it ingested, none pending."""

    def __init__(self, spec: Any, records: list[ExperimentRecord]):
        self.spec = spec
        self.records = records
        self.optimizer = optimizer_for(spec)

    def __call__(self, position: int) -> dict[str, Any] | str:
        """The proposal for ``records[position]``, or why it cannot be re-derived."""
        how = self.records[position].proposed_with or {"observed": position, "pending": []}
        observed, pending = how.get("observed"), how.get("pending")
        if isinstance(observed, bool) or not isinstance(observed, int) or not 0 <= observed <= position:
            return f"proposed with {observed!r} experiments observed; {position} precede it in the log"
        before = {r.index: r for r in self.records[:position]}
        if not isinstance(pending, list) or any(j not in before for j in pending):
            return f"proposed with experiments {pending!r} pending, not all completed before it in the log"
        if observed < len(self.optimizer):
            self.optimizer = optimizer_for(self.spec)
        self.optimizer.ingest([r.outcome_row() for r in self.records[len(self.optimizer) : observed]])
        logged_cost = self.records[position].decision.get("cost")  # a cost-aware decision's inputs
        kwargs = {} if logged_cost is None else {"cost": CostModel.from_record(logged_cost).for_optimizer()}
        with PROPOSALS:  # a discarded background proposal may still be running in this process
            if pending:
                (proposal,) = self.optimizer.suggest(
                    1, pending=[before[j].parameters for j in pending], **kwargs
                )
            else:
                (proposal,) = self.optimizer.suggest(1, **kwargs)
        return proposal


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
    records = in_log_order(runs)
    # a directory's log with a gap is refused before this (lab.store.log_check); another source's is reported
    divergences = [
        {"index": i, "reason": f"experiment {i} is missing from the log"} for i in missing_indices(runs)
    ]
    experiments = []
    rederive = _Proposals(spec, records)
    for position, record in enumerate(records):
        if record.index >= spec.budget:
            divergences.append(
                {"index": record.index, "reason": f"beyond the budget in force ({spec.budget})"}
            )
        proposal = rederive(position)
        if isinstance(proposal, str):
            divergences.append({"index": record.index, "reason": proposal})
        elif not _same(proposal, record.parameters):
            divergences.append({"index": record.index, "logged": record.parameters, "rederived": proposal})
        row = record.outcome_row()
        value = objective.value(row)
        experiments.append(
            {
                "index": record.index,
                "conditions": record.parameters,
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
