"""``Timer``: waiting as a movable, so plans wait on the world's clock, never on a wall-clock sleep."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device
from ophyd.status import Status

from devices.clock import Clock
from devices.signals import BackendReadback

__all__ = ["Timer"]


class Timer(Device):
    """``set(seconds)`` returns a status that completes when the clock has advanced that much.

    With a simulated clock this is immediate in wall time; with a wall clock it takes real seconds.
    """

    time = Cpt(BackendReadback, reader="_read_time", units="s", kind="hinted")

    def __init__(self, clock: Clock, *, name: str = "timer", **kwargs):
        super().__init__(name=name, **kwargs)
        self.clock = clock

    def set(self, seconds: float) -> Status:
        if seconds < 0:
            raise ValueError(f"cannot wait a negative time ({seconds} s)")
        return self.clock.wait(float(seconds))

    def _read_time(self) -> float:
        return float(self.clock.now())
