"""``qdlab agent``: the closed loop outside the RunEngine, one or more reactors' queues fed from one optimiser.

The campaign directory is laid out and logged as ``qdlab run`` lays it out; the agent holds its lock, the
reactors' workers append each experiment's documents to its log (lab.store.shared_log), and the agent
learns only from the log. It makes each proposal as :class:`lab.run.session.CampaignSession` does, with the
same start document (:meth:`CampaignSession.experiment_md`), by the optimiser the campaign names. What it
knows, it reads from the log, in the log's order (its runs in the order their start documents were
written):

- the optimiser has ingested the completed runs before the first run still running (``observed``);
- the runs started after those (running on another reactor, or finished there out of turn) are its pending
  points (``pending``), so a batch of proposals accounts for what each reactor runs. With them the start
  document records ``proposed_with`` (docs/adr/0015-time-aware-loop.md), from which ``qdlab replay``
  re-derives the proposal. With one reactor nothing is pending when it proposes, and the log is the one
  ``qdlab run`` writes with the same seed.

A reactor gets its next experiment once its previous one's run has started in the log, so the log's order is
the order the proposals were made in.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from campaigns.scoring import is_multi
from lab.queue.queues import WAIT_S, Queue, QueueError, wait_until
from lab.run.ahead import PROPOSALS
from lab.run.session import CampaignSession, SessionResult
from lab.run.stop_signals import STOP_SIGNALS
from lab.store.records import ExperimentRecord, RecordBuilder, in_log_order
from lab.store.storage import LOG_NAME, DocumentLog, encode
from models.errors import ConfigurationError, Interrupted, LogError, QdlabError

__all__ = ["Agent", "InFlight", "split_log", "check_agent_campaign"]


@dataclass
class InFlight:
    """An experiment handed to a reactor: its index, parameters, and the run uids the log held before it."""

    index: int
    parameters: dict[str, float]
    queue: str
    before: set[str] = field(default_factory=set)
    uid: str | None = None
    """Its run's uid, once its start document is in the log."""


def split_log(runs: list[ExperimentRecord], running: set[str]) -> tuple[list[ExperimentRecord], list]:
    """``(observed, pending)`` of the log's experiment runs (start order) when ``running`` (uids) run now:
    the completed runs before the first running one, and the runs from there on that are running or
    completed. A run that ended without completing, or was left open by a crash, is not data."""
    first = next((k for k, r in enumerate(runs) if r.uid in running), len(runs))
    observed = in_log_order(runs[:first])
    pending = [r for r in runs[first:] if r.uid in running or r.completed]
    return observed, pending


def check_agent_campaign(session: CampaignSession) -> None:
    """Refuse, in one line, what the agent does not run: dynamic, cost-aware and multi-objective campaigns,
    and reactor models (they need the live loop's state inside the plan)."""
    spec = session.spec
    why = None
    if spec.protocol.mode == "dynamic":
        why = 'a mode = "dynamic" campaign'
    elif spec.protocol.cost_aware:
        why = "a cost_aware campaign (the cost depends on where one rig is)"
    elif is_multi(session.objective):
        why = "a multi-objective campaign"
    elif session.reactor_model is not None:
        why = "a campaign with a reactor model"
    if why:
        raise ConfigurationError(
            f"qdlab agent does not run {why}; run it with qdlab run", source=session.campaign_source
        )


