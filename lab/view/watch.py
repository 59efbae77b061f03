"""``qdlab watch DIR``: follow a running campaign from another terminal by tailing its document log.

Read-only: it never takes the directory's lock, so it can watch while ``qdlab run`` writes. It waits
for a campaign that is not there yet, and stops when the campaign has finished (budget done) or stopped
(its last run closed other than ``success``, or the log has not grown for longer than an experiment can
take), or on Ctrl-C (the campaign goes on).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

from campaigns.scoring import reached_at
from lab.view.console import LineState, duration, fmt, progress_text, volume_ml
from lab.config.files import load_campaign
from lab.store.records import (
    ExperimentRecord,
    Usage,
    budget_in_force,
    completed,
    experiments_from_documents,
    resource_use,
)
from lab.store.log_check import LogCheck, check_gaps
from lab.store.storage import LOG_NAME
from models.errors import LogError
from models.objectives import MultiObjective, failure_reason, incumbent

__all__ = [
    "LogTail",
    "CampaignState",
    "campaign_state",
    "render_state",
    "watch",
    "show_current_conditions",
    "line_fields",
    "usage_text",
    "STALE_FLOOR_S",
]

STALE_FLOOR_S = 120.0
"""A log that has not grown for this long (s, wall) may mean a stopped campaign (:func:`stale_after_s`)."""


class LogTail:
    """Incremental reader of ``documents.jsonl``: each :meth:`poll` returns the documents of new whole lines."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._offset = 0
        self._partial = b""
        self._inode: int | None = None
        self._lines = 0  # whole lines read so far
        self.numbered: list[tuple[int, str, dict]] = []
        """The last :meth:`poll`'s documents with their line numbers (from 1), for lab.store.log_check."""
        self.restarted = False
        """True after a :meth:`poll` that found the log replaced (``qdlab run --force``): it read it anew."""

    def poll(self) -> list[tuple[str, dict]]:
        self.restarted = False
        if not self.path.is_file():
            return []
        with open(self.path, "rb") as f:
            inode = os.fstat(f.fileno()).st_ino
            if f.seek(0, 2) < self._offset or (self._inode is not None and inode != self._inode):
                self._offset, self._partial, self.restarted = 0, b"", True  # replaced: start over
                self._lines = 0
            self._inode = inode
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # an unterminated line is still being written
        docs = []
        self.numbered = []
        for raw in lines:
            self._lines += 1
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
                docs.append((entry["name"], entry["doc"]))
            except (ValueError, KeyError, TypeError):
                continue  # a torn line: qdlab run sets it aside; nothing to show
            self.numbered.append((self._lines, *docs[-1]))
        return docs


@dataclass
class CampaignState:
    """What a watcher shows: progress, timing, the experiment running now and the best so far.

    ``status``: ``"waiting"`` (no campaign there yet), ``"starting"`` (no experiment yet), ``"running"``,
    ``"stopped"`` (``reason`` says why) or ``"finished"`` (budget done). ``reactor_s`` and
    ``reagents_ul``: reactor time (s) and each pump's reagent use (uL) so far (lab.store.records.resource_use).
    """

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
    status: str = "running"
    reason: str = ""
    has_target: bool = False
    reached_at: int | None = None
    reactor_s: float | None = None
    reagents_ul: dict[str, float] = field(default_factory=dict)
    figures: tuple[str, ...] = ()
    directory: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("extra", "figures")}


def _summary(record: ExperimentRecord, objective: Any, scalar: Any) -> dict[str, Any]:
    row = record.outcome_row()
    trajectory = record.trajectory is not None  # a dynamic campaign's path: its samples are its data
    return {
        "index": record.index,
        "conditions": record.parameters,
        "objective": scalar.value(row),
        "failure": (record.outcomes.get("failure") or None) if trajectory else failure_reason(objective, row),
        "outcomes": {k: v for k, v in record.outcomes.items() if k not in ("failure", "objective")},
        **({"samples": len(record.observation_rows())} if trajectory else {}),
    }


def line_fields(
    objective: Any, records: list[ExperimentRecord], outcome_constraints: Any = ()
) -> dict[str, Any]:
    """The progress line's view of completed experiments: the incumbent (:func:`models.objectives.incumbent`,
    as replay and the report pick it) and its figures of merit, the first experiment on target, failures
    and the last failure. ``outcome_constraints``: the campaign's (``spec.outcome_constraints``)."""
    rows = [(k, r.outcome_row()) for k, r in enumerate(records)]
    i = incumbent(objective, [row for _, row in rows], outcome_constraints)
    first = reached_at(objective, rows) if objective.reached_ranges else None
    reasons = [failure_reason(objective, row) for _, row in rows]
    best = records[i] if i is not None else None
    return {
        "best_index": None if best is None else best.index,
        "best": {} if best is None else {k: best.outcomes.get(k) for k in objective.outcomes},
        "reached_at": None if first is None else records[first].index,
        "failed": sum(1 for x in reasons if x),
        "last_index": records[-1].index if records else None,
        "last_failure": reasons[-1] if reasons else None,
    }


