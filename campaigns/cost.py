"""What a candidate experiment is expected to cost from where the rig is now (docs/adr/0015).

An experiment follows ``campaigns.plans``: the heater settles from its present temperature while the
previous flows still run, then the new flows run for the dead time plus ``residence_times`` residence
times. So from the heater's last set point ``from_temperature_c`` and the flows that run now
``from_flows_ul_min``, a candidate's expected reactor time is

    heater_s = hold_s + time_constant * ln(max(|dT|, tolerance) / tolerance)   (heating or cooling: dT's sign)
    wait_s   = transfer_volume / total_flow * 60 + residence_times * residence_time
    seconds  = heater_s + wait_s

with ``hold_s`` = heater_hold - poll_interval (what ``settle_heater`` waits for a coil already in band),
and its precursor (uL of every reagent but the solvent) the previous flows over ``heater_s`` plus the new
flows over ``wait_s``. Its cost for the optimiser, in hours, is
``seconds / 3600 + PRECURSOR_HOURS_PER_ML * precursor_ul / 1000``.

The heater's heating and cooling time constants (seconds per e-fold of the gap to the set point, the
travel of a first-order heater, as ``campaigns.preflight`` models it) are fitted from the campaign's own
``heater_settle`` events (``campaigns.plans.settle_heater``), shrunk towards the lab's heater time constant
with the weight of ``PRIOR_WEIGHT_EFOLDS`` e-folds of travel, so they move from the prior to the measured
heater as data come in. (A rate in seconds per degC was tried first: fitted mostly on the first settle,
226 degC from room temperature in 450 s, it said 66 s for a 22 degC step the coil took 240 s over.) Every input is recorded in the decision
(``CostModel.as_record``) and a replay rebuilds the same model from it (``CostModel.from_record``):
decisions are data (docs/adr/0002).

The formulas are plain arithmetic (``+ - * /``, ``abs``) on the values, so they evaluate the same on
floats and on torch tensors: the optimiser differentiates through them (``models.optimizers.cost``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from campaigns.conditions import SOLVENT, Setpoints, _concentrations
from campaigns.flow import dispensed_ul, fixed_wait_s, flow_for_transit_ul_min, transit_s
from campaigns.spec import CampaignSpec
from devices.limits import HeaterLimits

if TYPE_CHECKING:
    from models.optimizers.cost import CostAware

__all__ = [
    "CostModel",
    "HeaterRates",
    "fit_heater_rates",
    "cost_model_for",
    "PRECURSOR_HOURS_PER_ML",
    "PRIOR_WEIGHT_EFOLDS",
]

PRECURSOR_HOURS_PER_ML = 0.1
"""What one mL of precursor weighs in the optimiser's cost, in hours of reactor time (6 min per mL: a
cdse-green experiment uses 0.5-2 mL and 7-30 min, so time dominates and precursor breaks ties)."""

PRIOR_WEIGHT_EFOLDS = 2.0
"""The prior time constant counts as this many e-folds of measured travel in the fit (about one settle)."""


def _pos(x: Any) -> Any:
    """max(x, 0) in arithmetic that floats and torch tensors share."""
    return (x + abs(x)) / 2.0


def _log(x: Any) -> Any:
    return x.log() if hasattr(x, "log") else math.log(x)


def efolds(dT: Any, tolerance_c: float) -> Any:
    """ln(max(|dT|, tolerance) / tolerance): how many e-folds a first-order heater's gap shrinks by before
    it is within tolerance (0 for a step inside it)."""
    return _log((tolerance_c + _pos(abs(dT) - tolerance_c)) / tolerance_c)


@dataclass(frozen=True)
class HeaterRates:
    """Fitted time constants (s per e-fold of the gap), heating and cooling, and the settles they saw."""

    heating_s: float
    cooling_s: float
    n_heating: int = 0
    n_cooling: int = 0


def fit_heater_rates(
    settles: Iterable[Mapping[str, Any]],
    *,
    prior_s: float,
    hold_s: float,
    tolerance_c: float,
    prior_weight: float = PRIOR_WEIGHT_EFOLDS,
) -> HeaterRates:
    """Time constants from ``heater_settle`` readings (``from_c``, ``to_c``, ``s``): per direction, the
    travel time (seconds waited beyond ``hold_s``) over the e-folds (:func:`efolds`), both summed, with the
    prior counted as ``prior_weight`` e-folds at ``prior_s``. Settles inside the tolerance say nothing of
    a rate and are skipped."""
    sums = {True: [0.0, 0.0, 0], False: [0.0, 0.0, 0]}  # heating? -> [travel s, e-folds, count]
    for settle in settles:
        try:
            from_c, to_c, waited = float(settle["from_c"]), float(settle["to_c"]), float(settle["s"])
        except (KeyError, TypeError, ValueError):
            continue
        if not all(map(math.isfinite, (from_c, to_c, waited))) or abs(to_c - from_c) <= tolerance_c:
            continue
        acc = sums[to_c > from_c]
        acc[0] += max(waited - hold_s, 0.0)
        acc[1] += efolds(to_c - from_c, tolerance_c)
        acc[2] += 1

    def rate(heating: bool) -> float:
        travel, n_efolds, _ = sums[heating]
        return (prior_s * prior_weight + travel) / (prior_weight + n_efolds)

    return HeaterRates(rate(True), rate(False), int(sums[True][2]), int(sums[False][2]))


@dataclass(frozen=True)
class CostModel:
    """Every input of a candidate's expected cost (see the module docstring); JSON-able as a record."""

    kind: str
    fixed: dict[str, float]
    reactor_volume_ul: float
    transfer_volume_ul: float
    stocks_mM: dict[str, float]
    residence_times: float
    hold_s: float
    tolerance_c: float
    from_temperature_c: float
    from_flows_ul_min: dict[str, float]
    heating_s: float
    cooling_s: float
    precursor_hours_per_ml: float = PRECURSOR_HOURS_PER_ML
    exponent: float = 1.0
    """How much the cost counts in the acquisition (``models.optimizers.cost``); 0: not at all."""
    heater_settles: tuple[int, int] = field(default=(0, 0))
    """How many heating and cooling settles the rates were fitted from (bookkeeping)."""

    # -- the terms ----------------------------------------------------------------------------------
    def _flows(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], Any, Any]:
        """(flows by reagent, total flow, residence time s) of ``values``, as ``to_setpoints`` makes them."""
        v = {**self.fixed, **values}
        if self.kind == "flows":
            flows = {r: v.get(f"flow_{r}", 0.0) for r in self.stocks_mM}
            total = sum(flows.values())
            return flows, total, transit_s(self.reactor_volume_ul, total)
        tau = v["residence_time"]
        total = flow_for_transit_ul_min(self.reactor_volume_ul, tau)
        conc = _concentrations(v)
        flows = {r: c / self.stocks_mM[r] * total for r, c in conc.items() if r != SOLVENT}
        return flows, total, tau

    def terms(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """``heater_s``, ``wait_s``, ``seconds`` and ``precursor_ul`` of a candidate (user-unit values,
        floats or tensors)."""
        v = {**self.fixed, **values}
        dT = v["temperature"] - self.from_temperature_c
        heater_s = (
            self.hold_s
            + self.heating_s * efolds(_pos(dT), self.tolerance_c)
            + self.cooling_s * efolds(_pos(-dT), self.tolerance_c)
        )
        flows, total, tau = self._flows(values)
        wait_s = fixed_wait_s(
            total, tau, transfer_volume_ul=self.transfer_volume_ul, residence_times=self.residence_times
        )
        before = sum(q for r, q in self.from_flows_ul_min.items() if r != SOLVENT)
        during = sum(q for r, q in flows.items() if r != SOLVENT)
        precursor_ul = dispensed_ul(before, heater_s) + dispensed_ul(during, wait_s)
        return {
            "heater_s": heater_s,
            "wait_s": wait_s,
            "seconds": heater_s + wait_s,
            "precursor_ul": precursor_ul,
        }

    def hours(self, values: Mapping[str, Any]) -> Any:
        """The optimiser's cost of a candidate: reactor hours plus precursor at ``precursor_hours_per_ml``."""
        t = self.terms(values)
        return t["seconds"] / 3600.0 + self.precursor_hours_per_ml * t["precursor_ul"] / 1000.0

    def estimate(self, setpoints: Setpoints) -> dict[str, float]:
        """The terms for set points already made (what a run's experiment is expected to take)."""
        values = {
            "temperature": setpoints.temperature_c,
            **{f"flow_{r}": q for r, q in setpoints.flows_ul_min.items()},
        }
        flows_model = CostModel(**{**self._fields(), "kind": "flows", "fixed": {}})
        return {k: float(x) for k, x in flows_model.terms(values).items()}

    # -- as data ------------------------------------------------------------------------------------
    def _fields(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    def as_record(self) -> dict[str, Any]:
        """The decision's ``cost``: every input, JSON-able."""
        record = asdict(self)
        record["heater_settles"] = list(self.heater_settles)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CostModel:
        data = dict(record)
        data["heater_settles"] = tuple(data.get("heater_settles", (0, 0)))
        return cls(**data)

    def for_optimizer(self) -> CostAware:
        """What ``Optimizer.suggest(cost=...)`` takes: this model's hours, exponent and record."""
        from models.optimizers.cost import CostAware

        return CostAware(hours=self.hours, exponent=self.exponent, record=self.as_record())


def cost_model_for(
    spec: CampaignSpec,
    history: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
    *,
    reactor_volume_ul: float,
    transfer_volume_ul: float,
    stocks_mM: Mapping[str, float],
    heater_limits: HeaterLimits,
    heater_time_constant_s: float,
    start_temperature_c: float,
    start_flows_ul_min: Mapping[str, float],
    done: int,
) -> CostModel:
    """The cost model of a campaign's next proposal.

    ``history``: (set points as logged, ``heater_settle`` readings) of its experiments so far, in the
    order it ran them; the last one's set points are where the rig is (before any: ``start_*``, the
    heater's initial temperature and the calibration flush). ``done``: experiments completed; the exponent
    anneals from 1 to 0 over the budget (EI-cool, Lee et al. 2020)."""
    history = list(history)
    protocol = spec.protocol
    hold_s = max(protocol.heater_hold - protocol.poll_interval, 0.0)
    rates = fit_heater_rates(
        (h for _, h in history),
        prior_s=float(heater_time_constant_s),
        hold_s=hold_s,
        tolerance_c=heater_limits.tolerance_c,
    )
    from_temperature_c, from_flows = float(start_temperature_c), dict(start_flows_ul_min)
    if history:
        last = history[-1][0]
        from_temperature_c = float(last.get("temperature_c", from_temperature_c))
        from_flows = {r: float(q) for r, q in (last.get("flows_ul_min") or {}).items()}
    return CostModel(
        kind=spec.search.kind,
        fixed={k: float(v) for k, v in spec.search.fixed.items()},
        reactor_volume_ul=float(reactor_volume_ul),
        transfer_volume_ul=float(transfer_volume_ul),
        stocks_mM={r: float(c) for r, c in stocks_mM.items()},
        residence_times=float(protocol.residence_times),
        hold_s=hold_s,
        tolerance_c=float(heater_limits.tolerance_c),
        from_temperature_c=from_temperature_c,
        from_flows_ul_min=from_flows,
        heating_s=rates.heating_s,
        cooling_s=rates.cooling_s,
        exponent=max(0.0, 1.0 - done / spec.budget),
        heater_settles=(rates.n_heating, rates.n_cooling),
    )
