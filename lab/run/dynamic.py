"""What a dynamic-flow campaign does next (``[protocol] mode = "dynamic"``; docs/adr/0016-dynamic-flow.md).

Each experiment index is one of two runs:

- a **confirmation**: a steady-state experiment at a sample that met the target (``objective.reached``
  on its figures averaged with its neighbours', :func:`smoothed_rows`), the best such sample by
  objective value that promises more than every confirmation so far and is not within
  :data:`CONFIRMED_NEAR` of one already confirmed. Only a confirmation counts as reaching the target.
  Without ``reached`` ranges, every :data:`CONFIRM_EVERY`-th run confirms the best sample instead.
- otherwise a **trajectory**: from where the rig is (the last run's end) to the optimiser's next
  proposal (``suggest(1)``, the trajectories' thinned samples and the confirmations as its data); the
  first trajectory visits the optimiser's initial design, ordered by temperature, after a hold that fills
  the coil. Each leg's time keeps the samples' mixture within tolerance (:func:`leg_s`).

:func:`next_step` is a pure function of the records and the optimiser's rows, so replay re-derives each
decision from the log as the live loop made it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from campaigns.conditions import Setpoints, campaign_setpoints
from campaigns.dynamic import Reactor, assignments, inlet_history
from campaigns.streams import PARAMETER_PREFIX
from campaigns.preflight import HEATER_NAME
from campaigns.strategy import parameters_of
from campaigns.transient import MIN_WEIGHT, Assignment
from campaigns.flow import transit_s
from campaigns.transient import SPREAD_TOLERANCE, Trajectory, from_unit, to_unit
from lab.store.records import ExperimentRecord

__all__ = [
    "Planner",
    "Step",
    "next_step",
    "leg_s",
    "confirmation_candidate",
    "CONFIRMED_NEAR",
    "CONFIRM_EVERY",
    "INITIAL_WAYPOINTS",
]

CONFIRMED_NEAR = 0.05
"""A sample this close (largest unit-box coordinate) to a confirmed point is not confirmed again."""
CONFIRM_EVERY = 3
"""Without a target, every this-many-th run confirms the best sample."""
SPREAD_AIM = 0.75 * SPREAD_TOLERANCE
"""The mixture spread a leg is paced for (a margin under the tolerance)."""
MIN_LEG_S = 60.0
INITIAL_WAYPOINTS = 3
"""Points of the optimiser's initial design the first trajectory visits (a short path: each leg's
time grows with its length and residence time)."""
FILL_RESIDENCE_TIMES = 1.5
"""The first trajectory holds its start for the dead time plus this many residence times."""


@dataclass(frozen=True)
class Step:
    """The next run: a confirmation at ``parameters`` (``trajectory`` None), or a trajectory ending there."""

    parameters: dict[str, float]
    trajectory: Trajectory | None = None


def _coords(parameters: Sequence[Mapping[str, Any]], values: Mapping[str, float]) -> list[float]:
    return [float(to_unit(p, values[p["name"]])) for p in parameters]


def _near(a: list[float], b: list[float], distance: float) -> bool:
    return max(abs(x - y) for x, y in zip(a, b)) < distance


SMOOTHING = 5
"""A candidate for confirmation is judged on the mean of this many consecutive spectra centred on it:
picking the best of many single noisy spectra favours the lucky ones (the winner's curse), and their
confirmations missed the target by a noise's width."""


def smoothed_rows(record: ExperimentRecord, outcomes: Sequence[str]) -> list[dict[str, Any]]:
    """A trajectory's samples, each with ``outcomes`` averaged over the :data:`SMOOTHING` consecutive
    spectra centred on it; only samples whose whole window was learnt-weight (at least
    ``campaigns.transient.MIN_WEIGHT``) and measured every outcome."""
    names = [p["name"] for p in (record.trajectory or {}).get("parameters", [])]
    samples = record.samples
    half = SMOOTHING // 2
    out = []
    for k in range(half, len(samples) - half):
        window = samples[k - half : k + half + 1]
        if any(float(s.get("weight") or 0.0) < MIN_WEIGHT or s.get("failure") for s in window):
            continue
        values = {o: [s.get(o) for s in window] for o in outcomes}
        if any(not all(isinstance(v, (int, float)) for v in vs) for vs in values.values()):
            continue
        at = {n: samples[k].get(PARAMETER_PREFIX + n) for n in names}
        if any(not isinstance(v, (int, float)) for v in at.values()):
            continue
        out.append({**at, **{o: sum(vs) / len(vs) for o, vs in values.items()}, "failure": None})
    return out


def confirmation_candidate(
    records: Sequence[ExperimentRecord], objective: Any, parameters: Sequence[Mapping[str, Any]]
) -> dict[str, float] | None:
    """The sample to confirm next (its assigned parameters), or None: judged on its
    :func:`smoothed_rows` figures."""
    names = [p["name"] for p in parameters]
    confirmed = [_coords(parameters, r.parameters) for r in records if r.trajectory is None]
    judged = list(dict.fromkeys([*objective.outcomes, *getattr(objective, "reached_ranges", {})]))
    rows = [row for r in records if r.trajectory is not None for row in smoothed_rows(r, judged)]
    has_target = bool(objective.reached_ranges)
    if not has_target:
        runs_since = 0
        for r in reversed(records):
            if r.trajectory is None:
                break
            runs_since += 1
        if runs_since < CONFIRM_EVERY - 1:
            return None
    confirmed_values = [
        v
        for r in records
        if r.trajectory is None and r.completed
        for v in [objective.value(r.outcome_row())]
        if v is not None and math.isfinite(v)
    ]
    bar = max(confirmed_values, default=-math.inf)  # a candidate must promise more than what is confirmed
    best: tuple[float, dict[str, float]] | None = None
    for row in rows:
        if has_target and not objective.reached(row):
            continue
        value = objective.value(row)
        if value is None or not math.isfinite(value) or value <= bar:
            continue
        u = _coords(parameters, row)
        if any(_near(u, c, CONFIRMED_NEAR) for c in confirmed):
            continue
        if best is None or value > best[0]:
            best = (value, {n: float(row[n]) for n in names})
    return None if best is None else best[1]


def leg_s(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    parameters: Sequence[Mapping[str, Any]],
    setpoints_of: Callable[[dict[str, float]], Setpoints],
    rtd_tanks: float,
) -> float:
    """Seconds to travel from ``a`` to ``b`` so that a sample's mixture spreads about
    :data:`SPREAD_AIM`: its elements entered over ~tau / sqrt(N) (tanks-in-series RTD), so a path moving
    r unit-box coordinates per second mixes r tau / sqrt(N); tau is the longer end's residence time."""
    distance = max(abs(x - y) for x, y in zip(_coords(parameters, a), _coords(parameters, b)))
    tau = max(setpoints_of(dict(a)).residence_time_s, setpoints_of(dict(b)).residence_time_s)
    return distance * tau / (math.sqrt(rtd_tanks) * SPREAD_AIM)


SUBLEGS = 6
"""A leg is travelled in this many pieces, each paced by its own residence time (fast where it is short)."""


def _legs(
    a: Mapping[str, float],
    b: Mapping[str, float],
    *,
    parameters: Sequence[Mapping[str, Any]],
    setpoints_of: Callable[[dict[str, float]], Setpoints],
    rtd_tanks: float,
) -> tuple[list[dict[str, float]], list[float]]:
    """The waypoints after ``a`` on the way to ``b`` (``b`` last) and the seconds of each piece."""
    ua, ub = _coords(parameters, a), _coords(parameters, b)
    points = [dict(a)]
    for k in range(1, SUBLEGS + 1):
        f = k / SUBLEGS
        points.append({p["name"]: from_unit(p, (1 - f) * x + f * y) for p, x, y in zip(parameters, ua, ub)})
    points[-1] = dict(b)
    times = [
        leg_s(p, q, parameters=parameters, setpoints_of=setpoints_of, rtd_tanks=rtd_tanks)
        for p, q in zip(points[:-1], points[1:])
    ]
    if sum(times) < MIN_LEG_S:  # a short hop (or none: the proposal is where the rig is): MIN_LEG_S
        times = [MIN_LEG_S / SUBLEGS] * SUBLEGS
    return points[1:], times


MAX_STEP = 0.3
"""A trajectory moves at most this far (largest unit-box coordinate) towards the optimiser's proposal:
the next one is proposed with what the path saw (a trust region on the rig's travel)."""


def _towards(
    start: Mapping[str, float], goal: dict[str, float], parameters: Sequence[Mapping[str, Any]]
) -> dict[str, float]:
    """``goal``, or the point :data:`MAX_STEP` along the straight line to it when it is farther."""
    ua, ub = _coords(parameters, start), _coords(parameters, goal)
    distance = max(abs(x - y) for x, y in zip(ua, ub))
    if distance <= MAX_STEP:
        return goal
    f = MAX_STEP / distance
    return {p["name"]: from_unit(p, x + f * (y - x)) for p, x, y in zip(parameters, ua, ub)}


def _fill_s(point: Mapping[str, float], setpoints_of: Callable, transfer_volume_ul: float) -> float:
    sp = setpoints_of(dict(point))
    return transit_s(transfer_volume_ul, sp.total_flow_ul_min) + FILL_RESIDENCE_TIMES * sp.residence_time_s


def _cheapest_path(
    pool: list[dict[str, float]], k: int, time_of: Callable[[list[dict[str, float]]], float]
) -> list[dict[str, float]]:
    """The ``k`` points of ``pool``, in the order, whose path takes least time (ties: pool order)."""
    best: tuple[float, list[dict[str, float]]] | None = None
    for order in itertools.permutations(range(len(pool)), min(k, len(pool))):
        path = [pool[i] for i in order]
        t = time_of(path)
        if best is None or t < best[0]:
            best = (t, path)
    assert best is not None
    return best[1]


def next_step(
    records: Sequence[ExperimentRecord],
    optimizer: Any,
    *,
    objective: Any,
    parameters: Sequence[Mapping[str, Any]],
    setpoints_of: Callable[[dict[str, float]], Setpoints],
    rtd_tanks: float,
    transfer_volume_ul: float,
    n_initial: int,
    cost: Any = None,
) -> Step:
    """The next run after ``records`` (completed, in log order), ``optimizer`` having ingested their
    observation rows (see the module's docstring). ``cost`` (``[protocol] cost_aware``): each
    candidate's expected hours, given to every ``suggest`` (the steady-state experiment's cost model:
    a trajectory's time to a point and its confirmation there both grow with its residence time)."""
    confirm = confirmation_candidate(records, objective, parameters)
    if confirm is not None:
        return Step(confirm)
    params = tuple(dict(p) for p in parameters)
    pace = dict(parameters=params, setpoints_of=setpoints_of, rtd_tanks=rtd_tanks)
    last = records[-1] if records else None
    if last is None:
        start = None
    elif last.trajectory is not None:
        start = dict(Trajectory.of(last.trajectory).waypoints[-1])
    else:
        start = {p["name"]: float(last.parameters[p["name"]]) for p in params}

    def time_of(path: list[dict[str, float]]) -> float:
        head = _fill_s(path[0], setpoints_of, transfer_volume_ul) if start is None else 0.0
        stops = path if start is None else [start, *path]
        return head + sum(sum(_legs(a, b, **pace)[1]) for a, b in zip(stops[:-1], stops[1:]))

    if len(optimizer) == 0:  # the initial design: the quickest path through INITIAL_WAYPOINTS of it
        pool = [dict(p) for p in optimizer.suggest(2 * max(2, n_initial), cost=cost)]
        destinations = _cheapest_path(pool, max(2, n_initial), time_of)
    else:
        (proposal,) = optimizer.suggest(1, cost=cost)
        destinations = [_towards(start, dict(proposal), params) if start is not None else dict(proposal)]
    if start is None:  # the coil holds solvent: fill it at the first point before moving on
        waypoints, legs = (
            [destinations[0], destinations[0]],
            [_fill_s(destinations[0], setpoints_of, transfer_volume_ul)],
        )
        stops = destinations
    else:
        waypoints, legs = [start], []
        stops = [start, *destinations]
    for a, b in zip(stops[:-1], stops[1:]):
        more, times = _legs(a, b, **pace)
        waypoints += more
        legs += times
    return Step(dict(waypoints[-1]), Trajectory(params, tuple(waypoints), tuple(legs)))


@dataclass(frozen=True)
class Planner:
    """:func:`next_step` for one campaign on one lab: what the live loop and replay both ask."""

    spec: Any
    lab: Any

    def setpoints(self, parameters: dict[str, float]) -> Setpoints:
        """The campaign's set points for searched ``parameters`` on this lab (every run's, dynamic or not)."""
        return campaign_setpoints(
            self.spec.search,
            parameters,
            reactor_volume_ul=self.lab.reactor.volume,
            stocks_mM=self.lab.stocks_mM,
        )

    @property
    def parameters(self) -> list[dict[str, Any]]:
        return parameters_of(self.spec)

    def step(self, records: Sequence[ExperimentRecord], optimizer: Any, cost: Any = None) -> Step:
        return next_step(
            records,
            optimizer,
            objective=self.spec.parsed_objective,
            parameters=self.parameters,
            setpoints_of=self.setpoints,
            rtd_tanks=self.lab.reactor.rtd_tanks,
            transfer_volume_ul=self.lab.reactor.transfer_volume,
            n_initial=INITIAL_WAYPOINTS,
            cost=cost,
        )

    def reactor(self) -> Reactor:
        """The rig's facts as the log names them (pump ``<name>_flow``, heater and clock readbacks)."""
        return Reactor(
            flow_keys={p.reagent: f"{name}_flow" for name, p in self.lab.pumps.items()},
            temperature_key=f"{HEATER_NAME}_temperature",
            time_key="timer_time",
            reactor_volume_ul=self.lab.reactor.volume,
            transfer_volume_ul=self.lab.reactor.transfer_volume,
            rtd_tanks=self.lab.reactor.rtd_tanks,
            stocks_mM=self.lab.stocks_mM,
        )

    def rederived_samples(self, record: ExperimentRecord) -> list[Assignment]:
        """A trajectory record's assignments, re-derived from its logged inlet history and sample times."""
        assert record.trajectory is not None
        reactor = self.reactor()
        history = inlet_history(reactor, [*record.trajectory.get("before", []), *record.inlet])
        times = [float(s["t_s"]) for s in record.samples]
        return assignments(reactor, history, times, parameters=self.parameters, kind=self.spec.search.kind)