def usage_text(usage: Usage | None, *, reagents: dict[str, str] | None = None) -> str:
    """``reactor time 1h35m; dispensed cd 3.28 mL, se 2.32 mL, solvent 8.55 mL`` (cumulative), then what
    the experiment ``usage`` belongs to spent itself, when it measured: ``; last experiment 12m10s, cd
    0.21 mL, se 0.15 mL, solvent 0.6 mL``."""
    if usage is None:
        return "reactor time -"
    names = reagents or {}
    volumes = ", ".join(f"{names.get(p, p)} {volume_ml(v)}" for p, v in usage.cumulative_reagents_ul.items())
    text = f"reactor time {duration(usage.cumulative_reactor_s)}"
    text += f"; dispensed {volumes}" if volumes else ""
    if usage.reactor_s is not None:
        own = "".join(f", {names.get(p, p)} {volume_ml(v)}" for p, v in usage.reagents_ul.items())
        text += f"; last experiment {duration(usage.reactor_s)}{own}"
    return text


def stale_after_s(spec: Any, runs: list[ExperimentRecord], usage: list[Usage]) -> float:
    """How long (wall s) the log may stay unchanged while a campaign still runs.

    The longest an experiment may take on the reactor's clock (heater timeout, clog recovery, dead time
    and the protocol's residence times), scaled by how fast this log's experiments ran against that clock
    (wall s per reactor s: ~1 on a real rig, far less in simulated time; 1 before any has finished), twice,
    and never under :data:`STALE_FLOOR_S`.
    """
    p = spec.protocol
    tau = 0.0
    if runs and runs[-1].exit_status is None:
        tau = float(runs[-1].setpoints.get("residence_time_s") or 0.0)
    bound_s = p.heater_timeout + p.clog_recovery + (p.residence_times + 2.0) * tau
    ratios = [
        (r.stop_time - r.time) / u.reactor_s
        for r, u in zip(runs, usage)
        if r.stop_time is not None and r.time and u.reactor_s
    ]
    speed = max(ratios) if ratios else 1.0
    return max(STALE_FLOOR_S, 2.0 * speed * bound_s)


def _running(open_runs: list, now: float) -> dict | None:
    """The experiment being run now (the last run, still open), or None."""
    if not open_runs:
        return None
    r = open_runs[-1]
    return {"index": r.index, "conditions": r.parameters, "since_s": max(0.0, now - r.time)}


def _elapsed_and_eta(
    runs: list, done: int, budget: int, complete: bool, now: float
) -> tuple[float | None, float | None]:
    """Seconds since the first run began, and the time left at the pace so far (None once complete)."""
    starts = [r.time for r in runs if r.time]
    elapsed = (now - min(starts)) if starts else None
    eta = None
    if elapsed is not None and done and not complete:
        eta = elapsed / done * (budget - done)
    return elapsed, eta


def _latest_time(docs: list[tuple[str, dict]]) -> float | None:
    """The latest document time in the log, or None."""
    times = [d.get("time") for _, d in docs if isinstance(d.get("time"), (int, float))]
    return max(times) if times else None


def _best_and_last(
    records: list, objective: Any, first: Any, constraints: Any
) -> tuple[dict | None, dict | None]:
    """The incumbent's and the latest experiment's summaries (None without one)."""
    i = incumbent(objective, [r.outcome_row() for r in records], constraints)
    best = _summary(records[i], objective, first) if i is not None else None
    last = _summary(records[-1], objective, first) if records else None
    return best, last


def _status(
    spec: Any,
    docs: list[tuple[str, dict]],
    runs: list,
    usage: list,
    complete: bool,
    now: float,
    last_activity: float | None,
    stale_after: float | None,
) -> tuple[str, str]:
    """``(status, reason)``: finished, stopped (a run closed badly, or the log went quiet), starting or
    running (:func:`campaign_state`'s arguments)."""
    if last_activity is None:
        last_activity = _latest_time(docs)
    limit = stale_after_s(spec, runs, usage) if stale_after is None else stale_after
    idle = None if last_activity is None else max(0.0, now - last_activity)
    if complete:
        return "finished", ""
    if runs and runs[-1].exit_status not in (None, "success"):
        r = runs[-1]
        reason = f"experiment {r.index} closed with {r.exit_status}"
        reason += f" ({r.stop_reason})" if r.stop_reason else ""
        return "stopped", reason
    if idle is not None and idle > limit:
        return "stopped", f"the log has not grown for {duration(idle)} (no process writing it?)"
    if not runs:
        return "starting", ""
    return "running", ""


