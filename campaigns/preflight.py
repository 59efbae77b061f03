"""Pre-flight: every point of a campaign's search space must be makeable within the lab's limits.

Checked on the corners of the box and a scrambled Sobol sample before anything moves, so a campaign
never stops half-way because the optimiser found a corner the pumps cannot deliver.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import qmc

from campaigns.conditions import to_setpoints
from campaigns.spec import CampaignSpec
from devices import HeaterLimits, PumpLimits
from models.errors import ConfigurationError

__all__ = ["preflight", "sample_points"]


def sample_points(spec: CampaignSpec, n_sobol: int = 256) -> list[dict[str, float]]:
    params = spec.search.parameters
    lows = np.array([p.low for p in params])
    highs = np.array([p.high for p in params])
    unit = np.vstack([np.array(list(itertools.product([0.0, 1.0], repeat=len(params))))[: 2 ** min(len(params), 10)],
                      qmc.Sobol(len(params), scramble=True, seed=0).random(n_sobol)])
    points = []
    for row in unit:
        values = dict(spec.search.fixed)
        for p, u, lo, hi in zip(params, row, lows, highs):
            values[p.name] = float(np.exp(np.log(lo) + u * np.log(hi / lo))) if p.log else float(lo + u * (hi - lo))
        points.append(values)
    return points


def preflight(spec: CampaignSpec, *, reactor_volume_ul: float, stocks_mM: dict[str, float],
              pump_limits: dict[str, PumpLimits], heater_limits: HeaterLimits, source: str) -> None:
    """Raise ``ConfigurationError`` naming the first point of the search space the lab cannot make."""
    for values in sample_points(spec):
        where = ", ".join(f"{k}={v:.4g}" for k, v in values.items())
        try:
            sp = to_setpoints(values, kind=spec.search.kind, reactor_volume_ul=reactor_volume_ul, stocks_mM=stocks_mM)
        except ValueError as exc:
            raise ConfigurationError(f"at {where}: {exc}; narrow the bounds", source=source, key="search") from None
        if not heater_limits.min_temperature_c <= sp.temperature_c <= heater_limits.max_temperature_c:
            raise ConfigurationError(
                f"temperature {sp.temperature_c:g} degC is beyond the lab's heater limits "
                f"[{heater_limits.min_temperature_c:g}, {heater_limits.max_temperature_c:g}] degC",
                source=source, key="search.temperature")
        for reagent, flow in sp.flows_ul_min.items():
            limits = pump_limits[reagent]
            if flow > 0 and not limits.min_rate_ul_min * (1 - 1e-9) <= flow <= limits.max_rate_ul_min * (1 + 1e-9):
                raise ConfigurationError(
                    f"at {where} the {reagent} pump would run at {flow:.4g} uL/min, outside the lab's limits "
                    f"[{limits.min_rate_ul_min:g}, {limits.max_rate_ul_min:g}] uL/min; narrow the bounds or "
                    f"change the stock", source=source, key="search")
