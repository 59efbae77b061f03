"""Dynamic-flow experiments, the pure part: the path a trajectory takes through the search space, and which
conditions each spectrum taken on the way saw (REFERENCE.md section 9; docs/adr/0016-dynamic-flow.md).

**The path.** A :class:`Trajectory` joins waypoints (parameter values in user units) by straight lines in
the search space's unit box (a log-scaled parameter in its logarithm), each leg travelled in its own
time, then holds the last waypoint. The plan (``campaigns.dynamic``) sets the pumps and the heater to
:meth:`Trajectory.at` every few seconds.

**Undoing the reactor.** The inlet history (:class:`InletHistory`: the flows set, and the coil temperature
read, at each step the plan logged) is piecewise constant in flow, so the cumulative delivered volume V(t)
is piecewise linear and can be inverted. The fluid in the flow cell at t left the reactor when V was
V(t) - transfer volume; with a tanks-in-series residence-time distribution of ``rtd_tanks`` tanks, it is a
mixture of elements that spent theta residence volumes in the coil, theta ~ Gamma(N, 1/N), taken at
:data:`RTD_NODES` equal-probability quantiles. Element j entered at t_j, when V was V_out - theta_j x V_r;
its conditions are the concentrations of the inlet flows at t_j, the nominal residence time
(its stay / theta_j, which is V_r / Q in steady flow) and the mean coil temperature over its stay.

:func:`assign` gives the sample the mean of those conditions over the mixture and the mixture's
``spread``: the largest standard deviation of any searched parameter over the nodes, as a share of
its range (log parameters in log). A mean within :data:`SPREAD_LIMIT` of the range's share outside a
bound is put on the bound (a coil settling from below its lowest set point); farther out the sample is
unassigned: the optimiser learns only inside its box. In steady flow the spread is 0: every element saw the same
conditions. A sample whose fluid entered before the history began is unassigned (weight 0);
:func:`weight` keeps a sample fully up to :data:`SPREAD_TOLERANCE` and down-weights it beyond, to 0 at
:data:`SPREAD_LIMIT`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from campaigns.flow import dispensed_ul, flow_for_transit_ul_min

__all__ = [
    "Trajectory",
    "InletHistory",
    "Assignment",
    "assign",
    "weight",
    "thin",
    "to_unit",
    "from_unit",
    "MAX_ROWS_PER_TRAJECTORY",
    "RTD_NODES",
    "SPREAD_TOLERANCE",
    "SPREAD_LIMIT",
]

RTD_NODES = 24
"""Equal-probability quantiles of the residence-time distribution a sample's mixture is taken at."""
SPREAD_TOLERANCE = 0.03
"""A sample whose mixture spreads at most this share of every parameter's range keeps weight 1 (on
cdse-green ramps, samples up to 0.04 are within ~1 nm of the truth in median, docs/adr/0016)."""
SPREAD_LIMIT = 0.08
"""A sample whose mixture spreads this share of a parameter's range or more is dropped (weight 0)."""


def to_unit(p: Mapping[str, Any], value: Any) -> Any:
    """``value`` of parameter ``p`` (``name``, ``low``, ``high``, ``log``) in its unit box coordinate."""
    if p.get("log"):
        return (np.log(value) - math.log(p["low"])) / (math.log(p["high"]) - math.log(p["low"]))
    return (value - p["low"]) / (p["high"] - p["low"])


def from_unit(p: Mapping[str, Any], u: float) -> float:
    if p.get("log"):
        return float(math.exp(math.log(p["low"]) + u * (math.log(p["high"]) - math.log(p["low"]))))
    return float(p["low"] + u * (p["high"] - p["low"]))


