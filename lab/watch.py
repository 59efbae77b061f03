"""``qdlab watch DIR``: follow a running campaign from another terminal by tailing its document log.

Read-only: it never takes the directory's lock, so it can watch while ``qdlab run`` writes. It stops
when the campaign's budget is complete, or on Ctrl-C (the campaign goes on).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from lab.files import load_campaign
from lab.records import ExperimentRecord, budget_in_force, completed, experiments_from_documents
from lab.storage import LOG_NAME
from models.errors import LogError
from models.objective import MultiObjective, make_objective

__all__ = ["LogTail", "CampaignState", "campaign_state", "render_state", "watch", "show_current_conditions"]


class LogTail:
    """Incremental reader of ``documents.jsonl``: each :meth:`poll` returns the documents of new whole lines."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._offset = 0
        self._partial = b""

    def poll(self) -> list[tuple[str, dict]]:
        if not self.path.is_file():
            return []
        with open(self.path, "rb") as f:
            if f.seek(0, 2) < self._offset:  # the log was replaced (qdlab run --force): start over
                self._offset, self._partial = 0, b""
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # an unterminated line is still being written
        docs = []
        for raw in lines:
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
                docs.append((entry["name"], entry["doc"]))
            except (ValueError, KeyError, TypeError):
                continue  # a torn line: qdlab run sets it aside; nothing to show
        return docs


@dataclass
class CampaignState:
    """What a watcher shows: progress, timing, the experiment running now and the best so far."""

    name: str
    budget: int
    done: int
    failed: int
    running: dict[str, Any] | None
    best: dict[str, Any] | None
    last: dict[str, Any] | None
    elapsed_s: float | None
    eta_s: float | None
    complete: bool
    objective: str = "objective"
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "extra"}


def _summary(record: ExperimentRecord, objective: Any) -> dict[str, Any]:
    row = record.outcome_row()
    value = objective.value(row)
    return {"index": record.index, "conditions": record.conditions, "objective": value,
            "failure": record.outcomes.get("failure"),
            "outcomes": {k: v for k, v in record.outcomes.items() if k not in ("failure", "objective")}}


def campaign_state(spec: Any, docs: list[tuple[str, dict]], now: float | None = None) -> CampaignState:
    """The state of a campaign from the documents logged so far (``now``: wall time, for ETA)."""
    now = time.time() if now is None else now
    objective = make_objective(spec.objective)
    first = objective.objectives[0] if isinstance(objective, MultiObjective) else objective
    runs = experiments_from_documents(docs)
    records = completed(runs)
    open_runs = [r for r in runs[-1:] if r.exit_status is None]  # an older open run was cut short
    running = None
    if open_runs:
        r = open_runs[-1]
        running = {"index": r.index, "conditions": r.conditions, "since_s": max(0.0, now - r.time)}
    scored = [(first.utility(r.outcome_row()), r) for r in records]
    scored = [(u, r) for u, r in scored if u is not None]
    best = _summary(max(scored, key=lambda t: t[0])[1], first) if scored else None
    last = _summary(records[-1], first) if records else None
    done = len(records)
    starts = [r.time for r in runs if r.time]
    elapsed = (now - min(starts)) if starts else None
    budget = budget_in_force(docs, spec.budget)
    complete = done >= budget and not open_runs
    eta = None
    if elapsed is not None and done and not complete:
        eta = elapsed / done * (budget - done)
    return CampaignState(spec.name, budget, done, sum(1 for r in records if r.outcomes.get("failure")),
                         running, best, last, elapsed, eta, complete, objective=first.name)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def render_state(state: CampaignState) -> Group:
    """The watcher's screen: one progress line and a table of running / last / best."""
    status = "complete" if state.complete else ("running" if state.running else "waiting")
    head = Text.assemble((f"{state.name}", "bold"), f"  {state.done}/{state.budget} experiments",
                         f" ({state.failed} failed)" if state.failed else "", f"  {status}",
                         f"  elapsed {_duration(state.elapsed_s)}  ETA {_duration(state.eta_s)}")
    names: list[str] = []
    for item in (state.running, state.last, state.best):
        for k in (item or {}).get("conditions", {}):
            if k not in names:
                names.append(k)
    table = Table(show_header=True, header_style="bold", box=None)
    for col in ["", "#", *names, state.objective, "note"]:
        table.add_column(col, justify="right")
    if state.running:
        r = state.running
        table.add_row("now", str(r["index"]), *[_fmt(r["conditions"].get(n)) for n in names], "-",
                      f"measuring for {_duration(r['since_s'])}")
    for label, item in (("last", state.last), ("best", state.best)):
        if item:
            table.add_row(label, str(item["index"]), *[_fmt(item["conditions"].get(n)) for n in names],
                          _fmt(item["objective"]), f"failed: {item['failure']}" if item["failure"] else "")
    return Group(head, table)


def watch(directory: Path, *, once: bool = False, interval_s: float = 1.0, console: Any = None) -> CampaignState:
    """Follow ``directory`` until its budget is complete (or Ctrl-C); with ``once``, read it once."""
    from rich.live import Live

    from lab.console import err

    console = console or err
    directory = Path(directory)
    if not directory.is_dir():
        raise LogError(f"{directory}: no such campaign directory")
    deadline = time.monotonic() + 60.0
    while not (directory / "campaign.toml").is_file():  # qdlab run writes it first
        if once or time.monotonic() > deadline:
            raise LogError(f"{directory}: not a campaign directory (no campaign.toml)")
        time.sleep(interval_s)
    spec = load_campaign(directory / "campaign.toml", check_outcomes=False)  # a record: read it as it runs
    tail = LogTail(directory / LOG_NAME)
    docs = tail.poll()
    state = campaign_state(spec, docs)
    if once:
        console.print(render_state(state))
        return state
    try:
        with Live(render_state(state), console=console, refresh_per_second=2, transient=False) as live:
            while not state.complete:
                time.sleep(interval_s)
                docs.extend(tail.poll())
                state = campaign_state(spec, docs)
                live.update(render_state(state))
    except KeyboardInterrupt:
        console.print("stopped watching; the campaign goes on")
    return state


def show_current_conditions(progress: Any, task: Any, spec: Any) -> Any:
    """A RunEngine subscriber that puts the conditions of the experiment starting now in the progress line."""
    from campaigns.spec import parameter_unit

    units = {}
    for p in spec.search.parameters:
        try:
            units[p.name] = parameter_unit(p.name, spec.search.kind)
        except ValueError:
            units[p.name] = ""

    def on_document(name: str, doc: dict) -> None:
        if name != "start" or "experiment_index" not in doc:
            return
        conditions = ", ".join(f"{k} {_fmt(v)}{(' ' + units[k]) if units.get(k) else ''}"
                               for k, v in doc.get("conditions", {}).items())
        progress.update(task, description=f"{spec.name} [dim]#{doc['experiment_index']}: {conditions}[/]")

    return on_document
