"""Real instrument drivers; importing this package registers their ``type`` names.

``ne1000`` (pump), ``eurotherm`` (heater), ``seabreeze`` (spectrometer). Each driver gets its
transport injected and does no I/O until ``connect()``.
"""

from devices.drivers.eurotherm import EurothermHeater, make_eurotherm
from devices.drivers.ne1000 import NE1000Pump, make_ne1000
from devices.drivers.ocean import SeabreezeSpectrometer, make_seabreeze
from devices.drivers.transport import PortLost, SerialPorts, SerialTransport, open_serial
from devices.registry import register_backend

__all__ = [
    "EurothermHeater",
    "NE1000Pump",
    "PortLost",
    "SeabreezeSpectrometer",
    "SerialTransport",
    "open_serial",
    "SerialPorts",
]

register_backend("pump", "ne1000", make_ne1000)
register_backend("heater", "eurotherm", make_eurotherm)
register_backend("spectrometer", "seabreeze", make_seabreeze)
