"""Pre-flight: every point of a campaign's search space must be makeable within the lab's limits, and
what the campaign will cost in reagent and reactor hours.

Checked on the corners of the box and a scrambled Sobol sample before anything moves, so a campaign
never stops half-way because the optimiser found a corner the pumps cannot deliver. Up to
``ALL_CORNERS_MAX_DIMS`` parameters every one of the 2^N corners is checked; beyond that (2^N would not
fit in memory), the two opposite corners, each axis' two extremes (the corner with only that parameter
high, and the one with only it low) and ``CORNER_SAMPLE`` corners drawn with a fixed seed: 2 + 2N + 256
corners, linear in N and the same on every run.

``estimate`` follows the plans (``campaigns.plans``) step by step for each sampled point: the heater
settles from the previous experiment's temperature while the previous flows run (a first-order heater
of time constant ``heater_time_constant_s`` polled every ``poll_interval`` until in tolerance for
``heater_hold``), then the new flows run for the dead time plus ``residence_times`` residence times;
before the first experiment the calibration flushes the cell with solvent and the heater comes up from
``start_temperature_c``. Expected = the mean over consecutive points of the Sobol sample, worst = the
slowest point after the longest heater travel, both times the number of experiments. A clog adds
``clog_recovery`` of reactor time (pumps stopped), counted in neither. Refills replay the plan's rule
(``refill_if_short``) on the expected and the worst experiment.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import qmc

from campaigns.conditions import SOLVENT, Setpoints, to_setpoints
from campaigns.flow import calibration_flush_s, dispensed_ul, fixed_wait_s
from campaigns.plans import syringe_need_ul
from campaigns.spec import CampaignSpec
from devices import HeaterLimits, PumpLimits
from models.errors import ConfigurationError, SafetyError
from models.objectives import MultiObjective

__all__ = [
    "preflight",
    "sample_points",
    "iter_points",
    "corner_points",
    "ALL_CORNERS_MAX_DIMS",
    "CORNER_SAMPLE",
    "estimate",
    "experiment_cost",
    "heater_settle_s",
    "CampaignEstimate",
    "ReagentEstimate",
    "ExperimentCost",
]


HEATER_NAME = "heater"
"""The rig's heater device (``lab.run.rig_builder``): the name its limits' refusals carry."""
ALL_CORNERS_MAX_DIMS = 10
"""Up to this many parameters, pre-flight checks all 2^N corners of the box (1,024 at most)."""
CORNER_SAMPLE = 256
"""Beyond ``ALL_CORNERS_MAX_DIMS``, this many corners drawn at random (seed 0) join the axis extremes."""


def corner_points(n_dims: int, *, seed: int = 0) -> np.ndarray:
    """The corners pre-flight checks, in the unit cube (``m x n_dims``, entries 0 or 1).

    All 2^N for N <= ``ALL_CORNERS_MAX_DIMS``; else 2 + 2N + ``CORNER_SAMPLE`` (module docstring), so
    memory and time are linear in N.
    """
    if n_dims <= ALL_CORNERS_MAX_DIMS:
        return np.array(list(itertools.product([0.0, 1.0], repeat=n_dims)), dtype=float).reshape(-1, n_dims)
    eye = np.eye(n_dims)
    sampled = np.random.default_rng(seed).integers(0, 2, size=(CORNER_SAMPLE, n_dims)).astype(float)
    return np.vstack([np.zeros((1, n_dims)), np.ones((1, n_dims)), eye, 1.0 - eye, sampled])


def iter_points(
    spec: CampaignSpec, n_sobol: int = 256, *, corners: bool = True
) -> Iterator[dict[str, float]]:
    """The checked corners (unless ``corners=False``, see ``corner_points``) then ``n_sobol`` scrambled
    Sobol points (seed 0), one dict of parameter values at a time."""
    params = spec.search.parameters
    lows = np.array([p.low for p in params])
    highs = np.array([p.high for p in params])
    blocks = [corner_points(len(params))] if corners else []
    sobol = qmc.Sobol(len(params), scramble=True, seed=0)  # pyright: ignore[reportCallIssue] - scipy's stubs know only rng=
    blocks.append(sobol.random(n_sobol))
    for block in blocks:
        for row in block:
            values = dict(spec.search.fixed)
            for p, u, lo, hi in zip(params, row, lows, highs):
                values[p.name] = (
                    float(np.exp(np.log(lo) + u * np.log(hi / lo))) if p.log else float(lo + u * (hi - lo))
                )
            yield values


def sample_points(spec: CampaignSpec, n_sobol: int = 256, *, corners: bool = True) -> list[dict[str, float]]:
    """``iter_points`` as a list."""
    return list(iter_points(spec, n_sobol, corners=corners))


def _check_mode(spec: CampaignSpec, source: str) -> None:
    """A dynamic campaign (docs/adr/0016) has one objective, and its own way of spending the rig's time."""
    protocol = spec.protocol
    if protocol.mode != "dynamic":
        return
    if protocol.overlap:
        raise ConfigurationError(
            'overlap applies to steady-state campaigns; with mode = "dynamic" leave it unset',
            source=source,
            key="protocol.mode",
        )
    if isinstance(spec.parsed_objective, MultiObjective):
        raise ConfigurationError(
            'mode = "dynamic" optimises one objective; a list of objectives (a Pareto front) runs in '
            'mode = "steady"',
            source=source,
            key="protocol.mode",
        )


