"""ophyd devices (pumps, heater, spectrometer, timer) over protocol drivers over transports.

The names below are imported from their modules on first use: ``devices.registry`` and
``devices.limits`` (what ``lab.toml``'s schema needs) then come without ophyd, so reading a finished
campaign back does not import the stack that ran it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devices.backends import Channel, HeaterBackend, PumpBackend, SpectrometerBackend, SyringeBackend
    from devices.clock import Clock, SimClock, WallClock
    from devices.heater import Heater
    from devices.limits import SYRINGE_EMPTY_TOLERANCE_UL, HeaterLimits, PumpLimits, check_syringe
    from devices.pump import SyringePump
    from devices.refill import RefillRequest, RefillStation
    from devices.registry import DriverSettings, known_types, make_backend, register_backend, settings_model
    from devices.spectrometer import Exposure, Spectrometer
    from devices.timer import Timer

_HOMES = {
    "backends": ("Channel", "HeaterBackend", "PumpBackend", "SpectrometerBackend", "SyringeBackend"),
    "clock": ("Clock", "SimClock", "WallClock"),
    "heater": ("Heater",),
    "limits": ("SYRINGE_EMPTY_TOLERANCE_UL", "HeaterLimits", "PumpLimits", "check_syringe"),
    "pump": ("SyringePump",),
    "refill": ("RefillRequest", "RefillStation"),
    "registry": ("DriverSettings", "known_types", "make_backend", "register_backend", "settings_model"),
    "spectrometer": ("Exposure", "Spectrometer"),
    "timer": ("Timer",),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}

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


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'devices' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"devices.{module}"), name)
    globals()[name] = value  # once: later look-ups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
