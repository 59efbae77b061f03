"""Backends on a ``SimWorld`` for the wire emulators, safe to share between threads.

The emulators serve bytes on their own threads while the controller (in the same process for the
emulated lab) reads the spectrometer: every call into the world holds one lock. The views implement
``devices.backends`` protocols, so an emulator can equally run on any other backend object.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from devices.backends import Channel

__all__ = ["WorldPumpView", "WorldHeaterView", "WorldSpectrometerView", "world_lock"]

_LOCKS: dict[int, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


def world_lock(world: Any) -> threading.RLock:
    """The one lock of ``world`` (shared by every view on it)."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(id(world), threading.RLock())


class WorldPumpView:
    """``PumpBackend`` for the world's stream ``stream``: rate in, delivered rate and volume out."""

    def __init__(self, world: Any, stream: str):
        self.world, self.stream = world, stream
        self._lock = world_lock(world)
        self._t0: float | None = None

    def connect(self) -> None:
        with self._lock:
            if self._t0 is None:
                self._t0 = self.world.clock.now()

    def set_flow_ul_min(self, flow_ul_min: float) -> None:
        with self._lock:
            self.world.set_flow(self.stream, flow_ul_min)

    def flow_ul_min(self) -> float:
        with self._lock:
            return float(self.world.delivered_flow(self.stream))

    def dispensed_ul(self) -> float:
        with self._lock:
            t0 = self.world.clock.now() if self._t0 is None else self._t0
            return float(self.world.dispensed_between(self.stream, t0, self.world.clock.now()))

    def stop(self) -> None:
        self.set_flow_ul_min(0.0)

    def alarm(self) -> str | None:
        with self._lock:
            return "stall" if self.world.stalled else None

    def close(self) -> None:
        pass


class WorldHeaterView:
    """``HeaterBackend``: the world's coil (first-order lag to the set point)."""

    def __init__(self, world: Any):
        self.world = world
        self._lock = world_lock(world)

    def connect(self) -> None:
        pass

    def set_setpoint_c(self, setpoint_c: float) -> None:
        with self._lock:
            self.world.set_setpoint(setpoint_c)

    def setpoint_c(self) -> float:
        with self._lock:
            return float(self.world.setpoint())

    def temperature_c(self) -> float:
        with self._lock:
            return float(self.world.temperature())

    def close(self) -> None:
        pass


class WorldSpectrometerView:
    """``SpectrometerBackend``: the world's flow cell seen by one spectrometer with two sources."""

    def __init__(self, world: Any):
        from simulators.chemistry.optics import spectrometer_grid_nm
        from simulators.rig.world import SATURATION_COUNTS

        self.world = world
        self._lock = world_lock(world)
        self._grid = np.asarray(spectrometer_grid_nm(world.material), dtype=float)
        self._saturation = float(SATURATION_COUNTS)
        self._integration_ms: dict[str, float] = {"absorbance": 50.0, "pl": 50.0}

    def connect(self) -> None:
        pass

    def wavelengths_nm(self, channel: Channel) -> np.ndarray:
        return self._grid.copy()

    def set_integration_time_ms(self, channel: Channel, ms: float) -> None:
        self._integration_ms[channel] = float(ms)

    def acquire(self, channel: Channel, *, source_on: bool) -> np.ndarray:
        with self._lock:
            return np.asarray(self.world.acquire(channel, self._integration_ms[channel], source_on), dtype=float)

    def saturation_counts(self) -> float:
        return self._saturation

    def close(self) -> None:
        pass