def preflight(
    spec: CampaignSpec,
    *,
    reactor_volume_ul: float,
    stocks_mM: dict[str, float],
    pump_limits: dict[str, PumpLimits],
    heater_limits: HeaterLimits,
    source: str,
    transfer_volume_ul: float | None = None,
    pump_names: Mapping[str, str] | None = None,
) -> None:
    """Raise ``ConfigurationError`` naming the first point of the search space the lab cannot make
    (with ``transfer_volume_ul``, also one whose experiment needs more than a full syringe).

    A point is makeable when the device layer would take it: ``HeaterLimits.check_setpoint`` and
    ``PumpLimits.check_rate`` decide, and the error carries their refusal as the rig's heater
    (``"heater"``) and pumps (``pump_names``: each reagent's pump name; default the reagent) would say it."""
    _check_mode(spec, source)
    names = dict(pump_names or {})
    for values in iter_points(spec):
        where = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
        sp = _point_setpoints(spec, values, where, reactor_volume_ul, stocks_mM, source)
        _check_heater(heater_limits, sp, source)
        for reagent, flow in sp.flows_ul_min.items():
            limits = pump_limits[reagent]
            _check_rate(limits, names.get(reagent, reagent), reagent, flow, where, source)
            need = (
                0.0
                if transfer_volume_ul is None
                else syringe_need_ul(flow, _wait_s(sp, transfer_volume_ul, spec.protocol.residence_times))
            )
            _check_syringe(limits, reagent, need, where, source)


def _point_setpoints(
    spec: CampaignSpec,
    values: dict[str, float],
    where: str,
    reactor_volume_ul: float,
    stocks_mM: dict[str, float],
    source: str,
) -> Setpoints:
    """``values`` as set points; a point the stocks cannot make is the campaign's error."""
    try:
        return to_setpoints(
            values, kind=spec.search.kind, reactor_volume_ul=reactor_volume_ul, stocks_mM=stocks_mM
        )
    except ValueError as exc:
        raise ConfigurationError(
            f"at {where}: {exc}; narrow the bounds", source=source, key="search"
        ) from None


def _check_heater(heater_limits: HeaterLimits, sp: Setpoints, source: str) -> None:
    """The heater's refusal of the point's temperature, as the campaign's error."""
    try:
        heater_limits.check_setpoint(HEATER_NAME, sp.temperature_c)
    except SafetyError as exc:
        raise ConfigurationError(
            f"temperature {sp.temperature_c:g} degC is beyond the lab's heater limits ({exc}); "
            "narrow the bounds",
            source=source,
            key="search.temperature",
        ) from None