@dataclass(frozen=True)
class Trajectory:
    """Waypoints joined by straight legs in the unit box, leg ``k`` travelled in ``leg_s[k]`` seconds,
    then the last waypoint held for ``hold_s``. ``parameters`` are the searched ones (``name``, ``low``,
    ``high``, ``log``); ``waypoints`` give each of them (fixed parameters are the campaign's)."""

    parameters: tuple[Mapping[str, Any], ...]
    waypoints: tuple[Mapping[str, float], ...]
    leg_s: tuple[float, ...]
    hold_s: float = 0.0

    def __post_init__(self) -> None:
        if len(self.waypoints) < 1 or len(self.leg_s) != len(self.waypoints) - 1:
            raise ValueError("a trajectory needs one leg time fewer than its waypoints")
        if any(not (s > 0 and math.isfinite(s)) for s in self.leg_s) or not self.hold_s >= 0:
            raise ValueError("leg times must be positive and finite, the hold not negative")
        names = [p["name"] for p in self.parameters]
        for w in self.waypoints:
            missing = [n for n in names if n not in w]
            if missing:
                raise ValueError(f"a waypoint lacks {', '.join(missing)}")

    @property
    def duration_s(self) -> float:
        return float(sum(self.leg_s) + self.hold_s)

    def at(self, t: float) -> dict[str, float]:
        """The parameters (user units) the path sets ``t`` seconds after it starts."""
        start = 0.0
        for k, leg in enumerate(self.leg_s):
            if t < start + leg:
                f = max(0.0, (t - start) / leg)
                a, b = self.waypoints[k], self.waypoints[k + 1]
                return {
                    p["name"]: from_unit(p, (1 - f) * to_unit(p, a[p["name"]]) + f * to_unit(p, b[p["name"]]))
                    for p in self.parameters
                }
            start += leg
        last = self.waypoints[-1]
        return {p["name"]: float(last[p["name"]]) for p in self.parameters}

    def as_dict(self) -> dict[str, Any]:
        """What a trajectory's start document carries (and :meth:`of` reads back)."""
        return {
            "parameters": [dict(p) for p in self.parameters],
            "waypoints": [dict(w) for w in self.waypoints],
            "leg_s": list(self.leg_s),
            "hold_s": self.hold_s,
        }

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "Trajectory":
        return cls(
            parameters=tuple(dict(p) for p in data["parameters"]),
            waypoints=tuple(dict(w) for w in data["waypoints"]),
            leg_s=tuple(float(s) for s in data["leg_s"]),
            hold_s=float(data.get("hold_s", 0.0)),
        )


@dataclass
class InletHistory:
    """What entered the reactor: from each ``times_s[k]`` on, each reagent's pump delivered
    ``flows_ul_min[reagent][k]`` until the next time; ``temperatures_c[k]`` is the coil temperature read
    then (linear in between, held after the last)."""

    times_s: list[float] = field(default_factory=list)
    flows_ul_min: dict[str, list[float]] = field(default_factory=dict)
    temperatures_c: list[float] = field(default_factory=list)

    def record(self, t: float, flows: Mapping[str, float], temperature_c: float) -> None:
        """From ``t`` on (not before the last record), ``flows``; the coil at ``temperature_c``."""
        if self.times_s and t < self.times_s[-1]:
            raise ValueError(f"inlet record at {t} s is before the last one ({self.times_s[-1]} s)")
        k = len(self.times_s)
        for reagent in set(self.flows_ul_min) | set(flows):
            column = self.flows_ul_min.setdefault(reagent, [0.0] * k)
            column.append(max(0.0, float(flows.get(reagent, 0.0))))
        self.times_s.append(float(t))
        self.temperatures_c.append(float(temperature_c))

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = np.asarray(self.times_s, dtype=float)
        total = np.sum([np.asarray(v, dtype=float) for v in self.flows_ul_min.values()], axis=0)
        volume = np.concatenate([[0.0], np.cumsum(dispensed_ul(total[:-1], np.diff(t)))])
        return t, total, volume


@dataclass(frozen=True)
class Assignment:
    """The conditions a sample's fluid saw: the mixture's mean ``parameters`` (None: some of its fluid
    entered before the history began), its ``spread`` (largest sd over the mixture of any searched
    parameter, as a share of its range), and the mean entry time ``entered_s``."""

    parameters: dict[str, float] | None
    spread: float
    entered_s: float | None

    @property
    def weight(self) -> float:
        return weight(self.spread) if self.parameters is not None else 0.0


def weight(spread: float) -> float:
    """1 up to :data:`SPREAD_TOLERANCE`, falling linearly to 0 at :data:`SPREAD_LIMIT`."""
    if not math.isfinite(spread) or spread >= SPREAD_LIMIT:
        return 0.0
    if spread <= SPREAD_TOLERANCE:
        return 1.0
    return (SPREAD_LIMIT - spread) / (SPREAD_LIMIT - SPREAD_TOLERANCE)


def _rtd_nodes(rtd_tanks: float) -> np.ndarray:
    from scipy.special import gammaincinv  # 0.4 s to import: not for reading a log back (thin)

    n = float(rtd_tanks)
    return gammaincinv(n, (np.arange(RTD_NODES) + 0.5) / RTD_NODES) / n


def _element_values(
    name: str,
    flows: Mapping[str, np.ndarray],
    total: np.ndarray,
    tau_s: np.ndarray,
    temp_c: np.ndarray,
    stocks_mM: Mapping[str, float],
) -> np.ndarray:
    """Chemical parameter ``name`` of each mixture element (arrays over the nodes), as ``to_setpoints``
    reads it."""
    if name == "temperature":
        return temp_c
    if name == "residence_time":
        return tau_s
    if name.startswith("conc_"):
        reagent = name.removeprefix("conc_")
        return stocks_mM[reagent] * flows[reagent] / total
    if name.startswith("ratio_"):
        _, a, b = name.split("_")
        ca = stocks_mM[a] * flows[a] / total
        cb = stocks_mM[b] * flows[b] / total
        return np.where(cb > 0, ca / np.where(cb > 0, cb, 1.0), np.inf)
    raise ValueError(f"parameter '{name}' cannot be read from the inlet flows")


