"""bluesky plans: one experiment (set, settle, measure, emit) and the closed loop.

Plans speak to devices through messages only, so they run unchanged on simulated and real hardware
and can be checked message by message without a RunEngine. Waiting is ``bps.mv(rig.timer, s)``: a
status that completes when the world's clock has advanced, never a wall-clock sleep.
"""

# ophyd 1.x devices meet bluesky's Readable / Movable / Stoppable protocols at run time (the RunEngine
# checks them), but ophyd is not typed, so pyright cannot see it: argument types are not checked here.
# pyright: reportArgumentType=false

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import Any, Protocol

import functools
import math
import numbers

import bluesky.plan_stubs as bps
import bluesky.preprocessors as bpp

from campaigns.conditions import SOLVENT, Setpoints
from campaigns.flow import calibration_flush_s, dispensed_ul, fixed_wait_s
from campaigns.streams import HEATER_STREAM
from campaigns.rig import Rig
from campaigns.spec import ProtocolSpec
from campaigns.steady_state import detect_steady_state, probe_interval_s
from devices import SYRINGE_EMPTY_TOLERANCE_UL
from models.analysis import FiguresOfMerit, figures_of_merit
from models.errors import DeviceError, SafetyError

__all__ = [
    "settle_heater",
    "experiment",
    "calibrate",
    "closed_loop",
    "ProposeAhead",
    "steady_state_wait_s",
    "model_conditions",
    "syringe_need_ul",
    "refill_if_short",
    "REFILL_MARGIN",
    "NON_FINITE_OUTCOME",
    "non_finite",
]

Plan = Generator[Any, Any, Any]

NON_FINITE_OUTCOME = "non_finite_outcome"
"""An experiment's ``failure`` when a measured outcome (or its objective value) is NaN or infinite: its
outcomes are then recorded as None, so no NaN reaches a device, the log or the optimiser."""


def non_finite(values: dict[str, Any]) -> list[str]:
    """Keys of ``values`` holding a NaN or infinite number."""
    return [
        k
        for k, v in values.items()
        if isinstance(v, numbers.Real) and not isinstance(v, bool) and not math.isfinite(v)
    ]


def _check_setpoints(index: int, setpoints: Setpoints) -> None:
    """A proposal whose set points are not finite numbers stops the campaign before anything moves."""
    values = {
        "temperature_c": setpoints.temperature_c,
        "residence_time_s": setpoints.residence_time_s,
        **{f"flow {r} (uL/min)": q for r, q in setpoints.flows_ul_min.items()},
    }
    bad = non_finite(values)
    if bad:
        raise SafetyError(
            f"experiment {index}: the proposed set points are not finite numbers "
            f"({', '.join(f'{k}={values[k]!r}' for k in bad)}); nothing was moved"
        )


def steady_state_wait_s(rig: Rig, setpoints: Setpoints, protocol: ProtocolSpec) -> float:
    """Dead time to the flow cell plus ``protocol.residence_times`` residence times (s)."""
    if setpoints.total_flow_ul_min <= 0:
        return float("inf")  # nothing flows: the outlet never settles (as rig.dead_time_s)
    return fixed_wait_s(
        setpoints.total_flow_ul_min,
        setpoints.residence_time_s,
        transfer_volume_ul=rig.transfer_volume_ul,
        residence_times=protocol.residence_times,
    )


REFILL_MARGIN = (0.1, 60.0)
"""A syringe must hold the steady-state wait's volume plus this fraction of it plus this many seconds
of flow (the measurement, and an emulator's or a loaded host's late timers) to start an experiment."""


def syringe_need_ul(flow_ul_min: float, wait_s: float) -> float:
    """Volume (uL) a pump at ``flow_ul_min`` needs to see an experiment through from the moment its
    flows are set: the wait ``wait_s`` with ``REFILL_MARGIN``, plus what an empty syringe keeps."""
    if flow_ul_min <= 0:
        return 0.0
    fraction, seconds = REFILL_MARGIN
    return dispensed_ul(flow_ul_min, wait_s * (1.0 + fraction) + seconds) + SYRINGE_EMPTY_TOLERANCE_UL