def _check_rate(limits: PumpLimits, pump: str, reagent: str, flow: float, where: str, source: str) -> None:
    """The pump's refusal of ``flow``, as the campaign's error."""
    try:
        limits.check_rate(pump, flow)
    except SafetyError as exc:
        raise ConfigurationError(
            f"at {where} the {reagent} pump would run at {flow:.4g} uL/min ({exc}); narrow the "
            "bounds or change the stock",
            source=source,
            key="search",
        ) from None


def _check_syringe(limits: PumpLimits, reagent: str, need: float, where: str, source: str) -> None:
    """One experiment needing ``need`` uL, more than a full syringe, is the campaign's error."""
    if need > limits.syringe_volume_ul:
        raise ConfigurationError(
            f"at {where} one experiment needs {need / 1000:.3g} mL of {reagent}, more than its "
            f"{limits.syringe_volume_ul / 1000:g} mL syringe holds; use a larger syringe or narrow the "
            f"bounds",
            source=source,
            key="search",
        )


@dataclass(frozen=True)
class ExperimentCost:
    """What one experiment takes: reactor time (s) and each reagent's volume (uL)."""

    seconds: float
    volumes_ul: dict[str, float]
    settle_s: float
    wait_s: float


@dataclass(frozen=True)
class ReagentEstimate:
    """One reagent over the campaign: volumes in uL; refills the plan will ask for (0: none)."""

    reagent: str
    pump: str
    expected_ul: float
    worst_ul: float
    syringe_ul: float
    refills_expected: int
    refills_worst: int


@dataclass(frozen=True)
class CampaignEstimate:
    """Reagent and reactor time for ``experiments`` experiments (times in s, volumes in uL)."""

    experiments: int
    expected_s: float
    worst_s: float
    per_experiment_expected_s: float
    clog_recovery_s: float
    heater_time_constant_s: float
    reagents: tuple[ReagentEstimate, ...]

    def as_dict(self) -> dict:
        """Plain data (for a start document's metadata)."""
        data = asdict(self)
        data["reagents"] = [asdict(r) for r in self.reagents]
        return data


def heater_settle_s(
    from_c: float,
    to_c: float,
    *,
    tolerance_c: float,
    time_constant_s: float,
    hold_s: float,
    poll_s: float,
    timeout_s: float,
) -> float:
    """Time (s) ``settle_heater`` takes to see a first-order heater settle from ``from_c`` to ``to_c``."""
    gap = abs(to_c - from_c)
    enter_s = time_constant_s * math.log(gap / tolerance_c) if gap > tolerance_c else 0.0
    enter_s = min(math.ceil(enter_s / poll_s - 1e-9) * poll_s, timeout_s)
    return enter_s + max(0, math.ceil(hold_s / poll_s - 1e-9) - 1) * poll_s


def experiment_cost(
    previous: Setpoints | None,
    setpoints: Setpoints,
    spec: CampaignSpec,
    *,
    transfer_volume_ul: float,
    tolerance_c: float,
    heater_time_constant_s: float,
    start_temperature_c: float = 25.0,
    flush_flow_ul_min: float = 0.0,
) -> ExperimentCost:
    """One experiment after ``previous`` (None: the first, after calibration at ``flush_flow_ul_min``)."""
    protocol = spec.protocol
    before_c = start_temperature_c if previous is None else previous.temperature_c
    before_flows = {SOLVENT: flush_flow_ul_min} if previous is None else previous.flows_ul_min
    settle = heater_settle_s(
        before_c,
        setpoints.temperature_c,
        tolerance_c=tolerance_c,
        time_constant_s=heater_time_constant_s,
        hold_s=protocol.heater_hold,
        poll_s=protocol.poll_interval,
        timeout_s=protocol.heater_timeout,
    )
    total = setpoints.total_flow_ul_min
    wait = fixed_wait_s(
        total,
        setpoints.residence_time_s,
        transfer_volume_ul=transfer_volume_ul,
        residence_times=protocol.residence_times,
    )
    reagents = set(setpoints.flows_ul_min) | set(before_flows)
    volumes = {
        r: dispensed_ul(before_flows.get(r, 0.0), settle)
        + dispensed_ul(setpoints.flows_ul_min.get(r, 0.0), wait)
        for r in reagents
    }
    return ExperimentCost(settle + wait, volumes, settle, wait)