def assign(
    history: InletHistory,
    t: float,
    *,
    parameters: Sequence[Mapping[str, Any]],
    reactor_volume_ul: float,
    transfer_volume_ul: float,
    rtd_tanks: float,
    stocks_mM: Mapping[str, float],
    kind: str,
) -> Assignment:
    """The conditions the fluid in the flow cell at ``t`` (s) saw (see the module's docstring)."""
    times, total, volume = history._arrays()
    if len(times) == 0 or np.any(total <= 0):
        return Assignment(None, math.inf, None)
    k_now = int(np.searchsorted(times, t, side="right")) - 1
    if k_now < 0:
        return Assignment(None, math.inf, None)
    v_cell = volume[k_now] + dispensed_ul(total[k_now], t - times[k_now])
    v_out = v_cell - transfer_volume_ul
    theta = _rtd_nodes(rtd_tanks)
    v_in = v_out - theta * reactor_volume_ul
    if v_in.min() < 0:  # some of this fluid was in the reactor before the history began
        return Assignment(None, math.inf, None)
    # the knots up to now, and now: the last record's flows run on until t
    knots_t = np.append(times[: k_now + 1], t)
    knots_v = np.append(volume[: k_now + 1], v_cell)
    t_in = np.interp(v_in, knots_v, knots_t)
    t_out = float(np.interp(v_out, knots_v, knots_t))
    k_in = np.searchsorted(times, t_in, side="right") - 1
    flows = {r: np.asarray(q, dtype=float)[k_in] for r, q in history.flows_ul_min.items()}
    q_in = total[k_in]
    stay = t_out - t_in
    tau = stay / theta  # nominal residence time: V_r / Q in steady flow
    temps = np.asarray(history.temperatures_c, dtype=float)
    grid = np.linspace(0.0, 1.0, 9)
    coil = np.array(
        [np.interp(a + grid * (t_out - a), times, temps).mean() for a in t_in]
    )  # held after the last
    values: dict[str, np.ndarray] = {}
    for p in parameters:
        name = p["name"]
        if kind == "flows" and name.startswith("flow_"):
            reagent = name.removeprefix("flow_")
            values[name] = flows[reagent] / q_in * flow_for_transit_ul_min(reactor_volume_ul, tau)
        else:
            values[name] = _element_values(name, flows, q_in, tau, coil, stocks_mM)
    spread = 0.0
    mean: dict[str, float] = {}
    for p in parameters:
        v = values[p["name"]]
        if not np.all(np.isfinite(v)) or (p.get("log") and np.any(v <= 0)):
            return Assignment(None, math.inf, None)
        u = np.asarray(to_unit(p, v), dtype=float)
        spread = max(spread, float(u.std()))
        centre = float(u.mean())
        if not -SPREAD_LIMIT <= centre <= 1.0 + SPREAD_LIMIT:
            return Assignment(None, math.inf, None)  # fluid made outside the search space
        # a coil a little below its lowest set point (a heater settling from below): on the bound
        mean[p["name"]] = from_unit(p, min(1.0, max(0.0, centre)))
    return Assignment(mean, spread, float(t_in.mean()))


MAX_ROWS_PER_TRAJECTORY = 8
"""The most samples of one trajectory an optimiser learns from: a path's spectra are many and close
together, and a GP's fit grows with the cube of its rows (the proposal must stay under a second)."""
MIN_ROW_DISTANCE = 0.02
"""Kept samples of a trajectory are at least this far apart in the unit box (the largest coordinate)."""
MIN_WEIGHT = 0.5
"""A sample lighter than this (its mixture too wide) is not learnt from."""


def thin(rows: Sequence[Mapping[str, Any]], parameters: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows of one trajectory an optimiser learns from: those of weight at least :data:`MIN_WEIGHT`,
    in path order, each at least :data:`MIN_ROW_DISTANCE` from the last one kept, then at most
    :data:`MAX_ROWS_PER_TRAJECTORY` of them evenly spaced along the path (the first and last kept).
    The ``weight`` key is dropped: what is kept is learnt from as ordinary data."""
    kept: list[dict[str, Any]] = []
    last: np.ndarray | None = None
    for row in rows:
        if float(row.get("weight", 0.0)) < MIN_WEIGHT:
            continue
        u = np.array([float(to_unit(p, row[p["name"]])) for p in parameters])
        if last is not None and float(np.max(np.abs(u - last))) < MIN_ROW_DISTANCE:
            continue
        kept.append({k: v for k, v in row.items() if k != "weight"})
        last = u
    if len(kept) > MAX_ROWS_PER_TRAJECTORY:
        picks = np.unique(np.round(np.linspace(0, len(kept) - 1, MAX_ROWS_PER_TRAJECTORY)).astype(int))
        kept = [kept[i] for i in picks]
    return kept
