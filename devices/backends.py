"""What an ophyd device needs from the thing behind it (a driver or a simulated world).

A backend does the I/O; the ophyd device on top gives plans signals to read and move and enforces the
lab's limits. Real drivers (``devices.drivers``) and simulated views (``simulators.rig.backends``) both
implement these protocols, and ``devices.registry`` picks one by the ``type`` in ``lab.toml``.
Construction does no I/O: ``connect()`` is explicit.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

import numpy as np

__all__ = ["PumpBackend", "SyringeBackend", "HeaterBackend", "SpectrometerBackend", "Channel"]

Channel = Literal["absorbance", "pl"]


@runtime_checkable
class PumpBackend(Protocol):
    """One syringe pump delivering one reagent stream, in infuse direction."""

    def connect(self) -> None: ...

    def set_flow_ul_min(self, flow_ul_min: float) -> None:
        """Run at this rate (uL/min); 0 stops the pump."""

    def flow_ul_min(self) -> float:
        """Read-back of the rate the pump is actually running at (0 when stopped or stalled)."""
        ...

    def dispensed_ul(self) -> float:
        """Volume infused since connect (uL)."""
        ...

    def stop(self) -> None:
        """Stop now. Must be safe to call at any time, also after an error."""

    def alarm(self) -> str | None:
        """None when healthy, else a short word: 'stall', 'timeout', 'reset', 'empty'."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SyringeBackend(PumpBackend, Protocol):
    """A pump that knows its syringe: it stops by itself when the syringe is empty (alarm 'empty',
    then refuses to run, ``devices.limits.check_syringe``) and can be told it was refilled."""

    def refill(self, volume_ul: float) -> None:
        """The syringe now holds ``volume_ul`` (uL): stop, zero the dispensed counter, clear 'empty'."""


@runtime_checkable
class HeaterBackend(Protocol):
    """A temperature controller for the reactor coil."""

    def connect(self) -> None: ...

    def set_setpoint_c(self, setpoint_c: float) -> None: ...

    def setpoint_c(self) -> float: ...

    def temperature_c(self) -> float:
        """Process value (degC)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class SpectrometerBackend(Protocol):
    """An inline spectrometer with an absorbance channel (lamp) and a PL channel (excitation source)."""

    def connect(self) -> None: ...

    def wavelengths_nm(self, channel: Channel) -> np.ndarray:
        """Wavelength axis of ``channel``, shape (n_pixels,), nm, ascending."""
        ...

    def set_integration_time_ms(self, channel: Channel, ms: float) -> None: ...

    def acquire(self, channel: Channel, *, source_on: bool) -> np.ndarray:
        """Raw counts of what is in the flow cell now, shape (n_pixels,).

        ``source_on=False`` is a dark spectrum. Saturated pixels read the detector's full scale.
        """
        ...

    def saturation_counts(self) -> float: ...

    def close(self) -> None: ...