def campaign_state(
    spec: Any,
    docs: list[tuple[str, dict]],
    now: float | None = None,
    *,
    last_activity: float | None = None,
    stale_after: float | None = None,
) -> CampaignState:
    """The state of a campaign from the documents logged so far.

    ``now``: wall time (s since the epoch), for ETA and staleness; ``last_activity``: when the log last
    grew (default: its latest document's time); ``stale_after``: seconds without growth after which an
    unfinished campaign counts as stopped (default :func:`stale_after_s`).
    """
    now = time.time() if now is None else now
    objective = spec.parsed_objective
    first = objective.objectives[0] if isinstance(objective, MultiObjective) else objective
    budget = budget_in_force(docs, spec.budget)
    runs = experiments_from_documents(docs)
    records = completed(runs)
    usage = resource_use(runs)
    open_runs = [r for r in runs[-1:] if r.exit_status is None]  # an older open run was cut short
    running = _running(open_runs, now)
    fields = line_fields(objective, records, spec.outcome_constraints)
    best, last = _best_and_last(records, objective, first, spec.outcome_constraints)
    done = len(records)
    complete = done >= budget and not open_runs
    elapsed, eta = _elapsed_and_eta(runs, done, budget, complete, now)
    status, reason = _status(spec, docs, runs, usage, complete, now, last_activity, stale_after)
    total = usage[-1] if usage else None
    return CampaignState(
        spec.name,
        budget,
        done,
        fields["failed"],
        running,
        best,
        last,
        elapsed,
        eta,
        complete,
        objective=first.name,
        status=status,
        reason=reason,
        has_target=bool(objective.reached_ranges),
        reached_at=fields["reached_at"],
        reactor_s=None if total is None else total.cumulative_reactor_s,
        reagents_ul={} if total is None else dict(total.cumulative_reagents_ul),
        figures=tuple(objective.outcomes),
        extra={"fields": fields, "usage": total},
    )


class _Screen:
    """The watcher's screen, laid out at the console's width: the progress line, what the campaign is
    doing, reactor time and reagent use, and a table of running / last / best."""

    def __init__(self, state: CampaignState):
        self.state = state

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        state = self.state
        yield progress_text(_line_state(state), options.max_width)
        if state.status == "waiting":
            # folded, not cut: the whole path is what the operator checks
            yield Text(f"waiting for {state.directory or state.name}: no campaign there yet", overflow="fold")
            return
        yield _doing(state)
        yield Text(usage_text(state.extra.get("usage")), style="dim")
        table = _experiments_table(state)
        if table.row_count:
            yield table


def _line_state(state: CampaignState) -> LineState:
    """The progress line's state, as ``qdlab run`` shows it."""
    f = state.extra.get("fields", {})
    return LineState(
        name=state.name,
        budget=state.budget,
        done=state.done,
        failed=state.failed,
        eta_s=state.eta_s,
        best_index=f.get("best_index"),
        best=f.get("best", {}),
        has_target=state.has_target,
        reached_at=state.reached_at,
        status="" if state.status == "running" else state.status,
    )


def _doing(state: CampaignState) -> Text:
    """What the campaign is doing: stopped (and how to continue), finished, running or starting."""
    if state.status == "stopped":
        return Text(
            f"stopped: {state.reason}; continue with: qdlab resume {state.directory}".rstrip(),
            style="bold red",
        )
    if state.status == "finished":
        return Text(f"finished: {state.done} of {state.budget} experiments", style="bold green")
    if state.running:
        return Text(f"running experiment {state.running['index']} for {duration(state.running['since_s'])}")
    return Text(
        "starting (calibrating, or between experiments)"
        if state.status == "running"
        else "starting: no experiment yet"
    )