def refill_if_short(
    rig: Rig, setpoints: Setpoints, protocol: ProtocolSpec, *, wait_s: float | None = None
) -> Plan:
    """Before an experiment's flows are set: while a syringe holds less than ``syringe_need_ul``, stop
    every pump and wait on ``rig.refills`` (the heater holds its set point) until it is refilled; each
    refill is recorded as a ``refill`` event of the experiment's run. No station: nothing to check.
    ``wait_s``: how long the flows run (default: the steady-state wait; a dynamic trajectory's length)."""
    if rig.refills is None:
        return
    if wait_s is None:
        wait_s = steady_state_wait_s(rig, setpoints, protocol)
    while True:
        short: dict[str, tuple[float, float]] = {}
        for reagent, pump in rig.pumps.items():
            need = syringe_need_ul(setpoints.flows_ul_min.get(reagent, 0.0), wait_s)
            if need > pump.limits.syringe_volume_ul:
                raise DeviceError(
                    f"{pump.name}: this experiment needs {need:.0f} uL of {reagent}, more than its "
                    f"{pump.limits.syringe_volume_ul:g} uL syringe holds; use a larger syringe or "
                    "narrow the search space"
                )
            if need > 0:
                remaining = yield from bps.rd(pump.remaining)
                if remaining < need:
                    short[pump.name] = (need, remaining)
        if not short:
            return
        moves: list[Any] = []
        for pump in rig.pumps.values():
            moves += [pump, 0.0]
        yield from bps.mv(*moves)
        yield from bps.abs_set(rig.refills, short, wait=True)
        yield from bps.trigger_and_read([rig.refills], name="refill")


def settle_heater(rig: Rig, setpoint_c: float, protocol: ProtocolSpec) -> Plan:
    """Move the heater and wait until it has stayed within tolerance for ``protocol.heater_hold`` s.

    With ``protocol.cost_aware`` the settle is recorded (the coil's temperature before the move, the set
    point, the seconds waited) as a ``heater_settle`` event: the heater's measured behaviour, from which
    ``campaigns.cost`` fits its heating and cooling rates."""
    from_c = (yield from bps.rd(rig.heater.temperature)) if protocol.cost_aware else None
    waited = yield from _settle(rig, setpoint_c, protocol)
    if protocol.cost_aware:
        record = rig.heater_settle
        yield from bps.mv(record.from_c, from_c, record.to_c, float(setpoint_c), record.s, waited)
        yield from bps.trigger_and_read([record], name=HEATER_STREAM)
    return waited


def _settle(rig: Rig, setpoint_c: float, protocol: ProtocolSpec) -> Plan:
    yield from bps.mv(rig.heater, setpoint_c)
    tolerance = rig.heater.limits.tolerance_c
    waited = in_band_for = 0.0
    while True:
        temperature = yield from bps.rd(rig.heater.temperature)
        in_band_for = (
            in_band_for + protocol.poll_interval if abs(temperature - setpoint_c) <= tolerance else 0.0
        )
        if in_band_for >= protocol.heater_hold:
            return waited
        if waited >= protocol.heater_timeout:
            raise DeviceError(
                f"{rig.heater.name}: still at {temperature:.1f} degC after {waited:.0f} s, set point "
                f"{setpoint_c:.1f} degC; check the heater and its thermocouple"
            )
        yield from bps.mv(rig.timer, protocol.poll_interval)
        waited += protocol.poll_interval


def calibrate(rig: Rig, protocol: ProtocolSpec, *, flush_flow_ul_min: float) -> Plan:
    """Flush the flow cell with solvent only, then record the spectrometer's dark and blank reference."""
    moves: list[Any] = []
    for reagent, pump in rig.pumps.items():
        moves += [pump, flush_flow_ul_min if reagent == SOLVENT else 0.0]
    yield from bps.mv(*moves)
    flush_s = calibration_flush_s(
        rig.reactor_volume_ul, rig.transfer_volume_ul, flush_flow_ul_min, protocol.flush_residence_times
    )
    yield from bps.mv(rig.timer, flush_s)
    yield from bps.mv(rig.spectrometer, "dark")
    yield from bps.mv(rig.spectrometer, "reference")


def model_conditions(setpoints: Setpoints) -> dict[str, float]:
    """What a user's steady-state reactor model is given: temperature, flows, residence time and
    concentrations in the mixed stream (units in the names)."""
    return {
        "temperature": setpoints.temperature_c,
        "residence_time_s": setpoints.residence_time_s,
        **{f"flow_{r}": q for r, q in setpoints.flows_ul_min.items()},
        **{f"conc_{r}_mM": c for r, c in setpoints.concentrations_mM.items()},
    }


def _limiting_mM(setpoints: Setpoints) -> float:
    concentrations = [c for r, c in setpoints.concentrations_mM.items() if r != SOLVENT and c > 0]
    return min(concentrations) if concentrations else 0.0


