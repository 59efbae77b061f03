"""What changes between bottles and over hours: precursor lots, wall and window fouling, the lamp.

- A precursor lot scatters each stock concentration by ~3 % and the reactivity by ~6 % (log-normal).
- Wall fouling lowers the temperature the chemistry sees by 0.2-0.6 degC/h (at most 5 degC) and a
  weak, slowly growing scattering baseline, ~(400 nm / lambda)^2, appears on the window.
- The lamp decays 0.5-2 %/h and wanders by up to 1 % with a period of 0.5-2 h.

Rates and phases are drawn once from the rig's drift stream, so a seed fixes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

__all__ = ["Drift", "PrecursorLot", "draw_lot"]


@dataclass(frozen=True)
class PrecursorLot:
    """The bottles on the rig: stock concentrations (mM per stream) and a reactivity factor."""

    stocks_mM: dict[str, float]
    reactivity_factor: float


def draw_lot(rng: np.random.Generator, nominal_mM: Mapping[str, float], *, variability: bool) -> PrecursorLot:
    """A lot of the ``nominal_mM`` stocks; ``variability`` False: exactly nominal, reactivity 1."""
    if not variability:
        return PrecursorLot(dict(nominal_mM), 1.0)
    stocks = {k: (v * float(np.exp(rng.normal(0.0, 0.03))) if v > 0 else v) for k, v in nominal_mM.items()}
    return PrecursorLot(stocks, float(np.exp(rng.normal(0.0, 0.06))))


class Drift:
    """Fouling and lamp drift from ``t0`` (s), its rates drawn from ``rng``; ``enabled`` False: none."""

    def __init__(self, rng: np.random.Generator, t0: float, *, enabled: bool):
        self.enabled = bool(enabled)
        self._t0 = t0
        self._lamp_decay_per_h = float(rng.uniform(0.005, 0.02)) if enabled else 0.0
        self._lamp_wobble = (
            float(rng.uniform(0.0, 0.01)),
            float(rng.uniform(1800, 7200)),
            float(rng.uniform(0, 2 * np.pi)),
        )
        self._foul_c_per_h = float(rng.uniform(0.2, 0.6)) if enabled else 0.0

    def hours(self, t: float) -> float:
        """Hours (h) the rig has run by ``t`` (s)."""
        return max(0.0, t - self._t0) / 3600.0

    def fouling_offset_c(self, t: float) -> float:
        """Temperature (degC, <= 0) the chemistry loses to wall fouling at ``t`` (s)."""
        return -min(5.0, self._foul_c_per_h * self.hours(t))

    def window_absorbance(self, t: float, wavelengths_nm: np.ndarray) -> np.ndarray | float:
        """Decadic absorbance of the fouled window at ``t`` (s) on ``wavelengths_nm``."""
        return (0.004 * self.hours(t) * (400.0 / wavelengths_nm) ** 2) if self.enabled else 0.0

    def lamp_factor(self, t: float) -> float:
        """Lamp intensity at ``t`` (s) relative to new."""
        if not self.enabled:
            return 1.0
        a, period, phase = self._lamp_wobble
        return max(
            0.2, 1.0 - self._lamp_decay_per_h * self.hours(t) + a * math.sin(2 * math.pi * t / period + phase)
        )
