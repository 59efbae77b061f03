"""The simulated flow reactor ("digital twin"), in two halves (docs/adr/0011-simulator-two-halves.md):

- ``simulators.chemistry``: the noise-free chemistry (parameters, reactor geometry, kinetics, optics,
  steady state). numpy/scipy only, so ``import simulators`` stays cheap.
- ``simulators.rig``: the rig in time (flow history, coil, clogging, drift, flow cell, instrument)
  composed behind ``SimWorld``, and the one set of simulated devices on it, ``SimPump``, ``SimHeater``,
  ``SimSpectrometer``. Loaded on first use of one of its names.

Public API:

- ``describe(material)``: the settable conditions (temperature, one flow per stream) with bounds.
- ``evaluate_true(material, conditions, *, reactor=None, stocks_mM=None)``: noise-free steady state.
- ``evaluate_many(material, conditions, ...)``: the same, vectorised over many conditions.
- ``ReactorGeometry``: reactor and flow-cell geometry.
- ``SimWorld``, ``SimPump``, ``SimHeater``, ``SimSpectrometer``, ``PL_REFERENCE_COUNTS_PER_MS``,
  ``SATURATION_COUNTS``: the rig (see ``simulators.rig``).

The chemistry's other names (``clog_risk``, ``load_params``, ``residence_time_s``, ...) are
``simulators.chemistry``'s. See docs/simulator.md for the model and its calibration.
"""

from typing import Any

from simulators.chemistry import ReactorGeometry, describe, evaluate_many, evaluate_true

_RIG = (
    "PL_REFERENCE_COUNTS_PER_MS",
    "SATURATION_COUNTS",
    "SimHeater",
    "SimPump",
    "SimSpectrometer",
    "SimWorld",
)

__all__ = ["ReactorGeometry", "describe", "evaluate_many", "evaluate_true", *_RIG]


def __getattr__(name: str) -> Any:
    if name in _RIG:
        import simulators.rig

        return getattr(simulators.rig, name)
    raise AttributeError(f"module 'simulators' has no attribute {name!r}")
