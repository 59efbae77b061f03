"""Run (or resume) a campaign: files, devices, RunEngine, optimiser, log and safe shutdown.

The only place that wires the layers together. Everything a campaign needs to continue after a crash
is in its directory: the resolved ``campaign.toml`` and ``lab.toml`` and the document log.
"""

from __future__ import annotations

import errno
import time
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluesky import RunEngine
from bluesky import plan_stubs as bps
from bluesky.utils import RunEngineInterrupted

from campaigns.conditions import SOLVENT, Setpoints
from campaigns.flow import fixed_wait_s
from campaigns.cost import CostModel, cost_model_for
from campaigns.plans import calibrate, closed_loop, syringe_need_ul
from campaigns.outcomes import outcomes_device
from campaigns.preflight import CampaignEstimate, estimate, preflight
from campaigns.scoring import is_multi, scalar_value
from campaigns.spec import CampaignSpec
from campaigns.dynamic import Reactor, dynamic_loop, inlet_tail, sample_device
from campaigns.strategy import optimizer_for
from devices import SYRINGE_EMPTY_TOLERANCE_UL, RefillStation, SyringeBackend, WallClock
from lab.config.lab_toml import LabConfig
from lab.run.emulate import check_ports
from lab.config.files import dump_campaign, dump_lab, file_digest
from lab.store.log_check import read_log
from lab.run.ahead import PROPOSALS, Background, Proposal, propose_now
from lab.run.dynamic import Planner
from lab.run.model_record import MODEL_KEY, MODEL_PLAN, model_record
from lab.run.interlocks import install_interlocks
from lab.run.refill import RefillDesk, refill_mode
from lab.run.runtime import RUN_LOG_NAME, configure_numerics, library_logs_to
from lab.store.records import (
    BUDGET_PLAN,
    LOG_FORMAT,
    ExperimentRecord,
    RecordBuilder,
    budget_in_force,
    completed,
    experiments_from_documents,
    in_log_order,
    syringe_holdings,
)
from lab.run.rig_builder import BuiltRig, build_rig, flush_flow_ul_min
from lab.run.stop_signals import PollingDuringTask, StopRequested, StopSignals
from lab.store.storage import (
    CAMPAIGN_NAME,
    LAB_NAME,
    LOG_NAME,
    DocumentLog,
    campaign_dir_problem,
    read_documents,
)
from lab.run.user_model import GuardedModel, ReactorModelBroken
from models.errors import ConfigurationError, Interrupted, LogError, LogWriteError, QdlabError
from models.objectives import incumbent, pareto_positions
from models.validation import validate_model

if TYPE_CHECKING:  # the optimisers (torch) load when a campaign makes one, not with this module
    from models.optimizers import Decision

__all__ = ["CampaignSession", "SessionResult", "SafeReport", "Interrupted", "open_for_resume", "file_digest"]


HEATER_TIME_CONSTANT_S = 90.0
"""The heater's first-order time constant the estimate assumes (s) unless ``[sim]
heater_time_constant_s`` says otherwise: the simulated coil's, typical of a small heated coil."""


@dataclass
class SessionResult:
    directory: Path
    records: list[ExperimentRecord]
    objective: Any
    world: Any | None = None
    outcome_constraints: list[dict[str, Any]] = field(default_factory=list)

    def best(self) -> ExperimentRecord | None:
        """The incumbent (:func:`models.objectives.incumbent`), None before a feasible experiment."""
        i = incumbent(self.objective, [r.outcome_row() for r in self.records], self.outcome_constraints)
        return None if i is None else self.records[i]


