"""ophyd devices (pumps, heater, spectrometer, timer) over protocol drivers over transports."""

from devices.backends import Channel, HeaterBackend, PumpBackend, SpectrometerBackend
from devices.clock import Clock, SimClock, WallClock
from devices.heater import Heater
from devices.limits import HeaterLimits, PumpLimits
from devices.pump import SyringePump
from devices.registry import known_types, make_backend, register_backend
from devices.spectrometer import Exposure, Spectrometer
from devices.timer import Timer

__all__ = [
    "Channel", "Clock", "Heater", "HeaterBackend", "HeaterLimits", "PumpBackend", "PumpLimits",
    "SimClock", "Exposure", "Spectrometer", "SpectrometerBackend", "SyringePump", "Timer", "WallClock",
    "known_types", "make_backend", "register_backend",
]
