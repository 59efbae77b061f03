"""The noise-free chemistry of the simulated reactor: parameters, reactor geometry, kinetics, optics
and the steady state. numpy and scipy only: importable without ophyd, bluesky or the device layer."""

from simulators.chemistry.optics import spectrometer_grid_nm
from simulators.chemistry.parameters import load_params
from simulators.chemistry.reactor import ReactorGeometry, residence_time_s, rtd_step_response
from simulators.chemistry.steady import FIGURES, clog_risk, describe, evaluate_many, evaluate_true

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
]