def _refills(
    syringe_ul: float, first_ul: float, settle_ul: float, wait_ul: float, need_ul: float, n: int
) -> int:
    """Refills ``refill_if_short`` asks for in ``n`` experiments that each use ``settle_ul`` while the
    heater settles (``first_ul`` for the first), then ``wait_ul``, and need ``need_ul`` at the check."""
    left, refills = syringe_ul, 0
    for k in range(n):
        left = max(0.0, left - (first_ul if k == 0 else settle_ul))  # a syringe that runs dry just stops
        if left < need_ul:
            refills, left = refills + 1, syringe_ul
        left -= wait_ul
    return refills


@dataclass(frozen=True)
class _Sample:
    """What ``estimate`` averages over: the sampled points and what each costs."""

    points: list[Setpoints]
    steps: list[ExperimentCost]
    """Each point after the one before it."""
    firsts: list[ExperimentCost]
    """Each point as the first experiment, after the calibration."""
    point_waits_s: list[float]
    """Each point's steady-state wait (s)."""
    flush_s: float
    """The calibration's solvent flush (s)."""
    flush_flow_ul_min: float
    travel_s: float
    """The heater's settling over the sample's whole temperature span (s)."""


def estimate(
    spec: CampaignSpec,
    *,
    experiments: int,
    reactor_volume_ul: float,
    transfer_volume_ul: float,
    stocks_mM: dict[str, float],
    syringes: dict[str, tuple[str, float]],
    flush_flow_ul_min: float,
    tolerance_c: float,
    heater_time_constant_s: float,
    start_temperature_c: float = 25.0,
    n_sobol: int = 256,
) -> CampaignEstimate:
    """Reagent volumes and reactor time for ``experiments`` more experiments of ``spec``.

    ``syringes`` maps each reagent to (pump name, syringe volume in uL). Pure: no device, no file.
    """
    points = [
        to_setpoints(v, kind=spec.search.kind, reactor_volume_ul=reactor_volume_ul, stocks_mM=stocks_mM)
        for v in sample_points(spec, n_sobol, corners=False)
    ]
    sample = _sample(
        spec,
        points,
        reactor_volume_ul=reactor_volume_ul,
        transfer_volume_ul=transfer_volume_ul,
        flush_flow_ul_min=flush_flow_ul_min,
        tolerance_c=tolerance_c,
        heater_time_constant_s=heater_time_constant_s,
        start_temperature_c=start_temperature_c,
    )
    expected_s, worst_s = _campaign_seconds(sample, experiments)
    reagents = [
        _reagent_estimate(sample, experiments, reagent, pump, syringe_ul)
        for reagent, (pump, syringe_ul) in syringes.items()
    ]
    return CampaignEstimate(
        experiments=experiments,
        expected_s=expected_s,
        worst_s=worst_s,
        per_experiment_expected_s=float(np.mean([s.seconds for s in sample.steps])),
        clog_recovery_s=spec.protocol.clog_recovery,
        heater_time_constant_s=heater_time_constant_s,
        reagents=tuple(reagents),
    )


def _sample(
    spec: CampaignSpec,
    points: list[Setpoints],
    *,
    reactor_volume_ul: float,
    transfer_volume_ul: float,
    flush_flow_ul_min: float,
    tolerance_c: float,
    heater_time_constant_s: float,
    start_temperature_c: float,
) -> _Sample:
    """Each sampled point's cost, after the one before it and as the first, and the heater's travel."""
    protocol = spec.protocol
    common = dict(
        transfer_volume_ul=transfer_volume_ul,
        tolerance_c=tolerance_c,
        heater_time_constant_s=heater_time_constant_s,
    )
    steps = [experiment_cost(a, b, spec, **common) for a, b in zip(points[:-1], points[1:])]
    firsts = [
        experiment_cost(
            None,
            p,
            spec,
            start_temperature_c=start_temperature_c,
            flush_flow_ul_min=flush_flow_ul_min,
            **common,
        )
        for p in points
    ]
    flush_s = calibration_flush_s(
        reactor_volume_ul, transfer_volume_ul, flush_flow_ul_min, protocol.flush_residence_times
    )
    lows = [p.temperature_c for p in points]
    travel = heater_settle_s(
        min(lows),
        max(lows),
        hold_s=protocol.heater_hold,
        poll_s=protocol.poll_interval,
        timeout_s=protocol.heater_timeout,
        tolerance_c=tolerance_c,
        time_constant_s=heater_time_constant_s,
    )
    point_waits = [_wait_s(p, transfer_volume_ul, protocol.residence_times) for p in points]
    return _Sample(points, steps, firsts, point_waits, flush_s, flush_flow_ul_min, travel)