def experiment(
    rig: Rig,
    setpoints: Setpoints,
    protocol: ProtocolSpec,
    *,
    material: str,
    objective: Callable[[dict], float | None] | None = None,
    annotate: Callable[[dict], dict] | None = None,
    md: dict | None = None,
    on_settling: Callable[[], None] | None = None,
) -> Plan:
    """One experiment as one bluesky run; returns its outcomes (figures of merit and ``failure``).

    A chemistry failure (a clog stalls a pump, no particles, a saturated detector) is data: the run
    closes with exit status ``success`` and ``failure`` names what happened. ``on_settling`` is called
    once its flows are set, before the wait for steady state (again if a suspension re-runs them).
    """

    result: dict[str, Any] = {}

    @bpp.run_decorator(md=md or {})
    def _run() -> Plan:
        # Checkpoints: where a suspension (lab/run/interlocks.py) rewinds to. Here, before anything moves, so
        # a suspension before the measurement re-runs this experiment's set, settle and wait (the pumps
        # were stopped meanwhile); see docs/adr/0007-stop-and-suspend.md.
        yield from bps.checkpoint()
        yield from _reach_steady_state(rig, setpoints, protocol, material, on_settling)
        reading, outcomes = yield from _measure(rig, setpoints, material)
        yield from bps.checkpoint()  # measured: a later suspension must not measure (or record) it again
        outcomes = yield from _judge(rig, reading, outcomes, protocol, objective, annotate)
        yield from _record(rig, outcomes)
        yield from bps.checkpoint()  # recorded: nothing of this experiment is replayed into the next one
        result.update(outcomes)

    yield from _run()  # run_wrapper returns the run's uid, not the plan's value
    return result


def _reach_steady_state(
    rig: Rig,
    setpoints: Setpoints,
    protocol: ProtocolSpec,
    material: str,
    on_settling: Callable[[], None] | None = None,
) -> Plan:
    """Settle the heater, refill a short syringe, set the flows (then call ``on_settling``) and wait for
    the new steady state: the fixed wait, or as long as the spectra say (``protocol.steady_state``,
    campaigns.steady_state), never longer."""
    yield from settle_heater(rig, setpoints.temperature_c, protocol)
    yield from refill_if_short(rig, setpoints, protocol)
    moves: list[Any] = []
    for reagent, pump in rig.pumps.items():
        moves += [pump, setpoints.flows_ul_min.get(reagent, 0.0)]
    yield from bps.mv(*moves)
    if on_settling is not None:
        on_settling()
    bound_s = steady_state_wait_s(rig, setpoints, protocol)
    if protocol.steady_state == "detect" and rig.model is None:  # a reactor model has no spectra to watch
        yield from detect_steady_state(
            rig,
            minimum_s=rig.dead_time_s(setpoints.total_flow_ul_min) + setpoints.residence_time_s,
            bound_s=bound_s,
            interval_s=probe_interval_s(setpoints.residence_time_s, protocol.poll_interval),
            figures=lambda reading: _spectra_figures(rig, reading, setpoints, material),
        )
    else:
        yield from bps.mv(rig.timer, bound_s)


def _measure(rig: Rig, setpoints: Setpoints, material: str) -> Plan:
    """The ``primary`` event and the outcomes measured in it: (reading, outcomes), from the user's
    reactor model when the rig has one, else from the spectra."""
    if rig.model is not None:
        reading = yield from bps.trigger_and_read(
            [rig.heater, *rig.pumps.values(), rig.timer], name="primary"
        )
        modelled = dict(rig.model(model_conditions(setpoints)))
        modelled.setdefault("failure", None)
        return reading, modelled
    reading = yield from bps.trigger_and_read(
        [rig.spectrometer, rig.heater, *rig.pumps.values(), rig.timer], name="primary"
    )
    outcomes = yield from _spectra_figures(rig, reading, setpoints, material)
    return reading, outcomes


def _spectra_figures(rig: Rig, reading: Mapping[str, Any], setpoints: Setpoints, material: str) -> Plan:
    """The figures of merit of the spectra in ``reading`` (a ``trigger_and_read`` of the spectrometer)."""
    wl_abs = yield from bps.rd(rig.spectrometer.abs_wavelengths)
    wl_pl = yield from bps.rd(rig.spectrometer.pl_wavelengths)
    spec = rig.spectrometer.name
    outcomes: FiguresOfMerit = figures_of_merit(
        wl_abs,
        reading[f"{spec}_absorbance"]["value"],
        wl_pl,
        reading[f"{spec}_pl"]["value"],
        material=material,
        integration_ms=reading[f"{spec}_pl_integration_time"]["value"],
        plqy_reference_counts_per_ms=rig.plqy_reference,
        path_length_cm=rig.path_length_cm,
        limiting_mM=_limiting_mM(setpoints),
        saturated=bool(reading[f"{spec}_saturated"]["value"]),
        abs_integration_ms=reading[f"{spec}_abs_integration_time"]["value"],
    )
    return outcomes


