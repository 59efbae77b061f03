"""The simulated flow reactor ("digital twin"): kinetics, optics, flow, noise and sim device backends.

Public API:

- ``describe(material)``: the settable conditions (temperature, one flow per stream) with bounds.
- ``evaluate_true(material, conditions, *, reactor=None, stocks_mM=None)``: noise-free steady state.
- ``evaluate_many(material, conditions, ...)``: the same, vectorised over many conditions.
- ``ReactorGeometry``: reactor and flow-cell geometry.
- ``SimWorld``: one simulated rig with its own clock; ``SimPump``, ``SimHeater``, ``SimSpectrometer``
  are device backends over it.
- ``PL_REFERENCE_COUNTS_PER_MS``: the sim PL channel's integrated counts x nm per ms per absorbed fraction at PLQY 1.

See docs/simulator.md for the model and its calibration.
"""

from simulators.backends import SimHeater, SimPump, SimSpectrometer
from simulators.optics import spectrometer_grid_nm
from simulators.parameters import load_params
from simulators.reactor import ReactorGeometry, residence_time_s, rtd_step_response
from simulators.steady import FIGURES, clog_risk, describe, evaluate_many, evaluate_true
from simulators.world import PL_REFERENCE_COUNTS_PER_MS, SATURATION_COUNTS, SimWorld

__all__ = [
    "FIGURES",
    "PL_REFERENCE_COUNTS_PER_MS",
    "SATURATION_COUNTS",
    "ReactorGeometry",
    "SimHeater",
    "SimPump",
    "SimSpectrometer",
    "SimWorld",
    "clog_risk",
    "describe",
    "evaluate_many",
    "evaluate_true",
    "load_params",
    "residence_time_s",
    "rtd_step_response",
    "spectrometer_grid_nm",
]
