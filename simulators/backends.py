"""Simulated device backends: views on one ``SimWorld`` implementing ``devices.backends`` protocols.

Construction does no I/O and ``connect()`` is explicit, as for real drivers; the lab layer registers
these under ``type = "sim"`` (``SimPump``, ``SimHeater``, ``SimSpectrometer``).
"""

from __future__ import annotations

import numpy as np

from devices.backends import Channel, HeaterBackend, PumpBackend, SpectrometerBackend
from models.errors import DeviceError
from simulators.optics import spectrometer_grid_nm
from simulators.world import SATURATION_COUNTS, SimWorld

__all__ = ["SimPump", "SimHeater", "SimSpectrometer"]


class SimPump:
    """A syringe pump feeding ``stream`` of the world's reactor (uL/min)."""

    def __init__(self, world: SimWorld, stream: str):
        if stream not in world.streams:
            raise DeviceError(f"the {world.material} world has no stream {stream!r}; streams are {list(world.streams)}")
        self.world = world
        self.stream = stream
        self._connected = False
        self._t_connect = 0.0

    def connect(self) -> None:
        self._connected = True
        self._t_connect = self.world.clock.now()

    def _check(self) -> None:
        if not self._connected:
            raise DeviceError(f"sim pump {self.stream!r} is not connected: call connect() first")

    def set_flow_ul_min(self, flow_ul_min: float) -> None:
        self._check()
        if not np.isfinite(flow_ul_min) or flow_ul_min < 0:
            raise DeviceError(f"sim pump {self.stream!r}: flow must be a non-negative number, got {flow_ul_min}")
        self.world.set_flow(self.stream, float(flow_ul_min))

    def flow_ul_min(self) -> float:
        self._check()
        return self.world.delivered_flow(self.stream)

    def dispensed_ul(self) -> float:
        self._check()
        return self.world.dispensed_between(self.stream, self._t_connect, self.world.clock.now())

    def stop(self) -> None:
        self.world.set_flow(self.stream, 0.0)

    def alarm(self) -> str | None:
        return "stall" if self.world.stalled else None

    def close(self) -> None:
        self._connected = False


class SimHeater:
    """The reactor coil's temperature controller: first-order lag towards the set point."""

    def __init__(self, world: SimWorld):
        self.world = world
        self._connected = False

    def connect(self) -> None:
        self._connected = True

    def set_setpoint_c(self, setpoint_c: float) -> None:
        if not np.isfinite(setpoint_c):
            raise DeviceError(f"sim heater: set point must be finite, got {setpoint_c}")
        self.world.set_setpoint(float(setpoint_c))

    def setpoint_c(self) -> float:
        return self.world.setpoint()

    def temperature_c(self) -> float:
        t = self.world.temperature()
        if self.world.noise:
            t += float(self.world._rng("heater").normal(0.0, 0.05))
        return t

    def close(self) -> None:
        self._connected = False


class SimSpectrometer:
    """The inline flow-cell spectrometer: raw counts of what is in the cell now."""

    def __init__(self, world: SimWorld, *, integration_ms: dict[str, float] | None = None):
        self.world = world
        self._ms = {"absorbance": 20.0, "pl": 200.0}
        if integration_ms:
            self._ms.update(integration_ms)
        self._connected = False

    def connect(self) -> None:
        self._connected = True

    def wavelengths_nm(self, channel: Channel) -> np.ndarray:
        self._channel(channel)
        return spectrometer_grid_nm(self.world.material).copy()

    def set_integration_time_ms(self, channel: Channel, ms: float) -> None:
        self._channel(channel)
        if not np.isfinite(ms) or ms < 0.1 or ms > 60_000:
            raise DeviceError(f"sim spectrometer: integration time must be in [0.1, 60000] ms, got {ms}")
        self._ms[channel] = float(ms)

    def integration_time_ms(self, channel: Channel) -> float:
        return self._ms[self._channel(channel)]

    def integration_limits_ms(self) -> tuple[float, float]:
        """Shortest and longest integration time this detector accepts (ms)."""
        return (0.1, 60_000.0)

    def acquire(self, channel: Channel, *, source_on: bool) -> np.ndarray:
        if not self._connected:
            raise DeviceError("sim spectrometer is not connected: call connect() first")
        return self.world.acquire(self._channel(channel), self._ms[channel], bool(source_on))

    def saturation_counts(self) -> float:
        return SATURATION_COUNTS

    def close(self) -> None:
        self._connected = False

    @staticmethod
    def _channel(channel: str) -> str:
        if channel not in ("absorbance", "pl"):
            raise DeviceError(f"sim spectrometer has channels 'absorbance' and 'pl', not {channel!r}")
        return channel


def _check_protocols() -> None:  # pragma: no cover - documentation of intent, exercised in tests
    w = SimWorld("CdSe")
    assert isinstance(SimPump(w, "cd"), PumpBackend)
    assert isinstance(SimHeater(w), HeaterBackend)
    assert isinstance(SimSpectrometer(w), SpectrometerBackend)
