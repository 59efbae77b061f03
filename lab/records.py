"""Experiments as the document log records them (the single source of truth)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from models.errors import LogError

__all__ = ["ExperimentRecord", "experiments_from_documents", "completed", "budget_in_force", "LOG_FORMAT",
           "BUDGET_PLAN"]

OUTCOME_PREFIX = "outcomes_"
LOG_FORMAT = 1
"""Version of what a start document carries (``log_format``). Format 1 is the first; a log whose
start documents lack the key predates versioning and is read as format 1 (the same layout). A log
from a newer qdlab is refused with a clear message rather than misread."""
BUDGET_PLAN = "budget"
"""``plan_name`` of the run (no events) that ``qdlab resume DIR --budget N`` logs before its experiments:
its start document carries ``budget`` (N, the budget from then on), ``previous_budget`` and
``completed`` (experiments done when it was set). campaign.toml is never rewritten."""


@dataclass
class ExperimentRecord:
    """One run: what was proposed, what was measured, how the run ended."""

    index: int
    uid: str
    conditions: dict[str, float]
    setpoints: dict[str, Any]
    decision: dict[str, Any]
    outcomes: dict[str, Any] = field(default_factory=dict)
    primary: dict[str, Any] = field(default_factory=dict)
    exit_status: str | None = None
    time: float = 0.0

    @property
    def completed(self) -> bool:
        """Data only when the run closed with ``success`` and its outcomes were recorded."""
        return self.exit_status == "success" and bool(self.outcomes)

    def outcome_row(self) -> dict[str, Any]:
        """Conditions and outcomes as one flat row, what an optimiser ingests."""
        row = dict(self.conditions)
        row.update({k: v for k, v in self.outcomes.items() if k not in ("objective", "pareto_front")})
        if not row.get("failure"):
            row["failure"] = None
        return row


def experiments_from_documents(docs: Iterable[tuple[str, dict]]) -> list[ExperimentRecord]:
    """All experiment runs in log order (completed or not)."""
    runs: dict[str, ExperimentRecord] = {}
    streams: dict[str, tuple[str, str]] = {}  # descriptor uid -> (run uid, stream name)
    for name, doc in docs:
        if name == "start" and "experiment_index" in doc:
            version = doc.get("log_format", 1)
            if not isinstance(version, int) or version > LOG_FORMAT:
                raise LogError(f"experiment {doc.get('experiment_index')}: log format {version!r} was written by a "
                               f"newer qdlab; this one reads formats up to {LOG_FORMAT}: upgrade qdlab to read it")
            runs[doc["uid"]] = ExperimentRecord(
                index=int(doc["experiment_index"]), uid=doc["uid"], conditions=dict(doc.get("conditions", {})),
                setpoints=dict(doc.get("setpoints", {})), decision=dict(doc.get("decision", {})),
                time=float(doc.get("time", 0.0)))
        elif name == "descriptor" and doc.get("run_start") in runs:
            streams[doc["uid"]] = (doc["run_start"], doc.get("name", "primary"))
        elif name == "event" and doc.get("descriptor") in streams:
            run_uid, stream = streams[doc["descriptor"]]
            record = runs[run_uid]
            if stream == "outcomes":
                record.outcomes = {k.removeprefix(OUTCOME_PREFIX): v for k, v in doc["data"].items()}
                if record.outcomes.get("failure") == "":
                    record.outcomes["failure"] = None
            elif stream == "primary":
                record.primary = dict(doc["data"])
        elif name == "stop" and doc.get("run_start") in runs:
            runs[doc["run_start"]].exit_status = doc.get("exit_status")
    return list(runs.values())


def completed(records: Iterable[ExperimentRecord]) -> list[ExperimentRecord]:
    """Completed experiments, one per index (the last completed run of an index wins), by index."""
    by_index: dict[int, ExperimentRecord] = {}
    for record in records:
        if record.completed:
            by_index[record.index] = record
    return [by_index[i] for i in sorted(by_index)]


def budget_in_force(docs: Iterable[tuple[str, dict]], budget: int) -> int:
    """The campaign's budget as its log has it: the one the last budget run (``qdlab resume --budget``)
    set, else ``budget`` (campaign.toml's). Like an experiment, a budget run counts only once its stop
    document says ``success``."""
    pending: dict[str, int] = {}
    for name, doc in docs:
        if name == "start" and doc.get("plan_name") == BUDGET_PLAN and isinstance(doc.get("budget"), int):
            pending[doc["uid"]] = doc["budget"]
        elif name == "stop" and doc.get("run_start") in pending and doc.get("exit_status") == "success":
            budget = pending.pop(doc["run_start"])
    return budget
