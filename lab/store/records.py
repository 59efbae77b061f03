"""Experiments as the document log records them (the single source of truth)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from campaigns.flow import dispensed_ul
from campaigns.streams import DECISION_STREAM, HEATER_STREAM, INLET_STREAM, SAMPLE_STREAM, sample_rows
from campaigns.transient import thin
from lab.store.storage import encode
from models.errors import LogError

__all__ = [
    "ExperimentRecord",
    "RecordBuilder",
    "experiments_from_documents",
    "completed",
    "in_log_order",
    "missing_indices",
    "budget_in_force",
    "LOG_FORMAT",
    "BUDGET_PLAN",
    "Usage",
    "resource_use",
    "syringe_holdings",
]

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
    parameters: dict[str, float]
    """The optimiser's inputs, in user units (the start document's `conditions`: the log's key is unchanged)."""
    setpoints: dict[str, Any]
    decision: dict[str, Any]
    outcomes: dict[str, Any] = field(default_factory=dict)
    primary: dict[str, Any] = field(default_factory=dict)
    exit_status: str | None = None
    time: float = 0.0
    stop_time: float | None = None
    """Wall time of the stop document (s since the epoch; None while the run is open)."""
    stop_reason: str = ""
    proposal_latency_s: float | None = None
    """Seconds the optimiser took to propose it (its start document's ``proposal_latency_s``)."""
    heater: dict[str, Any] = field(default_factory=dict)
    """Its heater settle (``from_c``, ``to_c``, ``s``: the ``heater_settle`` event of a cost-aware
    campaign, ``campaigns.plans.settle_heater``); empty when none was recorded."""
    steady_state: dict[str, Any] = field(default_factory=dict)
    """How its wait for steady state ended (``waited_s``, ``probes``, ``reason``: the ``steady_state``
    event of ``[protocol] steady_state = "detect"``, campaigns.steady_state); empty with a fixed wait."""
    proposed_with: dict[str, Any] | None = None
    """How its proposal was made (``[protocol] overlap``; its start document's ``proposed_with``):
    ``observed``, the rows the optimiser had ingested (the log's first ones, in log order), and
    ``pending``, the indices of the experiments given as pending points. None: serially, after every
    experiment completed before it (a log written without overlap)."""

    trajectory: dict[str, Any] | None = None
    """A dynamic-flow trajectory's path (its start document's ``trajectory``, campaigns.transient); None
    for a steady-state experiment."""
    inlet: list[dict[str, Any]] = field(default_factory=list)
    """A trajectory's ``inlet`` events' data, in order: what entered the reactor at each step."""
    samples: list[dict[str, Any]] = field(default_factory=list)
    """A trajectory's ``sample`` events (``sample_`` taken off the keys): each spectrum's assigned
    parameters (``at_<name>``), spread, weight and figures of merit."""

    @property
    def completed(self) -> bool:
        """Data only when the run closed with ``success`` and its outcomes were recorded."""
        return self.exit_status == "success" and bool(self.outcomes)

    def observation_rows(self) -> list[dict[str, Any]]:
        """What an optimiser learns from this run: its :meth:`outcome_row`, or for a trajectory its
        samples' rows, thinned (:func:`campaigns.transient.thin`; none when a pump alarmed)."""
        if self.trajectory is None:
            return [self.outcome_row()]
        if self.outcomes.get("failure"):
            return []
        names = [p["name"] for p in self.trajectory["parameters"]]
        return thin(sample_rows(self.samples, names), self.trajectory["parameters"])

    def outcome_row(self) -> dict[str, Any]:
        """Conditions and outcomes as one flat row, what an optimiser ingests."""
        row = dict(self.parameters)
        row.update({k: v for k, v in self.outcomes.items() if k not in ("objective", "pareto_front")})
        if not row.get("failure"):
            row["failure"] = None
        return row


