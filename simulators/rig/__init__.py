"""The simulated rig in time, composed behind one ``SimWorld``, and the simulated devices on it.

Parts (each a module): ``flow_history`` (delivered volume, entry time of a fluid element), ``coil``
(the heater's lag), ``clogging`` (pressure, stall, back-flush), ``drift`` (lots, fouling, lamp),
``flow_cell`` (RTD-weighted cell content from cached steady-state products), ``instrument`` (spectrum
acquisition: dark, noise, saturation); ``world`` composes them; ``backends`` are the device views
(``SimPump``, ``SimHeater``, ``SimSpectrometer``), one set for the sim lab and the emulators.
"""

from simulators.rig.backends import SimHeater, SimPump, SimSpectrometer, world_lock
from simulators.rig.instrument import PL_REFERENCE_COUNTS_PER_MS, SATURATION_COUNTS
from simulators.rig.world import SimWorld

__all__ = [
    "PL_REFERENCE_COUNTS_PER_MS",
    "SATURATION_COUNTS",
    "SimHeater",
    "SimPump",
    "SimSpectrometer",
    "SimWorld",
    "world_lock",
]