def _judge(
    rig: Rig,
    reading: dict,
    outcomes: dict[str, Any],
    protocol: ProtocolSpec,
    objective: Callable[[dict], float | None] | None,
    annotate: Callable[[dict], dict] | None,
) -> Plan:
    """The outcomes to record: blanked with a ``failure`` when one is not finite or a pump alarmed (a
    stalled line is stopped and flushed first), then the objective and the annotations."""
    if non_finite(outcomes):
        outcomes = dict.fromkeys(outcomes)
        outcomes["failure"] = NON_FINITE_OUTCOME
    alarms = {p.name: reading[f"{p.name}_alarm"]["value"] for p in rig.pumps.values()}
    if any(alarms.values()):
        outcomes = dict.fromkeys(outcomes)
        outcomes["failure"] = "clog" if "stall" in alarms.values() else "pump_alarm"
        for pump in rig.pumps.values():  # a stalled line must not keep pressurising
            yield from bps.stop(pump)
        yield from bps.mv(rig.timer, protocol.clog_recovery)  # the line is flushed (back-flush/operator)
    outcomes["objective"] = objective(outcomes) if objective is not None else None
    if non_finite({"objective": outcomes["objective"]}):
        outcomes = {**dict.fromkeys(outcomes), "failure": NON_FINITE_OUTCOME}
    if annotate is not None:
        outcomes.update(annotate(outcomes))
    return outcomes


def _record(rig: Rig, outcomes: dict[str, Any]) -> Plan:
    """The ``outcomes`` event: each outcome the device carries ('' for no failure or quality)."""
    moves: list[Any] = []
    for key, value in outcomes.items():
        if key in rig.outcomes.keys:
            moves += [
                rig.outcomes.signal_for(key),
                "" if key in ("failure", "quality") and value is None else value,
            ]
    yield from bps.mv(*moves)
    yield from bps.trigger_and_read([rig.outcomes], name="outcomes")


class ProposeAhead(Protocol):
    """The next proposal computed while an experiment waits for steady state (``[protocol] overlap``)."""

    def start(self, index: int, parameters: dict) -> None:
        """Experiment ``index``, run at ``parameters``, has its flows set: begin the next proposal (with
        ``parameters`` pending); nothing after the last experiment, nothing new if it already began."""

    def waits(self) -> list[Callable[[], Awaitable[Any]]]:
        """Before ``learn``: what the plan waits on (one ``wait_for`` message, so the RunEngine stays free
        to pause or stop meanwhile); empty when no proposal is still being computed."""
        ...


def closed_loop(
    rig: Rig,
    *,
    propose: Callable[[int], tuple[dict, Setpoints, dict]],
    learn: Callable[[int, dict, dict], None],
    indices: range,
    protocol: ProtocolSpec,
    material: str,
    objective: Callable[[dict], float | None] | None = None,
    annotate: Callable[[dict], dict] | None = None,
    ahead: ProposeAhead | None = None,
) -> Plan:
    """Propose, run, learn, for each experiment index in ``indices``.

    ``propose(index)`` returns (parameters, set points, start-document metadata); ``learn(index,
    parameters, outcomes)`` feeds the optimiser. Both are plain callables so the loop stays short and
    the decision logic lives in the optimiser. With ``ahead``, each experiment's wait for steady state
    starts the next proposal (``ahead.start``), and the loop waits for it (``ahead.waits``) before
    ``learn``: ``propose`` then hands over the proposal already made.
    """
    for index in indices:
        parameters, setpoints, md = propose(index)
        _check_setpoints(index, setpoints)
        settling = None if ahead is None else functools.partial(ahead.start, index, parameters)
        outcomes = yield from experiment(
            rig,
            setpoints,
            protocol,
            material=material,
            objective=objective,
            annotate=annotate,
            md=md,
            on_settling=settling,
        )
        waits = [] if ahead is None else ahead.waits()
        if waits:
            yield from bps.wait_for(waits)
        learn(index, parameters, outcomes)