class RecordBuilder:
    """Experiment records built from event-model documents as they stream: the one place a record's
    fields are computed from documents.

    A RunEngine subscriber (``builder(name, doc)``) for the live loop, which learns from the records it
    builds; resume, replay, report and watch feed it the log's documents (:func:`experiments_from_documents`),
    so a live record and the record read back from the log are the same code's output on the same
    documents. A document is taken in the form the log stores it (:func:`lab.store.storage.encode`: numpy to
    lists, NaN to None), so one fed live equals one read from the file; documents already in that form
    (read from the log) may skip the round trip (``as_logged=False``).
    """

    def __init__(self, *, as_logged: bool = True):
        self.as_logged = as_logged
        self._runs: dict[str, ExperimentRecord] = {}  # run uid -> its record, in log order
        self._streams: dict[str, tuple[str, str]] = {}  # descriptor uid -> (run uid, stream name)
        self.last_stopped: ExperimentRecord | None = None
        """The experiment run whose stop document came last (the one the live loop learns from)."""

    @property
    def records(self) -> list[ExperimentRecord]:
        """All experiment runs so far in log order (completed or not)."""
        return list(self._runs.values())

    def feed(self, docs: Iterable[tuple[str, dict]]) -> "RecordBuilder":
        for name, doc in docs:
            self(name, doc)
        return self

    def __call__(self, name: str, doc: dict) -> None:
        if name == "start" and "experiment_index" in doc:
            self._start(self._logged(name, doc))
        elif name == "descriptor" and doc.get("run_start") in self._runs:
            self._streams[doc["uid"]] = (doc["run_start"], doc.get("name", "primary"))
        elif name == "event" and doc.get("descriptor") in self._streams:
            self._event(self._logged(name, doc))
        elif name == "stop" and doc.get("run_start") in self._runs:
            self._stop(self._logged(name, doc))

    def _logged(self, name: str, doc: dict) -> dict:
        return json.loads(encode(name, doc))["doc"] if self.as_logged else doc

    def _start(self, doc: dict) -> None:
        version = doc.get("log_format", 1)
        if not isinstance(version, int) or version > LOG_FORMAT:
            raise LogError(
                f"experiment {doc.get('experiment_index')}: log format {version!r} was written by a "
                f"newer qdlab; this one reads formats up to {LOG_FORMAT}: upgrade qdlab to read it"
            )
        latency = doc.get("proposal_latency_s")
        self._runs[doc["uid"]] = ExperimentRecord(
            index=int(doc["experiment_index"]),
            uid=doc["uid"],
            parameters=dict(doc.get("conditions", {})),
            setpoints=dict(doc.get("setpoints", {})),
            decision=dict(doc.get("decision", {})),
            time=float(doc.get("time", 0.0)),
            proposal_latency_s=float(latency) if isinstance(latency, (int, float)) else None,
            proposed_with=dict(doc["proposed_with"]) if isinstance(doc.get("proposed_with"), dict) else None,
            trajectory=dict(doc["trajectory"]) if isinstance(doc.get("trajectory"), dict) else None,
        )

    def _event(self, doc: dict) -> None:
        run_uid, stream = self._streams[doc["descriptor"]]
        record = self._runs[run_uid]
        if stream == "outcomes":
            record.outcomes = {k.removeprefix(OUTCOME_PREFIX): v for k, v in doc["data"].items()}
            if record.outcomes.get("failure") == "":
                record.outcomes["failure"] = None
        elif stream == "primary":
            record.primary = dict(doc["data"])
        elif stream == HEATER_STREAM:
            prefix = f"{HEATER_STREAM}_"
            record.heater = {k.removeprefix(prefix): v for k, v in doc["data"].items()}
        elif stream == INLET_STREAM:
            record.inlet.append(dict(doc["data"]))
        elif stream == SAMPLE_STREAM:
            prefix = f"{SAMPLE_STREAM}_"
            record.samples.append({k.removeprefix(prefix): v for k, v in doc["data"].items()})
        elif stream == DECISION_STREAM:
            prefix = f"{DECISION_STREAM}_"
            record.steady_state = {k.removeprefix(prefix): v for k, v in doc["data"].items()}

    def _stop(self, doc: dict) -> None:
        record = self._runs[doc["run_start"]]
        record.exit_status = doc.get("exit_status")
        record.stop_time = float(doc["time"]) if isinstance(doc.get("time"), (int, float)) else None
        record.stop_reason = str(doc.get("reason") or "")
        self.last_stopped = record