def _experiments_table(state: CampaignState) -> Table:
    """Running, last and best experiments, one row each (those there are)."""
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
        table.add_row(
            "now",
            str(r["index"]),
            *[fmt(r["conditions"].get(n)) for n in names],
            "-",
            f"measuring for {duration(r['since_s'])}",
        )
    for label, item in (("last", state.last), ("best", state.best)):
        if item:
            table.add_row(
                label,
                str(item["index"]),
                *[fmt(item["conditions"].get(n)) for n in names],
                fmt(item["objective"]),
                f"failed: {item['failure']}"
                if item["failure"]
                else (f"path, {item['samples']} samples" if "samples" in item else ""),
            )
    return table


def render_state(state: CampaignState) -> Any:
    """The watcher's screen for ``state`` (a rich renderable laid out at the console's width)."""
    return _Screen(state)


def _waiting(directory: Path) -> CampaignState:
    return CampaignState(
        directory.name,
        0,
        0,
        0,
        None,
        None,
        None,
        None,
        None,
        False,
        status="waiting",
        directory=str(directory),
    )


def _mtime(path: Path) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def watch(
    directory: Path,
    *,
    once: bool = False,
    interval_s: float = 1.0,
    console: Any = None,
    stale_after_s: float | None = None,
) -> CampaignState:
    """Follow ``directory`` until its campaign has finished or stopped (or Ctrl-C); with ``once``, look once.

    A directory without a campaign yet (``qdlab run`` has not written it) is waited for, not an error;
    with ``once`` a directory that does not exist is a :class:`LogError`.
    """
    from lab.view.console import out

    console = console or out
    directory = Path(directory)
    if once and not directory.is_dir():
        raise LogError(f"{directory}: no such campaign directory")
    look = _Look(directory, stale_after_s)
    state = look()
    if once:
        console.print(render_state(state))
        return state
    try:
        return _follow(state, look, console, interval_s, directory)
    except KeyboardInterrupt:
        console.print("stopped watching; the campaign goes on")
    return look.state


class _Look:
    """One look at ``directory`` per call: the log's new documents, checked as resume, replay and report
    check them, and the campaign's state."""

    def __init__(self, directory: Path, stale_after_s: float | None):
        self.directory = directory
        self.stale_after_s = stale_after_s
        self.tail = LogTail(directory / LOG_NAME)
        self.docs: list[tuple[str, dict]] = []
        self.spec: Any = None
        self.check: LogCheck | None = None
        self.state: CampaignState | None = None
        """The latest state returned."""

    def __call__(self) -> CampaignState:
        self.state = self._look()
        return self.state

    def _look(self) -> CampaignState:
        directory, tail = self.directory, self.tail
        if not (directory / "campaign.toml").is_file():  # qdlab run writes it first
            self.spec, self.docs = None, []
            return _waiting(directory)
        if self.spec is None:
            self.spec = load_campaign(directory / "campaign.toml", check_outcomes=False)
        new = tail.poll()
        if tail.restarted or self.check is None:  # qdlab run --force replaced the campaign
            if tail.restarted:
                self.docs, self.spec = [], load_campaign(directory / "campaign.toml", check_outcomes=False)
            self.check = LogCheck(str(directory / LOG_NAME), campaign_id=self.spec.id)
        for number, name, doc in tail.numbered:  # the one check of resume, replay and report
            self.check.feed(number, name, doc)
        self.docs.extend(new)
        check_gaps(self.check, experiments_from_documents(self.docs), directory=directory)
        activity = _mtime(directory / LOG_NAME) or _mtime(directory / "campaign.toml")
        state = campaign_state(self.spec, self.docs, last_activity=activity, stale_after=self.stale_after_s)
        state.directory = str(directory)
        return state


def _follow(
    state: CampaignState, look: _Look, console: Any, interval_s: float, directory: Path
) -> CampaignState:
    """Look every ``interval_s`` under a live screen until the campaign has finished or stopped."""
    from rich.live import Live

    said_waiting = False
    with Live(render_state(state), console=console, refresh_per_second=2, transient=False) as live:
        while True:
            if state.status == "waiting" and not said_waiting:  # also in a log file, not only on screen
                live.console.print(f"waiting for {directory}: no campaign there yet (Ctrl-C to stop)")
                said_waiting = True
            if state.status in ("finished", "stopped"):
                return state
            time.sleep(interval_s)
            state = look()
            live.update(render_state(state))


def show_current_conditions(line: Any, spec: Any) -> Any:
    """A RunEngine subscriber that puts the experiment starting now and its conditions in the progress
    line (``line``: a :class:`lab.view.console.CampaignLine`)."""
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
        line.state.running_text = ", ".join(
            f"{fmt(v)}{(' ' + units[k]) if units.get(k) else ''}"
            for k, v in doc.get("conditions", {}).items()
        )
        line.state.running_index = doc["experiment_index"]

    return on_document
