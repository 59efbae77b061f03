"""A dynamic-flow trajectory as one bluesky run (``[protocol] mode = "dynamic"``; docs/adr/0016-dynamic-flow.md).

The plan drives the pumps and the heater along a :class:`campaigns.transient.Trajectory`, one step every
``protocol.sample_interval`` seconds: each step sets the path's flows and temperature, records them as an
``inlet`` event (the pumps' and heater's readbacks and the rig clock), and takes a spectrum as a
``primary`` event. When the path ends, every spectrum is assigned the conditions its fluid saw
(:func:`campaigns.transient.assign`, from the inlet events and the fluid the run started with) and
recorded as a ``sample`` event: its figures of merit, the assigned parameters (``sample_at_<name>``), the
mixture's spread and the sample's weight. The run's ``outcomes`` event carries no figures (a trajectory is
not a measurement at one condition; its samples are) and ``failure`` when a pump alarmed.

A pump alarm (a clog) stops the path: the pumps stop, the line is flushed for ``clog_recovery``, and the
spectra after the alarm are dropped (weight 0).
"""

# ophyd 1.x devices meet bluesky's Readable / Movable / Stoppable protocols at run time (the RunEngine
# checks them), but ophyd is not typed, so pyright cannot see it: argument types are not checked here.
# pyright: reportArgumentType=false

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp

from campaigns.conditions import Setpoints
from campaigns.flow import dispensed_ul
from campaigns.outcomes import OUTCOME_KEYS, Outcomes, outcomes_device
from campaigns.plans import (
    _check_setpoints,
    _record,
    _spectra_figures,
    experiment,
    non_finite,
    refill_if_short,
    settle_heater,
)
from campaigns.rig import Rig
from campaigns.spec import ProtocolSpec
from campaigns.streams import INLET_STREAM, PARAMETER_PREFIX, SAMPLE_FIELDS, SAMPLE_STREAM
from campaigns.transient import Assignment, InletHistory, Trajectory, assign

__all__ = [
    "Sample",
    "sample_device",
    "trajectory_run",
    "Reactor",
    "inlet_history",
    "inlet_tail",
    "assignments",
    "dynamic_loop",
]

Plan = Generator[Any, Any, Any]


@dataclass(frozen=True)
class Sample:
    """One spectrum of a trajectory: when it was taken, the conditions assigned to it, its outcomes."""

    t_s: float
    assignment: Assignment
    outcomes: dict[str, Any]


def sample_device(parameter_names: Sequence[str], outcome_keys: Sequence[str] = ()) -> Outcomes:
    """The soft device whose readings are a ``sample`` event (figures, bookkeeping, assigned parameters)."""
    extra = (*outcome_keys, *SAMPLE_FIELDS, *(PARAMETER_PREFIX + n for n in parameter_names))
    return outcomes_device(tuple(k for k in extra if k not in OUTCOME_KEYS), name=SAMPLE_STREAM)


@dataclass(frozen=True)
class Reactor:
    """What undoing the reactor needs to know about a rig: the keys its ``inlet`` events carry (each
    reagent's pump flow, the heater's temperature, the rig clock) and its volumes, RTD and stocks."""

    flow_keys: Mapping[str, str]
    temperature_key: str
    time_key: str
    reactor_volume_ul: float
    transfer_volume_ul: float
    rtd_tanks: float
    stocks_mM: Mapping[str, float]

    @classmethod
    def of(cls, rig: Rig) -> "Reactor":
        return cls(
            flow_keys={r: p.flow.name for r, p in rig.pumps.items()},
            temperature_key=rig.heater.temperature.name,
            time_key=rig.timer.time.name,
            reactor_volume_ul=rig.reactor_volume_ul,
            transfer_volume_ul=rig.transfer_volume_ul,
            rtd_tanks=rig.rtd_tanks,
            stocks_mM=dict(rig.stocks_mM),
        )


def inlet_history(reactor: Reactor, inlets: Sequence[Mapping[str, Any]]) -> InletHistory:
    """The inlet history of ``inlets``, ``inlet`` events' data in order (as the log holds them: key ->
    value): from each one's rig time on, its pumps' flows and its heater's temperature."""
    history = InletHistory()
    for data in inlets:
        history.record(
            float(data[reactor.time_key]),
            {r: float(data[k]) for r, k in reactor.flow_keys.items()},
            float(data[reactor.temperature_key]),
        )
    return history


