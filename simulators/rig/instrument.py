"""The spectrometer's detector on the flow cell: raw counts with dark, noise and saturation.

One exposure of ``ms`` milliseconds reads, per pixel,
``dark = 1000 + 0.5 ms + fixed pattern`` (15 counts rms, fixed per seed) plus the signal: on the
absorbance channel the lamp (600 counts/ms at its peak, a broad hump over the grid, times the drift's
lamp factor) through the cell's absorbance; on the PL channel the cell's emission at
``PL_REFERENCE_COUNTS_PER_MS``. Noise is shot noise on signal and dark current plus 8 counts of read
noise, one seeded stream per channel; counts are rounded and clipped to [0, ``SATURATION_COUNTS``].
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from models.errors import ConfigurationError
from simulators.chemistry.optics import spectrometer_grid_nm

__all__ = ["CHANNELS", "Instrument", "NoiseStreams", "PL_REFERENCE_COUNTS_PER_MS", "SATURATION_COUNTS"]

PL_REFERENCE_COUNTS_PER_MS = 2000.0
"""Integrated PL (counts x nm: dark-subtracted counts integrated over wavelength, as
``models.analysis`` integrates) per ms of integration per unit fraction of excitation light absorbed,
for PLQY = 1. Relative PLQY = integral / (ms * absorbed_fraction * this); the simulated labs'
``plqy_reference`` is this value."""

SATURATION_COUNTS = 65535.0
CHANNELS = ("absorbance", "pl")
_DARK_OFFSET = 1000.0
_DARK_PER_MS = 0.5
_READ_NOISE = 8.0
_FIXED_PATTERN_RMS = 15.0
_LAMP_PEAK_PER_MS = 600.0


class NoiseStreams:
    """One random stream per named reading ("spec-pl", "heater", ...), each spawned from ``seed_seq``
    on first use, so a reading's noise does not depend on how often the others were read."""

    def __init__(self, seed_seq: np.random.SeedSequence):
        self._ss = seed_seq
        self._rngs: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        if name not in self._rngs:
            key = (*self._ss.spawn_key, len(self._rngs) + 7, sum(map(ord, name)))
            self._rngs[name] = np.random.default_rng(np.random.SeedSequence(self._ss.entropy, spawn_key=key))
        return self._rngs[name]


class Instrument:
    """The detector of the ``material`` rig's spectrometer; ``noise`` False: exact counts."""

    def __init__(self, material: str, seed: int, *, noise: bool, streams: NoiseStreams):
        self.material = material
        self.noise = bool(noise)
        self._streams = streams
        wl = spectrometer_grid_nm(material)
        self._wl = wl
        x = (wl - wl[0]) / (wl[-1] - wl[0])
        self._lamp_shape = 0.35 + 0.65 * np.exp(-0.5 * ((x - 0.55) / 0.35) ** 2)
        self._fixed_pattern = np.random.default_rng([seed, 12345]).normal(0.0, _FIXED_PATTERN_RMS, wl.size)

    def acquire(
        self, channel: str, integration_ms: float, cell: Mapping[str, Any] | None, *, lamp_factor: float
    ) -> np.ndarray:
        """Counts per pixel of one exposure of ``integration_ms`` on ``channel``; ``cell`` is the flow
        cell's content (``FlowCell.content``) with the source on, None with it off (dark)."""
        if channel not in CHANNELS:
            raise ConfigurationError(f"unknown spectrometer channel {channel!r}: use 'absorbance' or 'pl'")
        ms = float(integration_ms)
        dark = _DARK_OFFSET + _DARK_PER_MS * ms + self._fixed_pattern
        signal = np.zeros_like(self._wl)
        if cell is not None:
            if channel == "absorbance":
                signal = (
                    _LAMP_PEAK_PER_MS * self._lamp_shape * lamp_factor * ms * 10.0 ** (-cell["absorbance"])
                )
            else:
                signal = cell["pl_per_ms_reference"] * PL_REFERENCE_COUNTS_PER_MS * ms
        counts = dark + signal
        if self.noise:
            rng = self._streams(f"spec-{channel}")
            sigma = np.sqrt(np.maximum(signal + _DARK_PER_MS * ms, 0.0) + _READ_NOISE**2)
            counts = counts + rng.normal(0.0, 1.0, self._wl.size) * sigma
        return np.clip(np.round(counts), 0.0, SATURATION_COUNTS)
