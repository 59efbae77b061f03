"""Real instrument drivers; importing this package registers their ``type`` names.

``ne1000`` (pump), ``eurotherm`` (heater), ``seabreeze`` (spectrometer). Each driver gets its
transport injected and does no I/O until ``connect()``, and declares the ``lab.toml`` keys it reads in
its settings model, registered with its type.
"""

from devices.drivers.eurotherm import EurothermHeater, EurothermSettings, make_eurotherm
from devices.drivers.ne1000 import NE1000Pump, NE1000Settings, make_ne1000
from devices.drivers.ocean import SeabreezeSettings, SeabreezeSpectrometer, make_seabreeze
from devices.drivers.transport import PortLost, SerialPorts, SerialTransport, open_serial
from devices.registry import register_backend

__all__ = [
    "EurothermHeater",
    "EurothermSettings",
    "NE1000Pump",
    "NE1000Settings",
    "PortLost",
    "SeabreezeSettings",
    "SeabreezeSpectrometer",
    "SerialTransport",
    "open_serial",
    "SerialPorts",
]

register_backend("pump", "ne1000", make_ne1000, NE1000Settings)
register_backend("heater", "eurotherm", make_eurotherm, EurothermSettings)
register_backend("spectrometer", "seabreeze", make_seabreeze, SeabreezeSettings)