class CampaignSession:
    """One campaign directory being run.

    ``progress(done, budget, record)`` is called after each completed experiment (for the terminal UI).
    """

    def __init__(
        self,
        spec: CampaignSpec,
        lab: LabConfig,
        directory: Path,
        *,
        campaign_source: str,
        lab_source: str,
        realtime: bool = False,
        progress: Callable[[int, int, ExperimentRecord | None], None] | None = None,
        subscribers: list[Callable[[str, dict], None]] | None = None,
        run_engine_kwargs: dict | None = None,
        reactor_model: Callable[[dict], dict] | None = None,
        log_opener: Callable[[Path], Any] | None = None,
    ):
        self.spec = spec if spec.id else spec.model_copy(update={"id": str(uuid.uuid4())})
        self.lab = lab
        self.directory = Path(directory)
        self.campaign_source = campaign_source
        self.lab_source = lab_source
        self.realtime = realtime
        self.progress = progress
        self.subscribers = subscribers or []
        self.run_engine_kwargs = run_engine_kwargs or {}
        self.objective = self.spec.parsed_objective
        self.reactor_model = reactor_model
        self.log_opener = log_opener
        """How the document log's file is opened (:class:`DocumentLog`'s ``opener``; None: the default)."""
        self.budget_changed_from: int | None = None  # open_for_resume(budget=...); logged before experiments
        self.notify: Callable[[str], None] = _to_stderr
        """Shows one line to the operator (a refill prompt); the terminal's stderr unless replaced."""

    # -- checks before anything moves -------------------------------------------------------------
    def preflight(self, *, fresh: bool = False) -> CampaignEstimate:
        """Refuse a campaign the lab cannot make; estimate (and keep as ``self.estimate``) the reagent
        and reactor time its remaining experiments need. ``fresh``: a new campaign (``qdlab run``), whatever
        the directory holds now is not its own (``--force`` moves it aside once every check has passed)."""
        if self.reactor_model is not None and self.spec.protocol.mode == "dynamic":
            raise ConfigurationError(
                'a reactor model gives steady-state outcomes, a mode = "dynamic" campaign needs spectra; '
                "run it without --reactor-model",
                source="--reactor-model",
            )
        stocks = self.lab.stocks_mM
        preflight(
            self.spec,
            reactor_volume_ul=self.lab.reactor.volume,
            stocks_mM=stocks,
            pump_limits=self.lab.pump_limits,
            heater_limits=self.lab.heater_limits,
            source=self.campaign_source,
            transfer_volume_ul=self.lab.reactor.transfer_volume,
            pump_names={p.reagent: name for name, p in self.lab.pumps.items()},
        )
        self.refill_mode = refill_mode(self.spec.protocol.refill, self.lab, source=self.campaign_source)
        if self.lab.emulator is not None:  # its port links: taken by nothing the emulators did not leave
            check_ports(self.lab, source=self.lab_source)
        done = len(self.existing_records()) if self.directory.is_dir() and not fresh else 0
        self.estimate = estimate(
            self.spec,
            experiments=max(0, self.spec.budget - done),
            reactor_volume_ul=self.lab.reactor.volume,
            transfer_volume_ul=self.lab.reactor.transfer_volume,
            stocks_mM=stocks,
            syringes={p.reagent: (name, p.syringe_volume) for name, p in self.lab.pumps.items()},
            flush_flow_ul_min=self.flush_flow_ul_min(),
            tolerance_c=self.lab.heater.tolerance,
            heater_time_constant_s=float(self.lab.sim.get("heater_time_constant_s", HEATER_TIME_CONSTANT_S)),
            start_temperature_c=float(
                self.lab.sim.get("initial_temperature_c", self.lab.heater.safe_temperature)
            ),
        )
        return self.estimate

    def flush_flow_ul_min(self) -> float:
        """The solvent flow of the calibration flush (uL/min): ``rig_builder.flush_flow_ul_min``."""
        return flush_flow_ul_min(self.lab)

    def setpoints(self, parameters: dict[str, float]) -> Setpoints:
        return Planner(self.spec, self.lab).setpoints(parameters)

    def cost_model(self, history: list[tuple[dict, dict]], *, done: int) -> CostModel:
        """The next proposal's cost model (``[protocol] cost_aware``), from the (set points, heater
        settle) of the experiments so far, ``done`` of them completed (campaigns.cost.cost_model_for)."""
        return cost_model_for(
            self.spec,
            history,
            reactor_volume_ul=self.lab.reactor.volume,
            transfer_volume_ul=self.lab.reactor.transfer_volume,
            stocks_mM=self.lab.stocks_mM,
            heater_limits=self.lab.heater_limits,
            heater_time_constant_s=float(self.lab.sim.get("heater_time_constant_s", HEATER_TIME_CONSTANT_S)),
            start_temperature_c=float(
                self.lab.sim.get("initial_temperature_c", self.lab.heater.safe_temperature)
            ),
            start_flows_ul_min={SOLVENT: self.flush_flow_ul_min()},
            done=done,
        )

    # -- the run ----------------------------------------------------------------------------------
    def write_files(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        dump_campaign(self.spec, self.directory / "campaign.toml")
        dump_lab(self.lab, self.directory / "lab.toml")

    def existing_records(self) -> list[ExperimentRecord]:
        """Completed experiments of the log (checked: lab.store.log_check), in the order the log completed them."""
        if not (self.directory / LOG_NAME).exists():
            return []
        return in_log_order(
            experiments_from_documents(read_log(self.directory, campaign_id=self.spec.id, gaps=True))
        )

    def run(self, *, resume: bool = False) -> SessionResult:
        """Run the campaign to its budget. With ``resume``, the directory's files are used as they are
        and completed experiments in the log are re-ingested, not re-run."""
        self.preflight()
        if not resume:
            self.write_files()
        self.digests = {name: file_digest(self.directory / name) for name in ("campaign.toml", "lab.toml")}
        log = DocumentLog(self.directory, opener=self.log_opener).open()
        try:
            with library_logs_to(self.directory / RUN_LOG_NAME):
                return self._run_logged(log)
        finally:
            log.close()

    def _run_logged(self, log: DocumentLog) -> SessionResult:
        done = self.existing_records()  # after open(): a torn tail has been set aside
        clock = WallClock() if self.realtime else None
        # a resumed simulated world is a new world: new noise, not a replay of the first one's
        built = build_rig(
            self.lab,
            material=self.spec.material,
            seed=self.spec.seed + 1_000_003 * len(done),
            source=self.lab_source,
            clock=clock,
        )
        try:
            built.claim_ports()  # a port another process holds: refused here, before any device is connected
            return self._run(built, log, done)
        finally:
            built.close()  # ports and in-process emulators, after make_safe

    def _run(self, built: BuiltRig, log: DocumentLog, done: list[ExperimentRecord]) -> SessionResult:
        configure_numerics()
        rig = built.rig
        loop = self._loop(rig, done)
        self._announce_gap(done)
        if self.progress:
            self.progress(len(loop.records), self.spec.budget, None)
        run_engine = self._run_engine(log, loop.builder)
        self._log_before_devices(run_engine, log, done)
        desk = self._attach_refills(rig)
        # The temperature interlock polls the heater from a thread: only for hardware and emulated labs
        # (their drivers lock their ports); a purely simulated world runs in simulated time instead.
        watch = None
        if built.world is None or self.lab.emulator is not None:
            watch, _ = install_interlocks(run_engine, rig)
        self._drive(run_engine, rig, log, loop, desk, watch)
        return SessionResult(
            self.directory,
            loop.records,
            self.objective,
            world=built.world,
            outcome_constraints=list(self.spec.outcome_constraints),
        )

    # -- the run's steps --------------------------------------------------------------------------
    def _loop(self, rig, done: list[ExperimentRecord]) -> "_Loop":
        """The rig's outcomes device (and reactor model guard) and the optimiser, taught what ``done``
        holds: the loop's state before its first experiment."""
        multi = is_multi(self.objective)
        constrained = tuple(c.get("outcome") for c in self.spec.outcome_constraints if c.get("outcome"))
        rig.outcomes = outcomes_device(
            (*self.objective.outcomes, *constrained, *(("pareto_front",) if multi else ()))
        )
        guard = None
        if self.reactor_model is not None:  # its errors are failed experiments (lab/run/user_model.py)
            guard = rig.model = GuardedModel(self.reactor_model, rig.outcomes.keys)
        optimizer = optimizer_for(self.spec)
        if done:
            optimizer.ingest([row for r in done for row in r.observation_rows()])
        done_indices = {r.index for r in done}
        return _Loop(
            self,
            optimizer=optimizer,
            records=list(done),
            indices=[i for i in range(self.spec.budget) if i not in done_indices],
            guard=guard,
            overlap=self.spec.protocol.overlap,
            rig=rig,
        )

    def _announce_gap(self, done: list[ExperimentRecord]) -> None:
        """Lines lost from the log's middle: those indices are re-run, never renumbering what follows."""
        done_indices = {r.index for r in done}
        gap = [i for i in range(max(done_indices, default=-1)) if i not in done_indices]
        if gap:
            self.notify(
                f"{self.directory / LOG_NAME}: experiment{'s' if len(gap) > 1 else ''} "
                f"{', '.join(map(str, gap))} missing from the log: re-running "
                f"{'them' if len(gap) > 1 else 'it'} under the same number"
            )

    def _run_engine(self, log: DocumentLog, builder: RecordBuilder) -> RunEngine:
        """The RunEngine, its documents to the log, then to the record builder (only those the log took:
        what the loop learns from is what the log holds), then to the caller's subscribers."""
        # no bluesky SigintHandler (a deferred pause at a checkpoint): StopSignals stops on the first signal
        run_engine = RunEngine(
            {}, **{"context_managers": [], "during_task": PollingDuringTask(), **self.run_engine_kwargs}
        )
        run_engine.subscribe(log)  # first: a document it fails to write raises before the builder sees it

        def logged(name: str, doc: dict) -> None:
            if log.failure is None:
                builder(name, doc)

        run_engine.subscribe(logged)
        for sub in self.subscribers:
            run_engine.subscribe(sub)
        return run_engine

    def _log_before_devices(self, run_engine: RunEngine, log: DocumentLog, done: list) -> None:
        """The budget and reactor-model record runs, before any device is connected (and before the
        interlocks watch the heater); a log failure here stops in one line, no device moved."""
        try:
            if self.budget_changed_from is not None:
                run_engine(_record_run(self._budget_md(len(done))))
            if self.reactor_model is not None and not done:
                run_engine(_record_run(self._model_md()))
        except Exception as exc:
            if log.failure is None:
                raise
            raise LogWriteError(
                f"campaign not started: could not write {log.path} ({log.failure}); no device was "
                f"moved; continue with: qdlab resume {self.directory} {_once_fixed(log.failure)}",
                reason=log.failure,
            ) from exc

    def _attach_refills(self, rig) -> RefillDesk:
        desk = RefillDesk(self.directory, self.lab, self.notify)
        rig.refills = RefillStation(
            {p.name: p for p in rig.pumps.values()}, rig.timer.clock, auto=self.refill_mode == "auto"
        )
        desk.attach(rig.refills)
        return desk

    def experiment_md(
        self,
        index: int,
        parameters: dict,
        setpoints: Setpoints,
        decision: Decision | dict[str, Any],
        latency_s: float,
    ) -> dict[str, Any]:
        """An experiment's start document metadata."""
        md = {
            "plan_name": "experiment",
            "log_format": LOG_FORMAT,
            "campaign": self.spec.name,
            "campaign_id": self.spec.id,
            "material": self.spec.material,
            "experiment_index": index,
            "conditions": parameters,
            "setpoints": setpoints.as_dict(),
            "strategy": self.spec.strategy,
            "seed": self.spec.seed,
            "decision": decision,
            "campaign_digest": self.digests["campaign.toml"],
            "lab_digest": self.digests["lab.toml"],
            "proposal_latency_s": latency_s,
        }
        if self.reactor_model is not None:
            md[MODEL_KEY] = model_record(self.reactor_model)
        return md

    def _drive(self, run_engine: RunEngine, rig, log: DocumentLog, loop: "_Loop", desk, watch) -> None:
        """Connect, calibrate and run the loop's experiments; every way out leaves the rig made safe and,
        for a stop, says how in one line."""
        made_safe = False
        stop = StopSignals(run_engine)
        try:
            with stop:
                try:
                    rig.connect()
                    self._restore_syringes(rig)
                    if len(loop.indices):
                        self._experiments(run_engine, rig, stop, loop)
                except ReactorModelBroken as exc:  # recorded, between experiments: no run is open
                    safe = self._halt(run_engine, rig, watch)
                    made_safe = True
                    raise ReactorModelBroken(f"{exc}; {safe.summary()}") from None
                except (RunEngineInterrupted, StopRequested):
                    how = stop.received or "SIGINT"
                    safe = self._halt(run_engine, rig, watch, abort=f"stopped by {how}")
                    made_safe = True
                    raise Interrupted(
                        f"campaign stopped by {how} after {len(loop.records)} of {self.spec.budget} "
                        f"experiments; {safe.summary()}; continue with: qdlab resume {self.directory}",
                        signal_name=how,
                        unsafe=not safe.ok,
                    ) from None
                except Exception as exc:
                    if log.failure is not None:  # disk full, I/O error: stop as for a signal
                        safe = self._halt(
                            run_engine, rig, watch, abort="the document log could not be written"
                        )
                        made_safe = True
                        raise self._log_failed(log, loop, safe) from exc
                    if not isinstance(exc, QdlabError):
                        raise
                    # a device or safety stop: the rig is made safe, the line says how
                    exc.made_safe = self._halt(run_engine, rig, watch).summary()
                    made_safe = True
                    raise
        finally:
            if watch is not None:
                watch.stop()
            desk.close()
            if not made_safe:
                self.make_safe(rig)

    def _experiments(self, run_engine: RunEngine, rig, stop: StopSignals, loop: "_Loop") -> None:
        """Calibrate, then the closed loop over the experiments still to run."""
        multi = is_multi(self.objective)
        stop.check()
        run_engine(calibrate(rig, self.spec.protocol, flush_flow_ul_min=self.flush_flow_ul_min()))
        stop.check()
        common: dict[str, Any] = dict(
            propose=loop.propose,
            learn=loop.learn,
            indices=loop.indices,
            protocol=self.spec.protocol,
            material=self.spec.material,
            objective=lambda o: scalar_value(self.objective, o),
        )
        if self.spec.protocol.mode == "dynamic":  # trajectories and confirmations (docs/adr/0016)
            plan = dynamic_loop(
                rig,
                **common,
                setpoints_of=self.setpoints,
                kind=self.spec.search.kind,
                samples=sample_device([p.name for p in self.spec.search.parameters]),
            )
        else:
            plan = closed_loop(
                rig,
                **common,
                annotate=loop.annotate if multi else None,
                ahead=loop if loop.overlap else None,
            )
        run_engine(plan)
        stop.check()

    def _halt(self, run_engine: RunEngine, rig, watch, *, abort: str | None = None) -> "SafeReport":
        """Stop for good: the open run aborted (with ``abort`` as its reason), the interlock stopped, the
        rig made safe."""
        if abort is not None and not run_engine.state.is_idle:
            run_engine.abort(abort)  # the open run's stop document: 'abort'
        if watch is not None:
            watch.stop()
        return self.make_safe(rig)

    def _log_failed(self, log: DocumentLog, loop: "_Loop", safe: "SafeReport") -> LogWriteError:
        return LogWriteError(
            f"campaign stopped: could not write {log.path} ({log.failure}) after {len(loop.records)} of "
            f"{self.spec.budget} experiments; {safe.summary()}; the documents written before are intact; "
            f"continue with: qdlab resume {self.directory} {_once_fixed(log.failure)}",
            reason=log.failure,
        )

    def _budget_md(self, done: int) -> dict[str, Any]:
        return {
            "plan_name": BUDGET_PLAN,
            "log_format": LOG_FORMAT,
            "campaign": self.spec.name,
            "campaign_id": self.spec.id,
            "budget": self.spec.budget,
            "previous_budget": self.budget_changed_from,
            "completed": done,
            "campaign_digest": self.digests["campaign.toml"],
            "lab_digest": self.digests["lab.toml"],
        }

    def _model_md(self) -> dict[str, Any]:
        return {
            "plan_name": MODEL_PLAN,
            "log_format": LOG_FORMAT,
            "campaign": self.spec.name,
            "campaign_id": self.spec.id,
            MODEL_KEY: model_record(self.reactor_model),
            "campaign_digest": self.digests["campaign.toml"],
            "lab_digest": self.digests["lab.toml"],
        }

    def _restore_syringes(self, rig) -> None:
        """A resumed campaign's pumps hold what the log says they held when it stopped (connecting
        clears a pump's counter, and would otherwise take every syringe for full), so the refill check
        asks before a syringe runs dry. A syringe refilled while the campaign was stopped is simply asked
        for once more: ``qdlab refill DIR`` answers."""
        path = self.directory / LOG_NAME
        docs = read_documents(path) if path.exists() else []
        if not any(name == "start" and "experiment_index" in doc for name, doc in docs):
            return
        protocol, transfer_ul = self.spec.protocol, self.lab.reactor.transfer_volume

        def unlogged(setpoints: dict) -> dict[str, float]:
            total = float(setpoints.get("total_flow_ul_min") or 0.0)
            if total <= 0:
                return {}
            tau_s = float(setpoints.get("residence_time_s") or 0.0)
            wait_s = fixed_wait_s(
                total, tau_s, transfer_volume_ul=transfer_ul, residence_times=protocol.residence_times
            )
            return {
                self.lab.pump_for(r): syringe_need_ul(float(q), wait_s)
                for r, q in (setpoints.get("flows_ul_min") or {}).items()
                if self.lab.pump_for(r)
            }

        held = syringe_holdings(
            docs, {p.name: p.limits.syringe_volume_ul for p in rig.pumps.values()}, unlogged
        )
        lines = []
        for pump in rig.pumps.values():
            volume = held[pump.name]
            if not isinstance(pump.backend, SyringeBackend):  # a driver that cannot be told: say so
                lines.append(
                    f"{pump.name} {max(volume, 0.0) / 1000:.2f} mL by the log (not set: its driver "
                    "has no refill)"
                )
            elif volume < pump.limits.syringe_volume_ul - SYRINGE_EMPTY_TOLERANCE_UL:
                pump.refill(max(volume, SYRINGE_EMPTY_TOLERANCE_UL))
                lines.append(f"{pump.name} {max(volume, 0.0) / 1000:.2f} mL")
        if lines:
            self.notify(
                f"syringes as the log left them: {', '.join(lines)}; one refilled while the campaign was "
                f"stopped is asked for again when needed: answer with qdlab refill {self.directory}"
            )

    @staticmethod
    def make_safe(rig) -> "SafeReport":
        """Stop every pump and send the heater to its safe set point; never raises.

        Returns what was verified: each pump's flow is read back after its stop, the heater's set point
        after its write, so ``summary()`` names what is confirmed safe and every device that is not.
        """
        report = SafeReport(
            safe_temperature_c=rig.heater.limits.safe_temperature_c, heater_name=rig.heater.name
        )
        for pump in rig.pumps.values():
            try:
                pump.stop()
                flow = float(pump.flow.get())
                if flow != 0.0:
                    report.failures[pump.name] = f"it still reads {flow:g} uL/min after its stop"
                else:
                    report.pumps_stopped.append(pump.name)
            except Exception as exc:  # noqa: BLE001 - every pump must get its stop, whatever the others do
                report.failures[pump.name] = _describe(exc)
        try:
            rig.heater.make_safe()
            report.heater_setpoint_c = float(rig.heater.setpoint.get())
            if abs(report.heater_setpoint_c - report.safe_temperature_c) > _SETPOINT_READBACK_C:
                report.failures[rig.heater.name] = (
                    f"its set point reads {report.heater_setpoint_c:g} degC, not "
                    f"{report.safe_temperature_c:g} degC"
                )
        except Exception as exc:  # noqa: BLE001 - never raises: this runs on every way out
            report.failures[rig.heater.name] = _describe(exc)
        (_log.info if report.ok else _log.warning)("made safe: %s", report.summary())
        return report


class _Loop:
    """The closed loop between its experiments: what it proposed, and the records it learnt from.

    It learns each experiment from the record :class:`RecordBuilder` made of the documents the log
    took (``builder`` is subscribed to the RunEngine), the builder resume and replay feed the log's file:
    the row the optimiser ingests live is the row they rebuild, by the same code.
    """

    def __init__(
        self,
        session: CampaignSession,
        *,
        optimizer: Any,
        records: list[ExperimentRecord],
        indices: list[int],
        guard: GuardedModel | None,
        overlap: bool = False,
        rig: Any = None,
    ):
        self.session = session
        self.rig = rig
        self.resumed_with = len(records)
        """Records read from the log before this session (their rig was another one)."""
        self.optimizer = optimizer
        self.records = records
        """Completed experiments: the log's before this session, then this session's, as learnt."""
        self.indices = indices
        self.guard = guard
        self.builder = RecordBuilder()
        self.proposed: dict[int, dict] = {}  # index -> its start document's metadata
        self.overlap = overlap
        self._ahead: Background | None = None  # the next proposal, being computed (lab.run.ahead)

    def propose(self, index: int) -> tuple[dict, Setpoints, dict]:
        if self.session.spec.protocol.mode == "dynamic":
            return self._dynamic(index)
        proposal, waited_s = self._take(index)
        parameters = proposal.parameters
        setpoints = self.session.setpoints(parameters)
        decision: Decision | dict[str, Any] = proposal.decision
        md = self.session.experiment_md(index, parameters, setpoints, decision, proposal.latency_s)
        if self.overlap:  # how it was made (replay re-derives it so), and what it cost the rig
            md["proposed_with"] = {"observed": proposal.observed, "pending": proposal.pending}
            md["rig_waited_s"] = waited_s
        if index == self.indices[0]:  # what this session expects to spend, on its first start document
            md["preflight_estimate"] = self.session.estimate.as_dict()
        self.proposed[index] = md
        return parameters, setpoints, md

    def _dynamic(self, index: int) -> tuple[dict, Setpoints, dict]:
        """The next run of a dynamic campaign (lab.run.dynamic): a trajectory or a confirmation."""
        session = self.session
        with PROPOSALS:
            started = time.perf_counter()
            step = Planner(session.spec, session.lab).step(self.records, self.optimizer, self._cost())
            latency_s = time.perf_counter() - started
            decision = self.optimizer.last_decision() if step.trajectory is not None else {}
        setpoints = session.setpoints(step.parameters)
        md = session.experiment_md(index, step.parameters, setpoints, decision, latency_s)
        if step.trajectory is not None:
            md["plan_name"] = "trajectory"
            # the previous trajectory's last steps, when the rig ran them in this session (a resumed
            # session's rig clock starts again, and its coil was flushed)
            last = self.records[-1] if len(self.records) > self.resumed_with else None
            before = inlet_tail(Reactor.of(self.rig), last.inlet) if last and last.trajectory else []
            md["trajectory"] = {**step.trajectory.as_dict(), "before": before}
        else:
            md["plan_name"] = "confirmation"
        if index == self.indices[0]:
            md["preflight_estimate"] = session.estimate.as_dict()
        self.proposed[index] = md
        return step.parameters, setpoints, md

    def learn(self, index: int, parameters: dict, outcomes: dict) -> None:
        """Ingest experiment ``index`` (its run just closed) as the builder's record of it says it: the
        plan's ``parameters`` and ``outcomes`` are not used, the record holds them as the log does.
        A proposal being computed ahead is joined first: it reads the rows this appends to."""
        if self._ahead is not None:
            self._ahead.join()
        record = self.builder.last_stopped
        if record is None or record.index != index or not record.completed:
            raise LogError(
                f"experiment {index}: its run closed without a completed record in the documents logged"
            )
        self.optimizer.ingest(record.observation_rows())
        self.records.append(record)
        budget = self.session.spec.budget
        if self.session.progress:
            self.session.progress(len(self.records), budget, record)
        if self.guard is not None:
            self.guard.check(done=len(self.records), budget=budget)

    def _take(self, index: int) -> tuple[Proposal, float]:
        """Experiment ``index``'s proposal and the wall seconds the rig waited for it: the one computed
        ahead if there is one (its error raised here, where a serial proposal's would be), else made now."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.index == index and ahead.join():
            proposal = ahead.future.result()
            return proposal, ahead.rig_waited_s(proposal)
        proposal = propose_now(self.optimizer, observed=len(self.records), cost=self._cost())
        return proposal, proposal.latency_s

    def _cost(self, running: Setpoints | None = None) -> Any:
        """The next proposal's cost (``[protocol] cost_aware``; None otherwise), from where the rig will
        be: the last experiment's set points, or ``running``'s when it is proposed during that one."""
        if not self.session.spec.protocol.cost_aware:
            return None
        history = [(r.setpoints, r.heater) for r in self.records]
        if running is not None:
            history.append((running.as_dict(), {}))
        return self.session.cost_model(history, done=len(self.records)).for_optimizer()

    def start(self, index: int, parameters: dict) -> None:
        """Experiment ``index``'s flows are set (``[protocol] overlap``): compute the next experiment's
        proposal in the background, with ``parameters`` pending; none after this session's last."""
        position = self.indices.index(index) + 1
        if position >= len(self.indices):
            return
        following = self.indices[position]
        if self._ahead is not None and self._ahead.index == following:
            return  # a suspension re-ran this experiment's set and wait: the proposal is the same
        observed = len(self.records)
        cost = self._cost(self.session.setpoints(parameters))
        self._ahead = Background(
            following,
            lambda: propose_now(
                self.optimizer, observed=observed, pending=(index, dict(parameters)), cost=cost
            ),
        )

    def waits(self) -> list:
        """What the plan waits on before ``learn``: the proposal computed ahead, if it is not ready."""
        return [] if self._ahead is None else self._ahead.waits()

    def annotate(self, outcomes: dict) -> dict:
        """The Pareto front after this experiment (multi-objective), recorded in its outcomes."""
        index = max(self.proposed)
        rows = [(r.index, r.outcome_row()) for r in self.records] + [
            (index, {**self.proposed[index]["conditions"], **outcomes})
        ]
        front = pareto_positions(
            self.session.objective, [r for _, r in rows], self.session.spec.outcome_constraints
        )
        return {"pareto_front": sorted(rows[k][0] for k in front)}


_log = logging.getLogger("qdlab.session")
_SETPOINT_READBACK_C = 0.15  # a controller's set-point register holds 0.1 degC (Modbus, one decimal)


def _describe(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass
class SafeReport:
    """What ``CampaignSession.make_safe`` verified: the pumps read back stopped (by name), what could not
    be confirmed safe (device name -> why), and the heater's set point as read back (degC; None if it
    could not be read)."""

    safe_temperature_c: float
    pumps_stopped: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    heater_setpoint_c: float | None = None
    heater_name: str = "heater"

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One clause, truthful: e.g. "pumps cd, se read back stopped, heater set point read back 25 degC
        (its safe set point)", or "NOT SAFE: heater could not be confirmed safe (no reply ...), check it
        by hand; pumps cd, se read back stopped"."""
        verified = []
        if self.pumps_stopped:
            verified.append(f"pumps {', '.join(self.pumps_stopped)} read back stopped")
        if self.heater_name not in self.failures and self.heater_setpoint_c is not None:
            verified.append(
                f"heater set point read back {self.heater_setpoint_c:g} degC (its safe set point)"
            )
        done = ", ".join(verified)
        if self.ok:
            return done
        names = ", ".join(self.failures)
        why = "; ".join(f"{name}: {error}" for name, error in self.failures.items())
        return f"NOT SAFE: {names} could not be confirmed safe ({why}), check by hand" + (
            f"; {done}" if done else ""
        )


def _once_fixed(failure: str) -> str:
    """What the operator must fix first, from :func:`lab.store.storage.describe_os_error`'s text."""
    full = any(f"({errno.errorcode[c]})" in failure for c in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG))
    return "once there is space" if full else "once the disk is writable again"


def _record_run(md: dict[str, Any]):
    """A run with no events whose start document records something: a new budget (``qdlab resume
    --budget``), the reactor model."""
    yield from bps.open_run(md)
    yield from bps.close_run()


def _to_stderr(line: str) -> None:
    from lab.view.console import err

    err.print(line, soft_wrap=True, highlight=False, markup=False)


def open_for_resume(
    directory: Path, *, budget: int | None = None, **session_kwargs: Any
) -> "CampaignSession":
    """A session continuing the campaign in ``directory``, refused if its files changed since it began.

    Its budget is the one in force (campaign.toml's, or the last one a resume set); ``budget`` sets a
    new one (extending a finished campaign, say), logged as a budget run before the next experiment
    (campaign.toml stays as it began); one below the experiments already completed is refused.

    The log is checked (lab.store.log_check: one campaign, in order; a gap is re-run). A campaign that ran with
    a reactor model continues with it, loaded from the log's record (lab.run.model_record) unless
    ``reactor_model`` is given, or is refused.
    """
    from lab.config.files import campaign_to_data, load_campaign, load_lab
    from lab.run.model_record import load_logged_model, logged_model

    directory = Path(directory)
    problem = campaign_dir_problem(directory, needs=(CAMPAIGN_NAME, LAB_NAME, LOG_NAME))
    if problem:
        raise LogError(problem)
    spec = load_campaign(directory / "campaign.toml", check_outcomes=False)  # its id, to check the log
    lab = load_lab(directory / "lab.toml")
    docs = read_log(directory, campaign_id=spec.id, gaps=True)
    starts = [doc for name, doc in docs if name == "start"]
    record = logged_model(starts, source=str(directory / LOG_NAME))
    if record is not None and session_kwargs.get("reactor_model") is None:
        session_kwargs["reactor_model"] = load_logged_model(record, source=str(directory / LOG_NAME))
    spec = load_campaign(
        directory / "campaign.toml", outcomes=getattr(session_kwargs.get("reactor_model"), "outcomes", None)
    )
    _check_unchanged(directory, starts)
    in_force = budget_in_force(docs, spec.budget)
    new = in_force if budget is None else _new_budget(budget, docs)
    if new != spec.budget:  # validated as the file's budget is (1 to 10000)
        spec = validate_model(CampaignSpec, {**campaign_to_data(spec), "budget": new}, source="--budget")
    session = CampaignSession(
        spec,
        lab,
        directory,
        campaign_source=str(directory / "campaign.toml"),
        lab_source=str(directory / "lab.toml"),
        **session_kwargs,
    )
    if new != in_force:
        session.budget_changed_from = in_force
    return session


def _check_unchanged(directory: Path, starts: list[dict]) -> None:
    """Refuse a campaign.toml or lab.toml whose digest is not the one the log's start documents carry."""
    for name, key in (("campaign.toml", "campaign_digest"), ("lab.toml", "lab_digest")):
        logged = {doc.get(key) for doc in starts if doc.get(key)}
        now = file_digest(directory / name)
        if logged and logged != {now}:
            raise ConfigurationError(
                f"changed since the campaign began (digest {now}, the log's experiments used "
                f"{', '.join(sorted(logged))}); a resumed campaign must run as it started: restore the file, "
                f"or start a new campaign with qdlab run",
                source=str(directory / name),
            )


def _new_budget(budget: int, docs: list[tuple[str, dict]]) -> int:
    """``qdlab resume --budget``'s budget, refused below the experiments the log completed."""
    done = len(completed(experiments_from_documents(docs)))
    if budget < done:
        raise ConfigurationError(
            f"{budget} is below the {done} experiments already completed; give --budget {done} or more",
            source="--budget",
        )
    return budget
