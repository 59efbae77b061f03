"""``Spectrometer``: inline absorbance and photoluminescence in one flow cell.

Absorbance is computed from raw counts with a stored dark and reference (blank) spectrum,
A = -log10((I - dark) / (I_ref - dark)) (REFERENCE.md section 5); PL is counts minus dark.
Wavelength axes are configuration (recorded once per run in the event descriptor).

Exposure (docs/adr/0008). With an :class:`Exposure` of ``fixed_ms`` None, each channel's integration
time is chosen from its own signal: the brightest pixel (raw counts, dark included) is brought near
``target_fraction`` x the detector's full scale, within [``min_ms``, ``max_ms``] (and the backend's own
limits), in a few acquisitions, never ending saturated unless the shortest time saturates.

- Absorbance is exposed once, on the blank at calibration: a sample transmits at most what the
  solvent does, so the blank is the brightest this channel sees, and the dark and the reference are
  taken at exactly the exposure every sample then uses - no scaling of a reference. Dark, blank and
  sample each average the same number of scans (``Exposure.average_ms``): the lamp is bright, so the
  absorbance noise is shot noise that only more scans reduce.
- PL is exposed for every sample (a dim dot needs seconds, a bright one milliseconds). Its dark cannot
  be re-taken with a sample in the cell (on a real rig the excitation source stays on), so calibration
  records the PL dark at the shortest and the longest allowed times and the dark at any time in
  between is their per-pixel straight line: detector offset plus dark current (and the solvent's
  excitation background) x time.

The chosen times are the ``abs_integration_time`` and ``pl_integration_time`` signals (ms) of every
event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ophyd import Component as Cpt
from ophyd import Device
from ophyd.status import Status

from devices.backends import Channel, SpectrometerBackend
from devices.signals import BackendReadback
from models.errors import ConfigurationError, DeviceError

__all__ = ["Spectrometer", "Exposure"]

_MIN_TRANSMITTED_COUNTS = 1.0  # counts; below this the sample is opaque at that pixel
_CHANNELS: tuple[Channel, ...] = ("absorbance", "pl")


@dataclass(frozen=True)
class Exposure:
    """How integration times are chosen (ms). ``fixed_ms``: one time for both channels; None: automatic,
    first probe ``start_ms``, bounds [``min_ms``, ``max_ms``], brightest pixel aimed at
    ``target_fraction`` of full scale, at most ``max_acquisitions`` acquisitions per choice; the
    absorbance channel averages as many scans as fit in ``average_ms`` (at most 64; automatic only)."""

    fixed_ms: float | None = None
    start_ms: float = 50.0
    min_ms: float = 1.0
    max_ms: float = 30_000.0
    target_fraction: float = 0.6
    max_acquisitions: int = 5
    average_ms: float = 1000.0

    def __post_init__(self) -> None:
        if self.fixed_ms is not None and not (np.isfinite(self.fixed_ms) and self.fixed_ms > 0):
            raise ConfigurationError(
                f"spectrometer.integration_time must be a positive time, got {self.fixed_ms}"
            )
        if not (0 < self.min_ms <= self.max_ms and np.isfinite(self.max_ms)):
            raise ConfigurationError(
                f"spectrometer integration bounds [{self.min_ms}, {self.max_ms}] ms are not ordered"
            )
        if not 0.05 <= self.target_fraction <= 0.95:
            raise ConfigurationError(
                f"spectrometer.exposure_target {self.target_fraction} is not in [0.05, 0.95]"
            )

    @property
    def auto(self) -> bool:
        return self.fixed_ms is None


def _smooth(counts: np.ndarray, n: int = 5) -> np.ndarray:
    """Moving mean over ``n`` pixels (edges: shorter windows), so one noisy pixel does not set a time."""
    if counts.size < n:
        return counts
    kernel = np.ones(n)
    return np.convolve(counts, kernel, mode="same") / np.convolve(np.ones_like(counts), kernel, mode="same")


class Spectrometer(Device):
    absorbance = Cpt(BackendReadback, reader="_read_absorbance", dtype="array", kind="normal")
    pl = Cpt(BackendReadback, reader="_read_pl", dtype="array", kind="normal")
    saturated = Cpt(BackendReadback, reader="_read_saturated", dtype="boolean", kind="normal")
    abs_integration_time = Cpt(BackendReadback, reader="_read_abs_ms", units="ms", kind="normal")
    pl_integration_time = Cpt(BackendReadback, reader="_read_pl_ms", units="ms", kind="normal")
    abs_wavelengths = Cpt(BackendReadback, reader="_read_abs_wl", dtype="array", units="nm", kind="config")
    pl_wavelengths = Cpt(BackendReadback, reader="_read_pl_wl", dtype="array", units="nm", kind="config")

    def __init__(
        self,
        backend: SpectrometerBackend,
        *,
        integration_time_ms: float | None = None,
        exposure: Exposure | None = None,
        name: str,
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.backend = backend
        if exposure is None:
            exposure = Exposure(fixed_ms=50.0 if integration_time_ms is None else float(integration_time_ms))
        self.exposure = exposure
        first = exposure.fixed_ms if exposure.fixed_ms is not None else exposure.start_ms
        self._ms: dict[str, float] = dict.fromkeys(_CHANNELS, float(first))
        self._bounds = (exposure.min_ms, exposure.max_ms)
        self._dark: dict[str, np.ndarray] = {}
        self._pl_dark_line: tuple[np.ndarray, np.ndarray] | None = None  # offset (counts), rate (counts/ms)
        self._reference: np.ndarray | None = None
        self._last: dict[str, np.ndarray] = {}
        self._saturated = False

    @property
    def integration_time_ms(self) -> dict[str, float]:
        """The integration time (ms) each channel used last (``{"absorbance": ..., "pl": ...}``)."""
        return dict(self._ms)

    def connect(self) -> None:
        self.backend.connect()
        limits = getattr(self.backend, "integration_limits_ms", None)
        lo, hi = self.exposure.min_ms, self.exposure.max_ms
        if limits is not None:
            dev_lo, dev_hi = (float(v) for v in limits())
            lo, hi = max(lo, dev_lo), min(hi, dev_hi)
            if lo > hi:
                raise ConfigurationError(
                    f"spectrometer: integration bounds [{self.exposure.min_ms:g}, {self.exposure.max_ms:g}] ms do "
                    f"not overlap this spectrometer's range [{dev_lo:g}, {dev_hi:g}] ms"
                )
        self._bounds = (lo, hi)
        for channel in _CHANNELS:
            if self.exposure.auto:
                self._ms[channel] = float(np.clip(self._ms[channel], lo, hi))
            self.backend.set_integration_time_ms(channel, self._ms[channel])

    # ------------------------------------------------------------------ acquisition
    def _acquire(self, channel: Channel, ms: float, *, source_on: bool) -> np.ndarray:
        self.backend.set_integration_time_ms(channel, ms)
        self._ms[channel] = float(ms)
        return np.asarray(self.backend.acquire(channel, source_on=source_on), dtype=float)

    def _abs_scans(self) -> int:
        if not self.exposure.auto:
            return 1
        return int(np.clip(round(self.exposure.average_ms / self._ms["absorbance"]), 1, 64))

    def _acquire_abs(self, *, source_on: bool) -> tuple[np.ndarray, bool]:
        """Mean of the absorbance scans at the channel's time, and whether any scan was clipped."""
        full = float(self.backend.saturation_counts())
        scans = [
            self._acquire("absorbance", self._ms["absorbance"], source_on=source_on)
            for _ in range(self._abs_scans())
        ]
        return np.mean(scans, axis=0), any(bool(np.any(s >= full)) for s in scans)

    def _offset(self, channel: Channel) -> np.ndarray | float:
        """Counts the detector reads with no light at zero integration time (per pixel)."""
        if channel == "pl" and self._pl_dark_line is not None:
            return self._pl_dark_line[0]
        dark = self._dark.get(channel)
        return 0.0 if dark is None else dark

    def _expose(self, channel: Channel) -> np.ndarray:
        """Acquire ``channel`` (source on) at an automatically chosen time; returns the raw counts of the
        acquisition at the time kept (``self._ms[channel]``)."""
        lo, hi = self._bounds
        full = float(self.backend.saturation_counts())
        target = self.exposure.target_fraction * full
        ms = float(np.clip(self._ms[channel], lo, hi))
        raw = self._acquire(channel, ms, source_on=True)
        for _ in range(self.exposure.max_acquisitions - 1):
            if np.any(raw >= full):
                # the brightest pixels are clipped: their level is unknown, so step well down
                nxt = max(lo, ms * 0.2)
                if nxt == ms:
                    return raw
            else:
                offset = np.broadcast_to(self._offset(channel), raw.shape)
                level = _smooth(raw)
                rate = (level - offset) / ms  # counts per ms per pixel, dark current included
                useful = rate > 0
                if not np.any(useful):
                    nxt = hi
                else:
                    nxt = float(np.min((target - offset[useful]) / rate[useful]))
                nxt = float(np.clip(nxt, max(lo, ms / 100.0), min(hi, ms * 100.0)))
                peak = float(level.max())
                near = 0.85 * target <= peak <= min(1.15 * target, 0.95 * full)
                if near or nxt == ms or abs(nxt - ms) <= 0.05 * ms:
                    return raw
            ms = nxt
            raw = self._acquire(channel, ms, source_on=True)
        return raw

    def _dark_at(self, channel: Channel, ms: float) -> np.ndarray:
        if channel == "pl" and self._pl_dark_line is not None:
            offset, rate = self._pl_dark_line
            return offset + rate * ms
        return self._dark[channel]

    # ------------------------------------------------------------------ calibration
    def take_dark(self) -> None:
        """Record dark spectra of both channels (sources off, solvent in the cell). Automatic exposure:
        the PL dark at the shortest and the longest allowed times (its straight line in time)."""
        if not self.exposure.auto:
            for channel in _CHANNELS:
                self._dark[channel] = self._acquire(channel, self._ms[channel], source_on=False)
            return
        lo, hi = self._bounds
        short = self._acquire("pl", lo, source_on=False)
        if hi > lo:
            long = self._acquire("pl", hi, source_on=False)
            rate = (long - short) / (hi - lo)
            self._pl_dark_line = (short - rate * lo, rate)
        else:
            self._pl_dark_line = (short, np.zeros_like(short))
        self._ms["pl"] = float(np.clip(self.exposure.start_ms, lo, hi))
        self._dark["pl"] = short
        self._dark["absorbance"] = self._acquire("absorbance", self._ms["absorbance"], source_on=False)

    def take_reference(self) -> None:
        """Record the blank (solvent only in the flow cell) for absorbance. Automatic exposure: the
        blank chooses the absorbance time, and the dark is re-taken at it."""
        if "absorbance" not in self._dark:
            self.take_dark()
        if self.exposure.auto:
            self._expose("absorbance")
            self._dark["absorbance"], _ = self._acquire_abs(source_on=False)
            self._reference, _ = self._acquire_abs(source_on=True)
        else:
            self._reference = self._acquire("absorbance", self._ms["absorbance"], source_on=True)

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
        raw_abs, abs_clipped = self._acquire_abs(source_on=True)
        raw_pl = (
            self._expose("pl") if self.exposure.auto else self._acquire("pl", self._ms["pl"], source_on=True)
        )
        full = self.backend.saturation_counts()
        self._saturated = bool(abs_clipped or np.any(raw_pl >= full))
        sample = np.clip(raw_abs - self._dark["absorbance"], _MIN_TRANSMITTED_COUNTS, None)
        blank = np.clip(self._reference - self._dark["absorbance"], _MIN_TRANSMITTED_COUNTS, None)
        self._last = {
            "absorbance": -np.log10(sample / blank),
            "pl": raw_pl - self._dark_at("pl", self._ms["pl"]),
        }
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

    def _read_abs_ms(self) -> float:
        return self._ms["absorbance"]

    def _read_pl_ms(self) -> float:
        return self._ms["pl"]
