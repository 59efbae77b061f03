"""``Spectrometer``: inline absorbance and photoluminescence in one flow cell.

Absorbance is computed from raw counts with a stored dark and reference (blank) spectrum,
A = -log10((I - dark) / (I_ref - dark)) (REFERENCE.md section 5); PL is counts minus dark.
Wavelength axes are configuration (recorded once per run in the event descriptor).
"""

from __future__ import annotations

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device
from ophyd.status import Status

from devices.backends import SpectrometerBackend
from devices.signals import BackendReadback
from models.errors import DeviceError

__all__ = ["Spectrometer"]

_MIN_TRANSMITTED_COUNTS = 1.0  # counts; below this the sample is opaque at that pixel


class Spectrometer(Device):
    absorbance = Cpt(BackendReadback, reader="_read_absorbance", dtype="array", kind="normal")
    pl = Cpt(BackendReadback, reader="_read_pl", dtype="array", kind="normal")
    saturated = Cpt(BackendReadback, reader="_read_saturated", dtype="boolean", kind="normal")
    abs_wavelengths = Cpt(BackendReadback, reader="_read_abs_wl", dtype="array", units="nm", kind="config")
    pl_wavelengths = Cpt(BackendReadback, reader="_read_pl_wl", dtype="array", units="nm", kind="config")
    integration_time = Cpt(BackendReadback, reader="_read_integration_ms", units="ms", kind="config")

    def __init__(self, backend: SpectrometerBackend, *, integration_time_ms: float, name: str, **kwargs):
        super().__init__(name=name, **kwargs)
        self.backend = backend
        self.integration_time_ms = float(integration_time_ms)
        self._dark: dict[str, np.ndarray] = {}
        self._reference: np.ndarray | None = None
        self._last: dict[str, np.ndarray] = {}
        self._saturated = False

    def connect(self) -> None:
        self.backend.connect()
        for channel in ("absorbance", "pl"):
            self.backend.set_integration_time_ms(channel, self.integration_time_ms)

    def take_dark(self) -> None:
        """Record dark spectra of both channels (sources off)."""
        for channel in ("absorbance", "pl"):
            self._dark[channel] = np.asarray(self.backend.acquire(channel, source_on=False), dtype=float)

    def take_reference(self) -> None:
        """Record the blank (solvent only in the flow cell) for absorbance."""
        if "absorbance" not in self._dark:
            self.take_dark()
        self._reference = np.asarray(self.backend.acquire("absorbance", source_on=True), dtype=float)

    def set(self, action: str) -> Status:
        """``set("dark")`` or ``set("reference")`` records a calibration spectrum (so plans can ask
        for it with ``bps.mv``)."""
        if action == "dark":
            self.take_dark()
        elif action == "reference":
            self.take_reference()
        else:
            raise ValueError(f"{self.name}: unknown calibration '{action}'; use 'dark' or 'reference'")
        status = Status()
        status.set_finished()
        return status

    def trigger(self) -> Status:
        if self._reference is None:
            raise DeviceError(f"{self.name}: no reference spectrum; take a dark and a blank reference first")
        raw_abs = np.asarray(self.backend.acquire("absorbance", source_on=True), dtype=float)
        raw_pl = np.asarray(self.backend.acquire("pl", source_on=True), dtype=float)
        full = self.backend.saturation_counts()
        self._saturated = bool(np.any(raw_abs >= full) or np.any(raw_pl >= full))
        sample = np.clip(raw_abs - self._dark["absorbance"], _MIN_TRANSMITTED_COUNTS, None)
        blank = np.clip(self._reference - self._dark["absorbance"], _MIN_TRANSMITTED_COUNTS, None)
        self._last = {"absorbance": -np.log10(sample / blank), "pl": raw_pl - self._dark["pl"]}
        status = Status()
        status.set_finished()
        return status

    def _read_absorbance(self) -> np.ndarray:
        return self._last.get("absorbance", np.zeros(0))

    def _read_pl(self) -> np.ndarray:
        return self._last.get("pl", np.zeros(0))

    def _read_saturated(self) -> bool:
        return self._saturated

    def _read_abs_wl(self) -> np.ndarray:
        return np.asarray(self.backend.wavelengths_nm("absorbance"), dtype=float)

    def _read_pl_wl(self) -> np.ndarray:
        return np.asarray(self.backend.wavelengths_nm("pl"), dtype=float)

    def _read_integration_ms(self) -> float:
        return self.integration_time_ms
