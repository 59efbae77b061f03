"""``SyringePump``: one reagent stream, the same class over real drivers and simulated backends."""

from __future__ import annotations

from ophyd import Component as Cpt
from ophyd import Device
from ophyd.status import Status

from devices.backends import PumpBackend, SyringeBackend
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
    healthy or a word such as 'stall'; ``remaining`` (uL, not in events) what is left in the syringe,
    which holds ``limits.syringe_volume_ul`` at connect and whatever ``refill`` says after a refill.
    """

    flow = Cpt(BackendReadback, reader="_read_flow", units="uL/min", kind="hinted")
    dispensed = Cpt(BackendReadback, reader="_read_dispensed", units="uL", kind="normal")
    alarm = Cpt(BackendReadback, reader="_read_alarm", dtype="string", kind="normal")
    remaining = Cpt(BackendReadback, reader="remaining_ul", units="uL", kind="omitted")

    def __init__(self, backend: PumpBackend, limits: PumpLimits, *, reagent: str, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.backend = backend
        self.limits = limits
        self.reagent = reagent
        self._setpoint = 0.0
        self._filled_ul = limits.syringe_volume_ul

    def connect(self) -> None:
        self.backend.connect()
        self._filled_ul = self.limits.syringe_volume_ul  # connect assumes a freshly filled syringe

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

    @property
    def filled_ul(self) -> float:
        """What the syringe held when it was last filled (uL)."""
        return self._filled_ul

    def remaining_ul(self) -> float:
        """Volume left in the syringe (uL), from what it was filled with and the dispensed volume."""
        return self._filled_ul - self._read_dispensed()

    def refill(self, volume_ul: float | None = None) -> None:
        """The syringe was refilled, to ``volume_ul`` (uL; default the lab's syringe volume): the pump
        stops, its dispensed counter is zeroed and it may run again. DeviceError if the backend cannot
        be refilled in place or the volume does not fit the syringe."""
        volume_ul = self.limits.syringe_volume_ul if volume_ul is None else float(volume_ul)
        if not 0 < volume_ul <= self.limits.syringe_volume_ul * (1 + 1e-9):
            raise DeviceError(
                f"{self.name}: a refill of {volume_ul:g} uL does not fit its "
                f"{self.limits.syringe_volume_ul:g} uL syringe"
            )
        if not isinstance(self.backend, SyringeBackend):
            raise DeviceError(
                f"{self.name}: this pump cannot be refilled while connected; stop the campaign, "
                "refill it and continue with qdlab resume"
            )
        self._setpoint = 0.0
        self.backend.refill(volume_ul)
        self._filled_ul = volume_ul

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
