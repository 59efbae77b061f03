"""The reactor coil's temperature: a first-order lag towards the heater's set point.

Kept as the history of set-point changes with the temperature at each change, so the temperature at
any past time (what a fluid element saw mid-way through its stay) is exact, not stepped.
"""

from __future__ import annotations

import bisect
import math

__all__ = ["CoilTemperature"]


class CoilTemperature:
    """Coil at ``initial_c`` (degC) at ``t0`` (s), lagging its set point with ``time_constant_s``."""

    def __init__(self, t0: float, *, initial_c: float, time_constant_s: float):
        self.time_constant_s = float(time_constant_s)
        self._t: list[float] = [t0]
        self._setpoint: list[float] = [float(initial_c)]
        self._start_c: list[float] = [float(initial_c)]  # temperature at each set-point change

    @property
    def revision(self) -> int:
        """Counts the set-point changes (what a cache of the cell keys on)."""
        return len(self._t)

    def set_setpoint(self, t: float, setpoint_c: float) -> None:
        """From ``t`` (s) on, lag towards ``setpoint_c`` (degC)."""
        start = self.temperature_at(t)
        self._t.append(t)
        self._setpoint.append(float(setpoint_c))
        self._start_c.append(start)

    @property
    def setpoint_c(self) -> float:
        return self._setpoint[-1]

    def temperature_at(self, t: float) -> float:
        """Coil temperature (degC) at ``t`` (s)."""
        i = max(bisect.bisect_right(self._t, t) - 1, 0)
        dt = max(0.0, t - self._t[i])
        sp, start = self._setpoint[i], self._start_c[i]
        return sp + (start - sp) * math.exp(-dt / self.time_constant_s)
