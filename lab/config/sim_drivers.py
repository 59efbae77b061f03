"""The simulator's backends, registered as ``type = "sim"`` (and ``"emulated"`` for the spectrometer that
reads the emulators' world), each with its settings model.

The simulator stands in for hardware: its settings are a hardware driver's (the NE-1000's, the
Eurotherm's, the seabreeze spectrometer's), accepted and unused but the syringe volume, so a lab file
switches a rig to simulation by its ``type`` alone. Importing this module registers them (``lab.config.lab_toml``
does, before any lab file is read).
"""

from __future__ import annotations

from typing import Any

from devices.registry import register_backend
from devices.drivers import EurothermSettings, NE1000Settings, SeabreezeSettings
from models.errors import ConfigurationError

__all__ = ["SimPumpSettings", "SimHeaterSettings", "SimSpectrometerSettings"]


class SimPumpSettings(NE1000Settings):
    """A simulated pump's keys: a hardware pump's; the simulated syringe holds ``syringe_volume``."""


class SimHeaterSettings(EurothermSettings):
    """A simulated heater's keys: a hardware heater's, unused."""


class SimSpectrometerSettings(SeabreezeSettings):
    """A simulated (or emulated) spectrometer's keys: a hardware spectrometer's, unused."""


def _sim_pump(*, world, reagent: str, settings: SimPumpSettings, name: str, **_: Any) -> Any:
    from simulators import SimPump

    return SimPump(world, reagent, syringe_volume_ul=settings.syringe_volume, name=name)


def _sim_heater(*, world, **_: Any) -> Any:
    from simulators import SimHeater

    return SimHeater(world)


def _sim_spectrometer(*, world, **_: Any) -> Any:
    from simulators import SimSpectrometer

    return SimSpectrometer(world)


def _emulated_spectrometer(*, world=None, **_: Any) -> Any:
    if world is None:
        raise ConfigurationError(
            'type = "emulated" reads the emulators\' world: add an [emulator] section',
            key="spectrometer.type",
        )
    from simulators import SimSpectrometer

    return SimSpectrometer(world)


register_backend("pump", "sim", _sim_pump, SimPumpSettings)
register_backend("heater", "sim", _sim_heater, SimHeaterSettings)
register_backend("spectrometer", "sim", _sim_spectrometer, SimSpectrometerSettings)
register_backend("spectrometer", "emulated", _emulated_spectrometer, SimSpectrometerSettings)
