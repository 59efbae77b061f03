"""The simulated flow reactor ("digital twin"), in two halves:

- ``simulators.chemistry``: the noise-free chemistry (parameters, reactor geometry, kinetics, optics,
  steady state). numpy/scipy only, so ``import simulators`` stays cheap.
- ``simulators.rig``: the rig in time (flow history, clogging, drift, flow cell, instrument) behind
  ``SimWorld``, and the simulated device backends ``SimPump``, ``SimHeater``, ``SimSpectrometer``.
  Loaded on first use of one of its names.

Public API:

- ``describe(material)``: the settable conditions (temperature, one flow per stream) with bounds.
- ``evaluate_true(material, conditions, *, reactor=None, stocks_mM=None)``: noise-free steady state.
- ``evaluate_many(material, conditions, ...)``: the same, vectorised over many conditions.
- ``ReactorGeometry``: reactor and flow-cell geometry.
- ``SimWorld``, ``SimPump``, ``SimHeater``, ``SimSpectrometer``, ``PL_REFERENCE_COUNTS_PER_MS``,
  ``SATURATION_COUNTS``: the rig (see ``simulators.rig``).

See docs/simulator.md for the model and its calibration.
"""

from typing import Any

from simulators.chemistry import (
    FIGURES,
    ReactorGeometry,
    clog_risk,
    describe,
    evaluate_many,
    evaluate_true,
    load_params,
    residence_time_s,
    rtd_step_response,
    spectrometer_grid_nm,
)

_RIG = ("PL_REFERENCE_COUNTS_PER_MS", "SATURATION_COUNTS", "SimHeater", "SimPump", "SimSpectrometer", "SimWorld")

__all__ = [
    "FIGURES",
    "ReactorGeometry",
    "clog_risk",
    "describe",
    "evaluate_many",
    "evaluate_true",
    "load_params",
    "residence_time_s",
    "rtd_step_response",
    "spectrometer_grid_nm",
    *_RIG,
]


def __getattr__(name: str) -> Any:
    if name in _RIG:
        import simulators.rig

        return getattr(simulators.rig, name)
    raise AttributeError(f"module 'simulators' has no attribute {name!r}")
