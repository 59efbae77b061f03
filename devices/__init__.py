"""ophyd devices (pumps, heater, spectrometer, timer) over protocol drivers over transports."""

from devices.backends import Channel, HeaterBackend, PumpBackend, SpectrometerBackend, SyringeBackend
from devices.clock import Clock, SimClock, WallClock
from devices.heater import Heater
from devices.limits import SYRINGE_EMPTY_TOLERANCE_UL, HeaterLimits, PumpLimits, check_syringe
from devices.pump import SyringePump
from devices.refill import RefillRequest, RefillStation
from devices.registry import DriverSettings, known_types, make_backend, register_backend, settings_model
from devices.spectrometer import Exposure, Spectrometer
from devices.timer import Timer

__all__ = [
    "Channel",
    "Clock",
    "DriverSettings",
    "Heater",
    "HeaterBackend",
    "HeaterLimits",
    "PumpBackend",
    "PumpLimits",
    "RefillRequest",
    "RefillStation",
    "SimClock",
    "Exposure",
    "Spectrometer",
    "SpectrometerBackend",
    "SyringeBackend",
    "SyringePump",
    "Timer",
    "WallClock",
    "SYRINGE_EMPTY_TOLERANCE_UL",
    "check_syringe",
    "known_types",
    "make_backend",
    "register_backend",
    "settings_model",
]