class Agent:
    """Drive ``session``'s campaign on ``queues`` until its budget is spent; ``progress(record, queue)`` is
    called for each experiment the log completes; ``poll_s``: wall seconds between looks at the log."""

    def __init__(
        self,
        session: CampaignSession,
        queues: list[Queue],
        *,
        resume: bool = False,
        poll_s: float = 0.1,
        progress: Callable[[ExperimentRecord, str], None] | None = None,
    ):
        self.session = session
        self.queues = queues
        self.resume = resume
        self.poll_s = poll_s
        self.progress = progress
        self.in_flight: dict[str, InFlight] = {}
        self.tail = LogTail(session.directory / LOG_NAME)
        self.optimizer: Any = None
        self.ingested = 0
        self.reported: set[str] = set()
        self.first_of_session = True
        self.received: str | None = None

    # -- the whole campaign -------------------------------------------------------------------------
    def run(self) -> SessionResult:
        from campaigns.strategy import optimizer_for
        from lab.config.files import file_digest
        from lab.run.runtime import configure_numerics

        session = self.session
        check_agent_campaign(session)
        for queue in self.queues:  # before anything is written: an unreachable server is bad input
            try:
                queue.status()
            except QueueError as exc:
                raise ConfigurationError(f"{exc}; start it with qdlab serve", source="--queue") from None
        session.preflight(fresh=not self.resume)
        if not self.resume:
            session.write_files()
        session.digests = {n: file_digest(session.directory / n) for n in ("campaign.toml", "lab.toml")}
        configure_numerics()
        self.optimizer = optimizer_for(session.spec)
        log = DocumentLog(session.directory).open()  # the campaign's lock, held while the agent drives it
        try:
            with self._signals():
                self._drive()
        finally:
            log.close()
        records = in_log_order(self.runs())
        return SessionResult(
            session.directory,
            records,
            session.objective,
            outcome_constraints=list(session.spec.outcome_constraints),
        )

    def _drive(self) -> None:
        directory = str(self.session.directory.resolve())
        try:
            for queue in self.queues:
                queue.open()
                if not queue.idle():  # an experiment a previous agent handed it: let it end, it is data
                    queue.api.wait_for_idle(timeout=WAIT_S)
            for queue in self.queues:
                queue.submit("calibrate", directory=directory)
            for queue in self.queues:
                self._wait_idle(queue)
            while not self._done():
                self._check_stop()
                self._step(directory)
                time.sleep(self.poll_s)
        except BaseException:  # a stop, a failed plan, a lost server: no reactor is left running
            self._make_safe(abort=True)
            raise
        self._make_safe(abort=False)

    def _done(self) -> bool:
        runs = self.runs()
        self._report(runs)
        return not self.in_flight and len(_completed_indices(runs)) >= self.session.spec.budget

    def _step(self, directory: str) -> None:
        """Clear the experiments the log has ended; give each free reactor its next experiment."""
        runs = self.runs()
        for queue in self.queues:
            flight = self.in_flight.get(queue.name)
            if flight is not None and not self._still_running(queue, flight, runs):
                del self.in_flight[queue.name]
            if queue.name not in self.in_flight:
                index = self._next_index(runs)
                if index is None:
                    continue
                self._hand(queue, index, directory, runs)
                runs = self.runs()

    # -- one experiment -----------------------------------------------------------------------------
    def _hand(self, queue: Queue, index: int, directory: str, runs: list[ExperimentRecord]) -> None:
        """Propose experiment ``index`` from the log and hand it to ``queue``; return once its run began."""
        running = {f.uid for f in self.in_flight.values() if f.uid}
        observed, pending = split_log(runs, running)
        parameters, decision, latency_s = self._propose(observed, pending)
        session = self.session
        setpoints = session.setpoints(parameters)
        md = session.experiment_md(index, parameters, setpoints, decision, latency_s)
        md["reactor"] = queue.name
        completed = len(in_log_order(runs))
        if pending or len(observed) < completed:
            md["proposed_with"] = {"observed": len(observed), "pending": [r.index for r in pending]}
        if self.first_of_session and not runs:  # a new campaign's first start document, as qdlab run's
            md["preflight_estimate"] = session.estimate.as_dict()
        self.first_of_session = False
        md = json.loads(encode("start", md))["doc"]  # what the log will hold, and what 0MQ can carry
        flight = InFlight(index, dict(parameters), queue.name, before={r.uid for r in runs})
        self.in_flight[queue.name] = flight
        queue.submit("experiment", directory=directory, parameters=dict(parameters), md=md)
        if not wait_until(lambda: self._started(queue, flight), timeout_s=WAIT_S, poll_s=self.poll_s):
            raise QueueError(f"queue {queue.name}: experiment {index} did not start within {WAIT_S:.0f} s")

    def _propose(self, observed: list[ExperimentRecord], pending: list[ExperimentRecord]):
        """One proposal by the optimiser taught ``observed`` (in order), with ``pending``'s parameters
        pending: ``(parameters, decision, latency_s)``."""
        for record in observed[self.ingested :]:
            self.optimizer.ingest(record.observation_rows())
        self.ingested = len(observed)
        with PROPOSALS:
            started = time.perf_counter()
            if pending:
                (parameters,) = self.optimizer.suggest(1, pending=[dict(r.parameters) for r in pending])
            else:
                (parameters,) = self.optimizer.suggest(1)
            latency_s = time.perf_counter() - started
            decision = self.optimizer.last_decision() if hasattr(self.optimizer, "last_decision") else {}
        return parameters, decision, latency_s

    def _started(self, queue: Queue, flight: InFlight) -> bool:
        """True once ``flight``'s run is in the log; a plan that failed before its run began raises."""
        self._check_stop()
        run = self._run_of(flight, self.runs())
        if run is not None:
            flight.uid = run.uid
            return True
        if queue.idle():
            run = self._run_of(flight, self.runs())  # it may have run, start to stop, meanwhile
            if run is not None:
                flight.uid = run.uid
                return True
            raise QueueError(
                f"queue {queue.name}: experiment {flight.index} failed before it began: "
                f"{queue.last_failure() or 'no run in the log'}"
            )
        return False

    def _still_running(self, queue: Queue, flight: InFlight, runs: list[ExperimentRecord]) -> bool:
        """Whether ``flight`` still runs; a run that ended without completing raises (the campaign stops,
        as ``qdlab run`` stops on a device error)."""
        run = self._run_of(flight, runs)
        if run is None or run.exit_status is None:
            if not queue.idle():
                return True
            run = self._run_of(flight, self.runs())  # its stop may have landed since ``runs`` was read
            if run is None or run.exit_status is None:
                raise QueueError(
                    f"queue {queue.name}: experiment {flight.index} ended without a stop document: "
                    f"{queue.last_failure() or 'no reason given'}"
                )
        if not run.completed:
            why = queue.last_failure() or run.stop_reason or run.exit_status
            raise QueueError(f"queue {queue.name}: experiment {flight.index} {run.exit_status}: {why}")
        return False

    @staticmethod
    def _run_of(flight: InFlight, runs: list[ExperimentRecord]) -> ExperimentRecord | None:
        return next((r for r in runs if r.index == flight.index and r.uid not in flight.before), None)

    def _next_index(self, runs: list[ExperimentRecord]) -> int | None:
        busy = _completed_indices(runs) | {f.index for f in self.in_flight.values()}
        return next((i for i in range(self.session.spec.budget) if i not in busy), None)

    # -- the log ------------------------------------------------------------------------------------
    def runs(self) -> list[ExperimentRecord]:
        """The log's experiment runs in start order (what every decision is made from)."""
        return self.tail.runs()

    def _report(self, runs: list[ExperimentRecord]) -> None:
        for record in runs:
            if record.completed and record.uid not in self.reported:
                self.reported.add(record.uid)
                if self.progress is not None:
                    self.progress(record, self.tail.reactor_of.get(record.uid, "?"))

    def _wait_idle(self, queue: Queue) -> None:
        if not wait_until(
            lambda: (self._check_stop(), queue.idle())[1], timeout_s=WAIT_S, poll_s=self.poll_s
        ):
            raise QueueError(f"queue {queue.name}: still busy after {WAIT_S:.0f} s")
        failure = queue.last_failure()
        if failure:
            raise QueueError(f"queue {queue.name}: {failure}")

    # -- stopping -----------------------------------------------------------------------------------
    def _make_safe(self, *, abort: bool) -> None:
        """Every reactor's running experiment aborted (``abort``), then its pumps stopped and heater safe."""
        for queue in self.queues:
            try:
                if abort:
                    queue.abort()
                queue.execute("make_safe")
            except QdlabError as exc:
                from lab.view.console import err

                err.print(
                    f"queue {queue.name}: could not be made safe ({exc}); check it by hand", markup=False
                )

    def _check_stop(self) -> None:
        if self.received is not None:
            raise Interrupted(
                f"campaign stopped by {self.received}; every reactor's running experiment aborted and made "
                f"safe; continue with: qdlab agent --resume {self.session.directory} --queue ...",
                signal_name=self.received,
            )

    def _signals(self) -> "_StopSignals":
        return _StopSignals(self)


