"""Hardware limits from ``lab.toml``, enforced in the device layer whatever asks for a value."""

from __future__ import annotations

import math
from dataclasses import dataclass

from models.errors import DeviceError, SafetyError

__all__ = ["PumpLimits", "HeaterLimits", "RATE_TOLERANCE", "SYRINGE_EMPTY_TOLERANCE_UL", "check_syringe"]

RATE_TOLERANCE = 1e-9
"""A flow this close to a rate limit (relative) is at it: a rate computed from a campaign's bounds (a
corner of its search space at exactly the pump's limit) lands a rounding error either side."""

SYRINGE_EMPTY_TOLERANCE_UL = 0.5
"""A syringe with this little left (uL) is empty: what a pump's volume counter and its plunger's end
stop disagree by."""


def check_syringe(device: str, *, dispensed_ul: float, filled_ul: float) -> float:
    """Volume left in the syringe (uL) before a pump starts; ``DeviceError`` when it is empty.

    The one rule every pump backend applies (the NE-1000 driver and the simulated pump alike): a
    syringe filled with ``filled_ul`` that has dispensed ``dispensed_ul`` may run while more than
    ``SYRINGE_EMPTY_TOLERANCE_UL`` is left, and is given what is left as its volume target.
    """
    remaining = filled_ul - dispensed_ul
    if remaining <= SYRINGE_EMPTY_TOLERANCE_UL:
        raise DeviceError(
            f"{device}: syringe empty ({dispensed_ul:.1f} of {filled_ul:g} uL dispensed); refill it "
            "(qdlab refill DIR while a campaign waits), or refill and continue with qdlab resume"
        )
    return remaining


@dataclass(frozen=True)
class PumpLimits:
    """Rates a pump may run at (uL/min; 0 = stopped is always allowed) and its syringe volume (uL)."""

    min_rate_ul_min: float
    max_rate_ul_min: float
    syringe_volume_ul: float

    def check_rate(self, device: str, flow_ul_min: float) -> None:
        """``SafetyError`` unless ``device`` may run at ``flow_ul_min``: the rule the pump enforces on
        every set and pre-flight on every point of a campaign's search space (``campaigns.preflight``)."""
        if not math.isfinite(
            flow_ul_min
        ):  # NaN or infinite: refused, never sent (a set that cannot complete)
            raise SafetyError(f"{device}: flow rate {flow_ul_min!r} uL/min is not a finite number; refused")
        if flow_ul_min == 0:
            return
        low, high = self.min_rate_ul_min * (1 - RATE_TOLERANCE), self.max_rate_ul_min * (1 + RATE_TOLERANCE)
        if not low <= flow_ul_min <= high:
            raise SafetyError(
                f"{device}: {flow_ul_min:g} uL/min is outside the lab's limits "
                f"[{self.min_rate_ul_min:g}, {self.max_rate_ul_min:g}] uL/min (or 0 to stop)"
            )


@dataclass(frozen=True)
class HeaterLimits:
    """Set points a heater may be given (degC), and where it goes on any abort."""

    min_temperature_c: float
    max_temperature_c: float
    safe_temperature_c: float
    tolerance_c: float = 2.0

    def check_setpoint(self, device: str, setpoint_c: float) -> None:
        """``SafetyError`` unless ``device`` may be set to ``setpoint_c``: the rule the heater enforces on
        every set and pre-flight on every point of a campaign's search space (``campaigns.preflight``)."""
        if not math.isfinite(setpoint_c):
            raise SafetyError(f"{device}: set point {setpoint_c!r} degC is not a finite number; refused")
        if not self.min_temperature_c <= setpoint_c <= self.max_temperature_c:
            raise SafetyError(
                f"{device}: set point {setpoint_c:g} degC is outside the lab's limits "
                f"[{self.min_temperature_c:g}, {self.max_temperature_c:g}] degC"
            )