def experiments_from_documents(docs: Iterable[tuple[str, dict]]) -> list[ExperimentRecord]:
    """All experiment runs in log order (completed or not), by :class:`RecordBuilder`, from documents as
    a log stores them (read from its file, or from Tiled): the round trip through the log's encoding would
    change nothing, so it is skipped."""
    return RecordBuilder(as_logged=False).feed(docs).records


def completed(records: Iterable[ExperimentRecord]) -> list[ExperimentRecord]:
    """Completed experiments, one per index (the last completed run of an index wins), by index."""
    by_index: dict[int, ExperimentRecord] = {}
    for record in records:
        if record.completed:
            by_index[record.index] = record
    return [by_index[i] for i in sorted(by_index)]


def in_log_order(records: Iterable[ExperimentRecord]) -> list[ExperimentRecord]:
    """Completed experiments, one per index as :func:`completed` picks them, in the order the log
    completed them: the order the optimiser learnt them in (an index re-run to fill a gap comes after
    the experiments that were proposed before it), so resume and replay ingest the same rows."""
    records = list(records)
    chosen = {id(r) for r in completed(records)}
    return [r for r in records if id(r) in chosen]


def missing_indices(records: Iterable[ExperimentRecord]) -> list[int]:
    """Experiment indices below the highest completed one that no completed run holds: a gap, lines
    lost from the middle of the log (``qdlab resume`` re-runs them). The index of a run still open at the
    log's end (running now, or cut short by a crash) is not missing: it is being, or will be, re-run."""
    records = list(records)
    done = {r.index for r in completed(records)}
    if not done:
        return []
    open_now = {records[-1].index} if records and records[-1].exit_status is None else set()
    return [i for i in range(max(done)) if i not in done and i not in open_now]


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


CLOCK_KEY = "timer_time"
"""The rig clock's reading in each primary event (s, simulated or real: the reactor's own time)."""
DISPENSED_SUFFIX = "_dispensed"
FLOW_SUFFIX = "_flow"


@dataclass(frozen=True)
class Usage:
    """Reactor time and reagent use of one experiment run, and of the campaign up to and including it.

    ``reactor_s``: seconds of the rig's clock (simulated or real) since the previous measurement (for
    the first run of a session: since the session's clock started, so calibration and the first
    flush count); None when the run measured nothing (its time is counted with the next run that did).
    ``reagents_ul``: microlitres each pump (by device name) dispensed over that span, from the pumps'
    ``dispensed`` counters, or ``flow x reactor time`` when a pump reports no counter.
    ``cumulative_*``: the same summed over every run of the log up to this one.
    """

    index: int
    uid: str
    completed: bool
    reactor_s: float | None
    reagents_ul: dict[str, float]
    cumulative_reactor_s: float
    cumulative_reagents_ul: dict[str, float]

    @property
    def reagent_total_ul(self) -> float:
        return float(sum(self.reagents_ul.values()))


def _increment(reading: float, previous: float | None) -> float:
    """What a counter added since ``previous``; a counter that went back restarted (a new session,
    a refilled syringe) and counts from zero again."""
    if previous is None or reading < previous:
        return max(0.0, reading)
    return reading - previous


