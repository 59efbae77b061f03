"""``Heater``: the reactor coil's temperature controller."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device
from ophyd.status import Status

from devices.backends import HeaterBackend
from devices.limits import HeaterLimits
from devices.signals import BackendReadback

__all__ = ["Heater"]


class Heater(Device):
    """``set(T_degC)`` writes the set point after the lab's limit check and returns at once: the plan
    decides how long to wait for the coil to settle. ``temperature`` is the process value."""

    temperature = Cpt(BackendReadback, reader="_read_temperature", units="degC", kind="hinted")
    setpoint = Cpt(BackendReadback, reader="_read_setpoint", units="degC", kind="normal")

    def __init__(self, backend: HeaterBackend, limits: HeaterLimits, *, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.backend = backend
        self.limits = limits

    def connect(self) -> None:
        self.backend.connect()

    def set(self, setpoint_c: float) -> Status:
        setpoint_c = float(setpoint_c)
        self.limits.check_setpoint(self.name, setpoint_c)
        self.backend.set_setpoint_c(setpoint_c)
        status = Status()
        status.set_finished()
        return status

    def make_safe(self) -> None:
        """Go to the lab's safe set point (used on every abort)."""
        self.backend.set_setpoint_c(self.limits.safe_temperature_c)

    def _read_temperature(self) -> float:
        return float(self.backend.temperature_c())

    def _read_setpoint(self) -> float:
        return float(self.backend.setpoint_c())
