"""The simulated rig in time: one ``SimWorld`` (flow history, clogging, drift, flow cell, instrument)
and the simulated device backends that are views on it."""

from simulators.rig.backends import SimHeater, SimPump, SimSpectrometer
from simulators.rig.world import PL_REFERENCE_COUNTS_PER_MS, SATURATION_COUNTS, SimWorld

__all__ = ["PL_REFERENCE_COUNTS_PER_MS", "SATURATION_COUNTS", "SimHeater", "SimPump", "SimSpectrometer", "SimWorld"]