def _campaign_seconds(sample: _Sample, experiments: int) -> tuple[float, float]:
    """Expected and worst reactor time (s) of ``experiments`` experiments after the calibration."""
    steps, firsts, flush_s = sample.steps, sample.firsts, sample.flush_s
    waits = [s.wait_s for s in steps]
    first_mean = float(np.mean([f.seconds for f in firsts])) if experiments else 0.0
    expected_s = flush_s + first_mean + max(0, experiments - 1) * float(np.mean([s.seconds for s in steps]))
    worst_first = max(f.seconds for f in firsts)
    worst_s = flush_s + (
        worst_first + max(0, experiments - 1) * (sample.travel_s + max(waits)) if experiments else 0.0
    )
    return expected_s, worst_s


def _reagent_estimate(
    sample: _Sample, experiments: int, reagent: str, pump: str, syringe_ul: float
) -> ReagentEstimate:
    """One reagent's expected and worst volume over the campaign, and the refills each asks for."""
    points, steps, firsts = sample.points, sample.steps, sample.firsts
    flows = np.array([p.flows_ul_min.get(reagent, 0.0) for p in points])
    wait_ul = dispensed_ul(flows, np.array(sample.point_waits_s))
    settle_ul = float(np.mean([s.volumes_ul.get(reagent, 0.0) for s in steps])) - float(np.mean(wait_ul))
    first_ul = float(np.mean([f.volumes_ul.get(reagent, 0.0) - w for f, w in zip(firsts, wait_ul)]))
    calib_ul = dispensed_ul(sample.flush_flow_ul_min, sample.flush_s) if reagent == SOLVENT else 0.0
    needs = [syringe_need_ul(q, w) for q, w in zip(flows, sample.point_waits_s)]
    mean_wait_ul = float(np.mean(wait_ul))
    worst_wait_ul = float(np.max(wait_ul))
    worst_settle_ul = dispensed_ul(float(np.max(flows)), sample.travel_s)
    worst_first_ul = max(f.volumes_ul.get(reagent, 0.0) - w for f, w in zip(firsts, wait_ul))
    later = max(0, experiments - 1)
    expected_ul = calib_ul + (
        first_ul + experiments * mean_wait_ul + later * settle_ul if experiments else 0.0
    )
    worst_ul = calib_ul + (
        worst_first_ul + experiments * worst_wait_ul + later * worst_settle_ul if experiments else 0.0
    )
    return ReagentEstimate(
        reagent=reagent,
        pump=pump,
        expected_ul=expected_ul,
        worst_ul=worst_ul,
        syringe_ul=syringe_ul,
        refills_expected=_refills(
            syringe_ul, calib_ul + first_ul, settle_ul, mean_wait_ul, float(np.mean(needs)), experiments
        ),
        refills_worst=_refills(
            syringe_ul,
            calib_ul + worst_first_ul,
            worst_settle_ul,
            worst_wait_ul,
            float(np.max(needs)),
            experiments,
        ),
    )


def _wait_s(setpoints: Setpoints, transfer_volume_ul: float, residence_times: float) -> float:
    """``steady_state_wait_s`` without a rig (s)."""
    return fixed_wait_s(
        setpoints.total_flow_ul_min,
        setpoints.residence_time_s,
        transfer_volume_ul=transfer_volume_ul,
        residence_times=residence_times,
    )
