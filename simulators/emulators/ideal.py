"""World-free backends: a perfect syringe pump and a first-order heater on a clock.

For emulating one device without a reactor behind it (tests, a bench check of a driver or a
third-party client). ``stall()`` makes the pump report a stalled motor until ``clear()``.
"""

from __future__ import annotations

import math
import threading
from typing import Any

__all__ = ["IdealPump", "IdealHeater"]


class IdealPump:
    """``PumpBackend`` that delivers exactly what it is asked, on ``clock`` (seconds)."""

    def __init__(self, clock: Any):
        self.clock = clock
        self._lock = threading.Lock()
        self._rate = 0.0
        self._since = clock.now()
        self._volume = 0.0
        self._stalled = False

    def _settle(self) -> None:
        now = self.clock.now()
        self._volume += self._rate * (now - self._since) / 60.0
        self._since = now

    def connect(self) -> None:
        pass

    def set_flow_ul_min(self, flow_ul_min: float) -> None:
        with self._lock:
            self._settle()
            self._rate = 0.0 if self._stalled else max(0.0, float(flow_ul_min))

    def flow_ul_min(self) -> float:
        return self._rate

    def dispensed_ul(self) -> float:
        with self._lock:  # (not settled here: ``stop_at`` may still place the stop since the last change)
            return self._volume + self._rate * (self.clock.now() - self._since) / 60.0

    def stop(self) -> None:
        self.set_flow_ul_min(0.0)

    def stop_at(self, t: float) -> None:
        """Stop as if at clock time ``t`` (at most now, at least the last change of rate): nothing is
        delivered after ``t``. The NE-1000 emulator stops on a volume target this way,
        so the target holds however late its tick runs."""
        with self._lock:
            now = self.clock.now()
            t = min(max(float(t), self._since), now)
            self._volume += self._rate * (t - self._since) / 60.0
            self._since, self._rate = now, 0.0

    def alarm(self) -> str | None:
        return "stall" if self._stalled else None

    def stall(self) -> None:
        with self._lock:
            self._settle()
            self._stalled, self._rate = True, 0.0

    def clear(self) -> None:
        self._stalled = False

    def close(self) -> None:
        pass


class IdealHeater:
    """``HeaterBackend``: first-order lag (``time_constant_s``) from ``initial_c`` to the set point."""

    def __init__(self, clock: Any, *, time_constant_s: float = 60.0, initial_c: float = 25.0):
        self.clock = clock
        self.time_constant_s = time_constant_s
        self._sp = self._t0_c = initial_c
        self._since = clock.now()

    def connect(self) -> None:
        pass

    def temperature_c(self) -> float:
        dt = self.clock.now() - self._since
        return self._sp + (self._t0_c - self._sp) * math.exp(-dt / self.time_constant_s)

    def set_setpoint_c(self, setpoint_c: float) -> None:
        self._t0_c = self.temperature_c()
        self._since = self.clock.now()
        self._sp = float(setpoint_c)

    def setpoint_c(self) -> float:
        return self._sp

    def close(self) -> None:
        pass
