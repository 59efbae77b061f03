"""Flow-reactor geometry and the residence-time distribution (REFERENCE.md section 4)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammainc

__all__ = ["ReactorGeometry", "rtd_step_response", "residence_time_s"]


@dataclass(frozen=True)
class ReactorGeometry:
    """A heated coil reactor followed by a transfer line to the inline flow cell.

    ``n_tanks`` is the tanks-in-series number of the coil's RTD (variance 1/n_tanks).
    ``path_length_cm`` is the optical path of the flow cell. ``base_pressure_bar_per_ul_min`` is the
    clean-line pressure drop per uL/min of total flow; a pump stalls above ``stall_pressure_bar``.
    """

    reactor_volume_ul: float = 250.0
    transfer_volume_ul: float = 50.0
    n_tanks: float = 10.0
    path_length_cm: float = 0.1
    base_pressure_bar_per_ul_min: float = 0.004
    stall_pressure_bar: float = 10.0

    def __post_init__(self) -> None:
        if self.reactor_volume_ul <= 0 or self.transfer_volume_ul < 0:
            raise ValueError("reactor volume must be positive and transfer volume non-negative")
        if self.n_tanks < 1:
            raise ValueError(f"n_tanks must be >= 1, got {self.n_tanks}")
        if self.path_length_cm <= 0:
            raise ValueError("path_length_cm must be positive")


def residence_time_s(reactor: ReactorGeometry, total_flow_ul_min: np.ndarray | float) -> np.ndarray | float:
    """Mean residence time tau = V / Q in seconds (inf for zero flow)."""
    q = np.asarray(total_flow_ul_min, dtype=float)
    with np.errstate(divide="ignore"):
        tau = np.where(q > 0, reactor.reactor_volume_ul / np.maximum(q, 1e-300) * 60.0, np.inf)
    return float(tau) if np.ndim(tau) == 0 else tau


def rtd_step_response(n_tanks: float, theta: np.ndarray | float) -> np.ndarray | float:
    """F(theta): fraction of the outlet that entered less than theta residence times ago (tanks in series)."""
    th = np.maximum(np.asarray(theta, dtype=float), 0.0)
    f = gammainc(float(n_tanks), float(n_tanks) * th)
    return float(f) if np.ndim(f) == 0 else f