def resource_use(runs: Iterable[ExperimentRecord]) -> list[Usage]:
    """Reactor time and reagent use of every run in log order (completed or not: the rig ran them all).

    One place for this sum: the run summary, ``qdlab watch`` and the report all read it from here.
    """
    out: list[Usage] = []
    last_clock: float | None = None
    last_counter: dict[str, float] = {}
    total_s = 0.0
    total_ul: dict[str, float] = {}
    for r in runs:
        reading = r.primary
        clock = reading.get(CLOCK_KEY)
        reactor_s = None
        used: dict[str, float] = {}
        if isinstance(clock, (int, float)):
            reactor_s = _increment(float(clock), last_clock)
            last_clock = float(clock)
            pumps = {k.removesuffix(DISPENSED_SUFFIX) for k in reading if k.endswith(DISPENSED_SUFFIX)}
            pumps |= {k.removesuffix(FLOW_SUFFIX) for k in reading if k.endswith(FLOW_SUFFIX)}
            for pump in sorted(pumps):
                counter = reading.get(pump + DISPENSED_SUFFIX)
                if isinstance(counter, (int, float)):
                    used[pump] = _increment(float(counter), last_counter.get(pump))
                    last_counter[pump] = float(counter)
                elif isinstance(reading.get(pump + FLOW_SUFFIX), (int, float)):
                    used[pump] = dispensed_ul(max(0.0, float(reading[pump + FLOW_SUFFIX])), reactor_s)
            total_s += reactor_s
            for pump, ul in used.items():
                total_ul[pump] = total_ul.get(pump, 0.0) + ul
        out.append(Usage(r.index, r.uid, r.completed, reactor_s, used, total_s, dict(total_ul)))
    return out


def syringe_holdings(
    docs: Iterable[tuple[str, dict]],
    syringes_ul: dict[str, float],
    unlogged_ul: Callable[[dict[str, Any]], dict[str, float]] | None = None,
) -> dict[str, float]:
    """What each pump's syringe holds (uL) where the log ends, by pump name.

    ``syringes_ul``: each pump's syringe volume (what it held when the log began). Each session's
    pumps count ``<pump>_dispensed`` from zero (a pump is cleared when it connects, and again when it is
    refilled); a session begins with the start document that carries ``preflight_estimate``; a
    ``refill`` event sets what a syringe holds. A run that closed before its measurement (an abort)
    logged no reading of what it dispensed: ``unlogged_ul(setpoints)`` says what it may have used
    (pump name -> uL), and is counted in full, so a resumed campaign errs towards asking for a refill.
    """
    filled = dict(syringes_ul)
    counter = dict.fromkeys(syringes_ul, 0.0)
    streams: dict[str, tuple[str, str]] = {}
    measured: dict[str, bool] = {}
    setpoints: dict[str, dict] = {}
    for name, doc in docs:
        if name == "start" and "experiment_index" in doc:
            if "preflight_estimate" in doc:  # a new session: its counters start from zero
                filled = {p: filled[p] - counter[p] for p in filled}
                counter = dict.fromkeys(filled, 0.0)
            measured[doc["uid"]] = False
            setpoints[doc["uid"]] = dict(doc.get("setpoints") or {})
        elif name == "descriptor" and doc.get("run_start") in measured:
            streams[doc["uid"]] = (doc["run_start"], doc.get("name", "primary"))
        elif name == "event" and doc.get("descriptor") in streams:
            run, stream = streams[doc["descriptor"]]
            data = doc.get("data", {})
            if stream == "primary":
                measured[run] = True
                for pump in counter:
                    if isinstance(data.get(f"{pump}_dispensed"), (int, float)):
                        counter[pump] = float(data[f"{pump}_dispensed"])
            elif stream == "refill":
                try:
                    refilled = json.loads(data.get("refill_refilled") or "{}")
                except ValueError:
                    refilled = {}
                for pump, volume in refilled.items():
                    if pump in filled and isinstance(volume, (int, float)):
                        filled[pump], counter[pump] = float(volume), 0.0
        elif name == "stop" and doc.get("run_start") in measured:
            run = doc["run_start"]
            if not measured[run] and unlogged_ul is not None:
                for pump, ul in unlogged_ul(setpoints[run]).items():
                    if pump in filled:
                        filled[pump] -= ul
    return {p: filled[p] - counter[p] for p in filled}
