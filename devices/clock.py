"""Clocks: the one notion of time that plans, devices and the simulated world share.

Plans never sleep on the wall clock: they ask a clock for a status that completes when the clock has
advanced by a duration. ``SimClock`` completes it at once by advancing simulated time, so a campaign of
thirty experiments runs in seconds; ``WallClock`` completes it after real seconds (divided by
``speed``, for sped-up emulators and demos).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

from ophyd.status import Status

__all__ = ["Clock", "SimClock", "WallClock"]


@runtime_checkable
class Clock(Protocol):
    """Seconds since an arbitrary origin, and a way to wait for them to pass."""

    def now(self) -> float: ...

    def wait(self, seconds: float) -> Status: ...


class SimClock:
    """Simulated time that only moves when something waits on it."""

    def __init__(self, start_s: float = 0.0):
        self._t = float(start_s)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"cannot advance a clock by a negative time ({seconds} s)")
        with self._lock:
            self._t += float(seconds)

    def wait(self, seconds: float) -> Status:
        self.advance(max(0.0, float(seconds)))
        status = Status()
        status.set_finished()
        return status


class WallClock:
    """Real time, optionally sped up by ``speed`` (simulated seconds per wall second)."""

    def __init__(self, speed: float = 1.0):
        if speed <= 0:
            raise ValueError(f"clock speed must be positive, got {speed}")
        self.speed = float(speed)
        self._t0 = time.monotonic()

    def now(self) -> float:
        return (time.monotonic() - self._t0) * self.speed

    def wait(self, seconds: float) -> Status:
        status = Status()
        timer = threading.Timer(max(0.0, seconds) / self.speed, status.set_finished)
        timer.daemon = True
        timer.start()
        return status