class _StopSignals:
    """While entered (in the main thread): SIGINT, SIGTERM and SIGHUP only record the first signal's name on
    ``agent.received``; the agent stops at its next look (``Agent._check_stop``)."""

    def __init__(self, agent: Agent):
        self.agent = agent
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> "_StopSignals":
        if threading.current_thread() is threading.main_thread():
            for name in STOP_SIGNALS:
                number = getattr(signal, name)
                self.previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        self.agent.received = self.agent.received or signal.Signals(signum).name

    def __exit__(self, *exc: object) -> None:
        for number, previous in self.previous.items():
            signal.signal(number, previous)
        self.previous.clear()


class LogTail:
    """The log at ``path`` read as it grows: each whole new line fed once to one :class:`RecordBuilder`
    (a line still being written waits for its newline)."""

    def __init__(self, path):
        self.path = path
        self.builder = RecordBuilder(as_logged=False)
        self.reactor_of: dict[str, str] = {}
        """Run uid -> the reactor that ran it (its start document's ``reactor``)."""
        self._offset = 0

    def runs(self) -> list[ExperimentRecord]:
        if self.path.exists():
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
            whole = chunk[: chunk.rfind(b"\n") + 1]
            self._offset += len(whole)
            for raw in whole.splitlines():
                if raw.strip():
                    try:
                        entry = json.loads(raw)
                    except ValueError:
                        raise LogError(
                            f"{self.path}: a line that is not a document; the log is corrupted"
                        ) from None
                    self._feed(entry)
        return self.builder.records

    def _feed(self, entry: dict) -> None:
        name, doc = entry["name"], entry["doc"]
        if name == "start" and "reactor" in doc:
            self.reactor_of[doc["uid"]] = str(doc["reactor"])
        self.builder(name, doc)


def _completed_indices(runs: list[ExperimentRecord]) -> set[int]:
    return {r.index for r in runs if r.completed}
