"""``SeabreezeSpectrometer``: an Ocean Insight spectrometer through ``seabreeze`` as a
``SpectrometerBackend``.

One spectrometer serves both channels (REFERENCE.md section 5): the absorbance lamp is switched by the
spectrometer's lamp-enable line (seabreeze's ``strobe_lamp`` feature, wired to the light source's TTL
input); the PL excitation source is not switched by qdlab and stays on. Consequences, written down in
docs/adr/0003-emulated-lab.md: the "dark" spectra taken at calibration (solvent in the
cell, lamp off) hold the solvent's excitation background, which is what PL wants subtracted; the sample's
own PL adds a small error to absorbance. A rig with two spectrometers or shuttered sources needs another
``LightSources``; a spectrometer without a lamp-enable line is refused at ``connect``.

``seabreeze`` is imported on ``connect`` only, so qdlab runs without it when no spectrometer is used.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from devices.backends import Channel
from devices.registry import DriverSettings
from models.errors import ConfigurationError, DeviceError

__all__ = [
    "SeabreezeSpectrometer",
    "SeabreezeSettings",
    "LightSources",
    "LampEnableSources",
    "make_seabreeze",
]

SEABREEZE_PIN = "seabreeze==2.11.0"


class SeabreezeSettings(DriverSettings):
    """What a ``type = "seabreeze"`` spectrometer's section of ``lab.toml`` gives its driver: the
    serial number of the one to open (None: the first found)."""

    serial: str | None = None


class LightSources(Protocol):
    def select(self, channel: Channel | None) -> None:
        """Light what ``channel`` needs (None: the switchable sources off)."""


class LampEnableSources:
    """Absorbance lamp on the spectrometer's lamp-enable line; the excitation source is not switched."""

    def __init__(self, device: Any):
        features = getattr(device, "f", None)
        lamp = getattr(features, "strobe_lamp", None)
        if lamp is None:
            raise DeviceError(
                f"spectrometer {getattr(device, 'model', '')} {getattr(device, 'serial_number', '')} has "
                "no lamp-enable line to switch the absorbance lamp; wire the lamp's TTL input to a "
                "spectrometer that has one (see docs/adr/0003-emulated-lab.md)"
            )
        self._lamp: Any = lamp

    def select(self, channel: Channel | None) -> None:
        self._lamp.enable_lamp(channel == "absorbance")


def _spectrometers_module() -> Any:
    try:
        from seabreeze import spectrometers
    except ImportError:
        raise DeviceError(
            f"the seabreeze package is missing; install it with pip install {SEABREEZE_PIN}"
        ) from None
    return spectrometers


class SeabreezeSpectrometer:
    """``serial``: the spectrometer's serial number (None: the first one found).

    ``spectrometers`` replaces the ``seabreeze.spectrometers`` module (tests); ``sources`` builds the
    light-source switch from the opened device.
    """

    def __init__(
        self,
        *,
        serial: str | None = None,
        spectrometers: Any = None,
        sources: Any = LampEnableSources,
        name: str = "spectrometer",
    ):
        self.serial = serial
        self.name = name
        self._module = spectrometers
        self._make_sources = sources
        self._device: Any = None
        self._sources: LightSources | None = None
        self._wavelengths = np.zeros(0)
        self._integration_ms: dict[str, float] = {"absorbance": 50.0, "pl": 50.0}
        self._limits_us: tuple[float, float] = (1.0, float("inf"))

    def _what(self) -> str:
        return f"Ocean Insight spectrometer {self.serial}" if self.serial else "Ocean Insight spectrometer"

    def connect(self) -> None:
        module = self._module or _spectrometers_module()
        try:
            if self.serial:
                device = module.Spectrometer.from_serial_number(self.serial)
            else:
                device = module.Spectrometer.from_first_available()
        except Exception as exc:  # noqa: BLE001 - seabreeze raises SeaBreezeError subclasses per backend
            raise DeviceError(
                f"{self.name}: no {self._what()} found ({exc}); plug it in over USB, run "
                "seabreeze_os_setup once for the USB permissions, and close other programs "
                "(OceanView) that hold it"
            ) from None
        self._device = device
        try:
            wavelengths = np.asarray(device.wavelengths(), dtype=float)
            if wavelengths.ndim != 1 or wavelengths.size < 2 or np.any(np.diff(wavelengths) <= 0):
                raise DeviceError(f"{self.name}: the spectrometer's wavelength axis is not ascending")
            self._wavelengths = wavelengths
            limits = getattr(device, "integration_time_micros_limits", None)
            if limits is not None:
                self._limits_us = (float(limits[0]), float(limits[1]))
            sources = self._make_sources(device)
            sources.select(None)
            self._sources = sources
        except Exception:
            self.close()
            raise

    def _require(self) -> Any:
        if self._device is None:
            raise DeviceError(f"{self.name}: not connected; call connect() first")
        return self._device

    def wavelengths_nm(self, channel: Channel) -> np.ndarray:
        self._require()
        return self._wavelengths.copy()

    def set_integration_time_ms(self, channel: Channel, ms: float) -> None:
        low, high = self._limits_us
        if not low <= ms * 1000.0 <= high:
            raise ConfigurationError(
                f"spectrometer.integration_time: {ms:g} ms is outside this spectrometer's "
                f"range [{low / 1000:g}, {high / 1000:g}] ms"
            )
        self._integration_ms[channel] = float(ms)

    def integration_limits_ms(self) -> tuple[float, float]:
        """The spectrometer's shortest and longest integration time (ms), as it reports them."""
        low, high = self._limits_us
        return (low / 1000.0, high / 1000.0)

    def acquire(self, channel: Channel, *, source_on: bool) -> np.ndarray:
        device = self._require()
        sources = self._sources
        if sources is None:  # connect() makes both or neither
            raise DeviceError(f"{self.name}: not connected; call connect() first")
        try:
            sources.select(channel if source_on else None)
            device.integration_time_micros(int(round(self._integration_ms[channel] * 1000.0)))
            counts = np.asarray(
                device.intensities(correct_dark_counts=False, correct_nonlinearity=False), dtype=float
            )
        except DeviceError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise DeviceError(
                f"{self.name}: acquisition failed ({exc}); check the USB cable, then restart"
            ) from None
        finally:
            try:
                sources.select(None)
            except Exception:  # noqa: BLE001 - the acquisition error is the one to report
                pass
        if counts.shape != self._wavelengths.shape:
            raise DeviceError(
                f"{self.name}: {counts.size} pixels read for a {self._wavelengths.size}-pixel axis"
            )
        return counts

    def saturation_counts(self) -> float:
        return float(getattr(self._require(), "max_intensity", 65535.0))

    def close(self) -> None:
        device, self._device = self._device, None
        if device is not None:
            try:
                if self._sources is not None:
                    self._sources.select(None)
                device.close()
            except Exception:  # noqa: BLE001 - closing must not hide the error that led here
                pass


def make_seabreeze(*, settings: SeabreezeSettings, **_) -> SeabreezeSpectrometer:
    """Registry factory: ``type = "seabreeze"`` spectrometers in ``lab.toml`` (``serial`` optional)."""
    return SeabreezeSpectrometer(serial=settings.serial)