def inlet_tail(reactor: Reactor, inlets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The last of ``inlets`` that a later run's first spectra may need: back from the last one until
    the transfer line and :data:`TAIL_REACTOR_VOLUMES` reactor volumes had been delivered."""
    need = reactor.transfer_volume_ul + TAIL_REACTOR_VOLUMES * reactor.reactor_volume_ul
    total = 0.0
    kept: list[dict[str, Any]] = []
    end: float | None = None
    for data in reversed(inlets):
        t = float(data[reactor.time_key])
        if end is not None:
            total += dispensed_ul(sum(float(data[k]) for k in reactor.flow_keys.values()), end - t)
        kept.append(dict(data))
        end = t
        if total >= need:
            break
    return kept[::-1]


TAIL_REACTOR_VOLUMES = 4.0
"""Reactor volumes of history carried into the next trajectory (the RTD's 24th node of 24 is ~1.8 for
10 tanks; 4 covers a coil as mixed as 3 tanks)."""


def _flat(reading: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v["value"] for k, v in reading.items()}


def assignments(
    reactor: Reactor,
    history: InletHistory,
    times_s: Sequence[float],
    *,
    parameters: Sequence[Mapping[str, Any]],
    kind: str,
) -> list[Assignment]:
    """The assignment of a spectrum at each of ``times_s`` (the one place a rig's facts meet
    :func:`campaigns.transient.assign`: live, and in replay)."""
    return [
        assign(
            history,
            t,
            parameters=parameters,
            reactor_volume_ul=reactor.reactor_volume_ul,
            transfer_volume_ul=reactor.transfer_volume_ul,
            rtd_tanks=reactor.rtd_tanks,
            stocks_mM=reactor.stocks_mM,
            kind=kind,
        )
        for t in times_s
    ]


def _step_times(trajectory: Trajectory, interval_s: float) -> list[float]:
    n = max(1, math.ceil(trajectory.duration_s / interval_s - 1e-9))
    return [k * interval_s for k in range(n)]


def _mean_flows(path: Sequence[Setpoints]) -> Setpoints:
    """A set point with each reagent's mean flow on the path: over the path's time, the volume the
    syringes must hold (``refill_if_short`` adds its margin)."""
    reagents = {r for sp in path for r in sp.flows_ul_min}
    flows = {r: sum(sp.flows_ul_min.get(r, 0.0) for sp in path) / len(path) for r in reagents}
    return Setpoints(path[0].temperature_c, flows, path[0].residence_time_s)


def trajectory_run(
    rig: Rig,
    trajectory: Trajectory,
    protocol: ProtocolSpec,
    *,
    material: str,
    setpoints_of: Callable[[dict[str, float]], Setpoints],
    kind: str,
    samples: Outcomes,
    before: Sequence[Mapping[str, Any]] = (),
    md: dict | None = None,
) -> Plan:
    """One trajectory as one bluesky run (see the module's docstring); returns its :class:`Sample` list.

    ``before``: ``inlet`` event data of the fluid running when it starts (:func:`inlet_tail` of the
    previous trajectory's), so the first spectra, whose fluid entered before this run, are assigned too."""
    result: list[Sample] = []
    interval = protocol.sample_interval
    times = _step_times(trajectory, interval)
    path = [setpoints_of(trajectory.at(t)) for t in times]
    search = [dict(p) for p in trajectory.parameters]

    @bpp.run_decorator(md=md or {})
    def _run() -> Plan:
        yield from bps.checkpoint()
        temperature = yield from bps.rd(rig.heater.temperature)
        if abs(temperature - path[0].temperature_c) > rig.heater.limits.tolerance_c:
            yield from settle_heater(rig, path[0].temperature_c, protocol)
        yield from refill_if_short(rig, _mean_flows(path), protocol, wait_s=trajectory.duration_s)
        inlets, spectra, alarm = yield from _walk(rig, path, times, trajectory.duration_s, protocol)
        yield from bps.checkpoint()  # measured: a suspension after this point must not re-run the path
        reactor = Reactor.of(rig)
        history = inlet_history(reactor, [*before, *inlets])
        at = [float(r[rig.timer.time.name]["value"]) for r in spectra]
        found = assignments(reactor, history, at, parameters=search, kind=kind)
        for t, a, reading in zip(at, found, spectra):
            sp = setpoints_of(a.parameters) if a.parameters is not None else path[0]
            figures = yield from _spectra_figures(rig, reading, sp, material)
            outcomes = dict(figures)
            if non_finite(outcomes):
                outcomes = {**dict.fromkeys(outcomes), "failure": "non_finite_outcome"}
            yield from _sample_event(samples, t, a, outcomes)
            result.append(Sample(t, a, outcomes))
        yield from _record(rig, {**dict.fromkeys(rig.outcomes.keys), "failure": alarm})
        yield from bps.checkpoint()

    yield from _run()
    return result


def _walk(
    rig: Rig, path: Sequence[Setpoints], times: Sequence[float], duration_s: float, protocol: ProtocolSpec
) -> Plan:
    """Step along ``path`` (set points at ``times`` s after the start): set pumps and heater, an
    ``inlet`` event, a ``primary`` spectrum, wait for the next step. Returns (inlet event data,
    spectra readings, alarm): a pump alarm stops the pumps, waits ``clog_recovery`` and ends the walk."""
    inlets: list[dict] = []
    spectra: list[dict] = []
    t0 = yield from bps.rd(rig.timer.time)
    for k, sp in enumerate(path):
        moves: list[Any] = []
        for reagent, pump in rig.pumps.items():
            moves += [pump, sp.flows_ul_min.get(reagent, 0.0)]
        yield from bps.mv(*moves, rig.heater, sp.temperature_c)
        inlet = yield from bps.trigger_and_read(
            [*rig.pumps.values(), rig.heater, rig.timer], name=INLET_STREAM
        )
        inlets.append(_flat(inlet))
        reading = yield from bps.trigger_and_read(
            [rig.spectrometer, rig.heater, *rig.pumps.values(), rig.timer], name="primary"
        )
        alarms = [reading[f"{p.name}_alarm"]["value"] for p in rig.pumps.values()]
        if any(alarms):
            for pump in rig.pumps.values():  # a stalled line must not keep pressurising
                yield from bps.stop(pump)
            yield from bps.mv(rig.timer, protocol.clog_recovery)
            return inlets, spectra, "clog" if "stall" in alarms else "pump_alarm"
        spectra.append(reading)
        now = yield from bps.rd(rig.timer.time)
        end = t0 + (times[k + 1] if k + 1 < len(times) else duration_s)
        if end > now:
            yield from bps.mv(rig.timer, end - now)
    return inlets, spectra, None


def _sample_event(samples: Outcomes, t: float, a: Assignment, outcomes: Mapping[str, Any]) -> Plan:
    values: dict[str, Any] = {
        **{k: v for k, v in outcomes.items() if k in samples.keys},
        "t_s": t,
        "entered_s": a.entered_s,
        "spread": a.spread if math.isfinite(a.spread) else None,
        "weight": a.weight,
    }
    for key in samples.keys:
        if key.startswith(PARAMETER_PREFIX):
            name = key.removeprefix(PARAMETER_PREFIX)
            values[key] = None if a.parameters is None else a.parameters.get(name)
    moves: list[Any] = []
    for key in samples.keys:
        value = values.get(key)
        if key == "failure" or key == "quality":
            value = "" if value is None else value
        moves += [samples.signal_for(key), value]
    yield from bps.mv(*moves)
    yield from bps.trigger_and_read([samples], name=SAMPLE_STREAM)


def dynamic_loop(
    rig: Rig,
    *,
    propose: Callable[[int], tuple[dict, Setpoints, dict]],
    learn: Callable[[int, dict, dict], None],
    indices: Sequence[int],
    protocol: ProtocolSpec,
    material: str,
    objective: Callable[[dict], float | None] | None,
    setpoints_of: Callable[[dict[str, float]], Setpoints],
    kind: str,
    samples: Outcomes,
) -> Plan:
    """Propose, run, learn for each index, as ``campaigns.plans.closed_loop``: a proposal whose start
    metadata carries a ``trajectory`` runs as :func:`trajectory_run`, any other as a steady-state
    ``experiment`` (a confirmation)."""
    for index in indices:
        parameters, setpoints, md = propose(index)
        path = md.get("trajectory")
        if path is not None:
            yield from trajectory_run(
                rig,
                Trajectory.of(path),
                protocol,
                material=material,
                setpoints_of=setpoints_of,
                kind=kind,
                samples=samples,
                before=path.get("before", ()),
                md=md,
            )
            learn(index, parameters, {})
            continue
        _check_setpoints(index, setpoints)
        outcomes = yield from experiment(
            rig, setpoints, protocol, material=material, objective=objective, md=md
        )
        learn(index, parameters, outcomes)
