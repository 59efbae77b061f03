"""``SyringePump``: one reagent stream, the same class over real drivers and simulated backends."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device
from ophyd.status import Status

from devices.backends import PumpBackend
from devices.limits import PumpLimits
from devices.signals import BackendReadback
from models.errors import DeviceError

__all__ = ["SyringePump"]


def _done() -> Status:
    status = Status()
    status.set_finished()
    return status


class SyringePump(Device):
    """A syringe pump infusing one reagent.

    ``set(flow_ul_min)`` runs the pump at that rate (0 stops it) after checking the lab's limits;
    ``flow`` is the rate the pump reports, ``dispensed`` the volume infused (uL), ``alarm`` '' when
    healthy or a word such as 'stall'.
    """

    flow = Cpt(BackendReadback, reader="_read_flow", units="uL/min", kind="hinted")
    dispensed = Cpt(BackendReadback, reader="_read_dispensed", units="uL", kind="normal")
    alarm = Cpt(BackendReadback, reader="_read_alarm", dtype="string", kind="normal")

    def __init__(self, backend: PumpBackend, limits: PumpLimits, *, reagent: str, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.backend = backend
        self.limits = limits
        self.reagent = reagent
        self._setpoint = 0.0

    def connect(self) -> None:
        self.backend.connect()

    @property
    def setpoint_ul_min(self) -> float:
        return self._setpoint

    def set(self, flow_ul_min: float) -> Status:
        flow_ul_min = float(flow_ul_min)
        self.limits.check_rate(self.name, flow_ul_min)
        self.backend.set_flow_ul_min(flow_ul_min)
        self._setpoint = flow_ul_min
        return _done()

    def stop(self, *, success: bool = False) -> None:
        self._setpoint = 0.0
        self.backend.stop()

    def remaining_ul(self) -> float:
        """Volume left in the syringe (uL), from the lab's syringe volume and the dispensed volume."""
        return self.limits.syringe_volume_ul - self._read_dispensed()

    def _read_flow(self) -> float:
        return float(self.backend.flow_ul_min())

    def _read_dispensed(self) -> float:
        return float(self.backend.dispensed_ul())

    def _read_alarm(self) -> str:
        return self.backend.alarm() or ""

    def check_healthy(self) -> None:
        alarm = self.backend.alarm()
        if alarm:
            raise DeviceError(f"{self.name}: pump alarm '{alarm}'")
