"""Reconstruct a campaign from its log alone and re-derive every decision."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from campaigns.cost import CostModel
from campaigns.scoring import is_multi, reached_at
from campaigns.strategy import optimizer_for
from campaigns.streams import PARAMETER_PREFIX
from lab.config.lab_toml import LabConfig
from lab.run.dynamic import Planner
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


def _logged_cost(record: ExperimentRecord) -> Any:
    """What ``suggest(cost=...)`` was given for ``record``'s proposal: its decision's logged cost inputs
    as the optimiser takes them, or None (a cost-blind campaign, or a confirmation)."""
    record_cost = record.decision.get("cost")
    return None if record_cost is None else CostModel.from_record(record_cost).for_optimizer()


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
        cost = _logged_cost(self.records[position])
        with PROPOSALS:  # a discarded background proposal may still be running in this process
            if pending:
                (proposal,) = self.optimizer.suggest(
                    1, pending=[before[j].parameters for j in pending], cost=cost
                )
            else:
                (proposal,) = self.optimizer.suggest(1, cost=cost)
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
    return _replay(data.spec, data.runs, data.lab)


def _same_values(a: Any, b: Any) -> bool:
    """Equal as logged: numbers within 1e-9, lists and tables element by element."""
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_same_values(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_values(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return a == b


class _DynamicSteps:
    """Each run of a dynamic campaign re-derived (lab.run.dynamic): the step the planner takes after the
    runs before it (an optimiser fed their observation rows), and each trajectory's assignments from its
    logged inlet history."""

    def __init__(self, spec: Any, records: list[ExperimentRecord], lab: dict[str, Any]):
        self.planner = Planner(spec, LabConfig.model_validate(lab))
        self.spec = spec
        self.records = records
        self.optimizer = optimizer_for(spec)
        self.fed = 0

    def __call__(self, position: int) -> dict[str, Any] | None:
        """A divergence of ``records[position]``, or None."""
        record = self.records[position]
        if self.fed > position:
            self.optimizer, self.fed = optimizer_for(self.spec), 0
        for r in self.records[self.fed : position]:
            self.optimizer.ingest(r.observation_rows())
        self.fed = position
        with PROPOSALS:
            step = self.planner.step(self.records[:position], self.optimizer, _logged_cost(record))
        if (step.trajectory is None) != (record.trajectory is None):
            kind = "trajectory" if step.trajectory is not None else "confirmation"
            return {"index": record.index, "reason": f"re-derived a {kind}, the log holds the other"}
        if not _same(step.parameters, record.parameters):
            return {"index": record.index, "logged": record.parameters, "rederived": step.parameters}
        if step.trajectory is not None and record.trajectory is not None:
            logged = {k: v for k, v in record.trajectory.items() if k != "before"}
            if not _same_values(step.trajectory.as_dict(), logged):
                return {
                    "index": record.index,
                    "reason": "the trajectory re-derived differs from the logged one",
                }
            for sample, a in zip(record.samples, self.planner.rederived_samples(record)):
                at = {
                    k.removeprefix(PARAMETER_PREFIX): v
                    for k, v in sample.items()
                    if k.startswith(PARAMETER_PREFIX)
                }
                if a.parameters is None:
                    same = all(v is None for v in at.values())
                else:
                    same = _same_values(at, a.parameters) and _same_values(sample.get("weight"), a.weight)
                if not same:
                    return {
                        "index": record.index,
                        "reason": f"the sample at {sample.get('t_s')} s re-derives to other conditions",
                    }
        return None


def _rederived(
    position: int, record: ExperimentRecord, rederive: _Proposals, steps: "_DynamicSteps | None"
) -> dict[str, Any] | None:
    """How ``record`` diverges from its re-derived decision, or None (a dynamic campaign's by ``steps``)."""
    if steps is not None:
        return steps(position)
    proposal = rederive(position)
    if isinstance(proposal, str):
        return {"index": record.index, "reason": proposal}
    if not _same(proposal, record.parameters):
        return {"index": record.index, "logged": record.parameters, "rederived": proposal}
    return None


def _replay(spec: Any, runs: list[ExperimentRecord], lab: dict[str, Any] | None = None) -> dict[str, Any]:
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
    dynamic = spec.protocol.mode == "dynamic"
    if dynamic and not lab:
        divergences.append({"index": None, "reason": "a dynamic campaign is replayed with its lab.toml"})
    rederive = _Proposals(spec, records)
    steps = _DynamicSteps(spec, records, lab) if dynamic and lab else None
    for position, record in enumerate(records):
        if record.index >= spec.budget:
            divergences.append(
                {"index": record.index, "reason": f"beyond the budget in force ({spec.budget})"}
            )
        found = None if dynamic and steps is None else _rederived(position, record, rederive, steps)
        if found is not None:
            divergences.append(found)
        row = record.outcome_row()
        entry = {
            "index": record.index,
            "conditions": record.parameters,
            "outcomes": {**record.outcomes, "objective": objective.value(row)},
            "reached": objective.reached(row) and record.trajectory is None,
        }
        if dynamic:
            entry["run"] = "trajectory" if record.trajectory is not None else "confirmation"
        experiments.append(entry)
    rows = [(r.index, r.outcome_row()) for r in records if r.trajectory is None]
    outcome_rows = [row for _, row in rows]
    k = incumbent(objective, outcome_rows, spec.outcome_constraints)
    best = None if k is None else next(e for e in experiments if e["index"] == rows[k][0])
    return {
        "campaign": spec.identity(),
        "experiments": experiments,
        "divergences": divergences,
        "incomplete_runs": sum(1 for r in runs if not r.completed),
        "best": best,
        "best_index": None if best is None else best["index"],
        "pareto_front": sorted(
            rows[j][0] for j in pareto_positions(objective, outcome_rows, spec.outcome_constraints)
        )
        if is_multi(objective)
        else None,
        "has_target": bool(objective.reached_ranges),
        "reached_at": reached_at(objective, rows) if objective.reached_ranges else None,
    }
