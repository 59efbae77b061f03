"""From searched parameters to what the rig is set to: pump flow rates and a heater set point.

Chemical terms convert through the reactor volume and stock concentrations (REFERENCE.md section 4):
residence time tau = V / Q_total, and a reagent's concentration in the mix c = stock * Q_reagent / Q_total,
so Q_reagent = c / stock * Q_total; the solvent pump makes up the rest of Q_total.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campaigns.flow import flow_for_transit_ul_min, transit_s

__all__ = ["Setpoints", "to_setpoints", "campaign_setpoints", "SOLVENT"]

SOLVENT = "solvent"


@dataclass(frozen=True)
class Setpoints:
    temperature_c: float
    flows_ul_min: dict[str, float]  # reagent -> flow
    residence_time_s: float
    concentrations_mM: dict[str, float] = field(default_factory=dict)

    @property
    def total_flow_ul_min(self) -> float:
        return sum(self.flows_ul_min.values())

    def as_dict(self) -> dict:
        return {
            "temperature_c": self.temperature_c,
            "residence_time_s": self.residence_time_s,
            "total_flow_ul_min": self.total_flow_ul_min,
            "flows_ul_min": dict(self.flows_ul_min),
            "concentrations_mM": dict(self.concentrations_mM),
        }


def _concentrations(values: dict[str, float]) -> dict[str, float]:
    conc = {k.removeprefix("conc_"): v for k, v in values.items() if k.startswith("conc_")}
    ratios = [(k.split("_")[1], k.split("_")[2], v) for k, v in values.items() if k.startswith("ratio_")]
    for _ in range(len(ratios) + 1):  # resolve chains such as ratio_a_b and ratio_c_a
        for a, b, r in ratios:
            if a not in conc and b in conc:
                conc[a] = r * conc[b]
            elif b not in conc and a in conc:
                conc[b] = conc[a] / r
    unresolved = [f"ratio_{a}_{b}" for a, b, _ in ratios if a not in conc or b not in conc]
    if unresolved:
        raise ValueError(f"{', '.join(unresolved)} needs a concentration of one of its reagents")
    return conc


def to_setpoints(
    values: dict[str, float], *, kind: str, reactor_volume_ul: float, stocks_mM: dict[str, float]
) -> Setpoints:
    """Convert searched plus fixed parameter values to set points.

    ``stocks_mM`` maps every reagent the lab holds to its stock concentration (the solvent's is 0).
    Raises ``ValueError`` when the values cannot be made with these stocks (e.g. the reagent flows
    would exceed the total flow).
    """
    temperature_c = float(values["temperature"])
    if kind == "flows":
        flows = {r: float(values.get(f"flow_{r}", 0.0)) for r in stocks_mM}
        unknown = sorted(k[5:] for k in values if k.startswith("flow_") and k[5:] not in stocks_mM)
        if unknown:
            raise ValueError(f"no pump in the lab holds reagent(s) {', '.join(unknown)}")
        total = sum(flows.values())
        if total <= 0:
            raise ValueError("total flow is zero")
        conc = {r: stocks_mM[r] * q / total for r, q in flows.items() if r != SOLVENT}
        return Setpoints(temperature_c, flows, transit_s(reactor_volume_ul, total), conc)

    tau_s = float(values["residence_time"])
    if tau_s <= 0:
        raise ValueError("residence time must be positive")
    total = flow_for_transit_ul_min(reactor_volume_ul, tau_s)
    conc = _concentrations(values)
    flows: dict[str, float] = {}
    for reagent, c in conc.items():
        stock = stocks_mM.get(reagent)
        if stock is None or reagent == SOLVENT:
            raise ValueError(f"no pump in the lab holds reagent '{reagent}'")
        if stock <= 0:
            raise ValueError(f"reagent '{reagent}' has no stock concentration in the lab")
        flows[reagent] = c / stock * total
    solvent = total - sum(flows.values())
    if solvent < -1e-9 * total:
        raise ValueError(
            f"concentrations {', '.join(f'{r}={c:.3g} mM' for r, c in conc.items())} need more than the total "
            f"flow with these stocks"
        )
    if SOLVENT in stocks_mM:
        flows[SOLVENT] = max(solvent, 0.0)
    elif solvent > 1e-9 * total:
        raise ValueError("the mix needs dilution but the lab has no 'solvent' pump")
    for reagent in stocks_mM:
        flows.setdefault(reagent, 0.0)
    return Setpoints(temperature_c, flows, tau_s, conc)


def campaign_setpoints(
    search: Any, parameters: dict[str, float], *, reactor_volume_ul: float, stocks_mM: dict[str, float]
) -> Setpoints:
    """A campaign's set points for searched ``parameters``: with the search's fixed values
    (``search``: a ``campaigns.spec.SearchSpec``), on a reactor of that volume with those stocks."""
    return to_setpoints(
        {**search.fixed, **parameters},
        kind=search.kind,
        reactor_volume_ul=reactor_volume_ul,
        stocks_mM=stocks_mM,
    )
