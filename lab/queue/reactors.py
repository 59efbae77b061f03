"""What each reactor of an agent-driven campaign spent, from its log: experiments and reactor-clock time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campaigns.scoring import reached_at
from lab.store.records import CLOCK_KEY
from lab.store.storage import LOG_NAME, read_documents

__all__ = ["reactor_times"]


def reactor_times(result: Any) -> dict[str, Any]:
    """For a finished :class:`lab.run.session.SessionResult`: each reactor's experiments and clock at its
    last measurement (``reactor_s``, s: simulated or real, the reactor's own time since its server
    started), the target's experiment (``reached_at``, None if not reached), how many experiments the log
    had completed when it was reached (``experiments_to_target``) and its reactor's clock then
    (``reactor_s_to_target``): with several reactors running at once, the campaign's time to target."""
    reactor_of = {
        doc["uid"]: str(doc.get("reactor", "?"))
        for name, doc in read_documents(Path(result.directory) / LOG_NAME)
        if name == "start" and "experiment_index" in doc
    }
    clock: dict[str, float] = {}
    count: dict[str, int] = {}
    for record in result.records:
        name = reactor_of.get(record.uid, "?")
        count[name] = count.get(name, 0) + 1
        if isinstance(record.primary.get(CLOCK_KEY), (int, float)):
            clock[name] = max(clock.get(name, 0.0), float(record.primary[CLOCK_KEY]))
    rows = [(r.index, r.outcome_row()) for r in result.records]
    target = reached_at(result.objective, rows) if result.objective.reached_ranges else None
    at = next((k for k, r in enumerate(result.records) if r.index == target), None)
    return {
        "reactor_s": clock,
        "experiments_on": count,
        "reached_at": target,
        "experiments_to_target": None if at is None else at + 1,
        "reactor_s_to_target": None
        if at is None
        else float(result.records[at].primary.get(CLOCK_KEY) or 0.0),
    }
