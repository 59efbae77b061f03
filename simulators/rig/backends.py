"""The simulated devices: views on one ``SimWorld`` implementing ``devices.backends`` protocols.

The one set of views, for the lab's ``type = "sim"`` devices (``lab.run.rig_builder``) and behind the
wire emulators (``simulators.emulators``, ``lab.run.emulate``). Construction does no I/O and
``connect()`` is explicit, as for real drivers. Every call into the world holds the world's lock
(``world_lock``): the emulators serve bytes on their own threads while the controller, in the same
process for an emulated lab, reads the spectrometer.
"""

from __future__ import annotations

import threading

import numpy as np

from devices.backends import Channel
from devices.limits import SYRINGE_EMPTY_TOLERANCE_UL, check_syringe
from models.errors import DeviceError
from simulators.chemistry.optics import spectrometer_grid_nm
from simulators.rig.instrument import SATURATION_COUNTS
from simulators.rig.world import SimWorld

__all__ = ["SimPump", "SimHeater", "SimSpectrometer", "world_lock"]


def world_lock(world: SimWorld) -> threading.RLock:
    """The one lock of ``world`` (:attr:`SimWorld.lock`), shared by every view on it (hold it to read the
    world directly from another thread)."""
    return world.lock


class SimPump:
    """A syringe pump feeding ``stream`` of the world's reactor (uL/min).

    With ``syringe_volume_ul`` it accounts for its syringe exactly as the NE-1000 driver does
    (``devices.limits.check_syringe``): each run is given what is left as a volume target, so the pump
    stops by itself when the syringe is empty and then reports alarm 'empty'; starting an empty syringe
    raises ``DeviceError`` ("syringe empty"); ``refill(volume)`` zeroes the counter. Without it
    (``None``: world-level tools and plots, and the NE-1000 emulator, which keeps its own volumes) the
    syringe never empties. ``dispensed_ul`` counts from ``connect()`` (or the last refill).
    """

    def __init__(
        self, world: SimWorld, stream: str, *, syringe_volume_ul: float | None = None, name: str | None = None
    ):
        if stream not in world.streams:
            raise DeviceError(
                f"the {world.material} world has no stream {stream!r}; streams are {list(world.streams)}"
            )
        self.world = world
        self.stream = stream
        self.syringe_volume_ul = None if syringe_volume_ul is None else float(syringe_volume_ul)
        self.name = name or f"sim pump {stream!r}"
        self._lock = world_lock(world)
        self._connected = False
        self._t_connect = 0.0
        self._running = False
        self._empty = False

    def connect(self) -> None:
        with self._lock:
            self._connected = True
            self._t_connect = self.world.clock.now()
            self._running = self._empty = False

    def _check(self) -> None:
        if not self._connected:
            raise DeviceError(f"sim pump {self.stream!r} is not connected: call connect() first")

    def set_flow_ul_min(self, flow_ul_min: float) -> None:
        self._check()
        if not np.isfinite(flow_ul_min) or flow_ul_min < 0:
            raise DeviceError(
                f"sim pump {self.stream!r}: flow must be a non-negative number, got {flow_ul_min}"
            )
        with self._lock:
            if flow_ul_min == 0 or self.syringe_volume_ul is None:
                self._running = flow_ul_min > 0
                self.world.set_flow(self.stream, float(flow_ul_min))
                return
            self._update_empty()
            dispensed = self.dispensed_ul()
            if self._empty:  # it stopped on its volume target: empty, whatever the counter says
                dispensed = max(dispensed, self.syringe_volume_ul)
            try:
                remaining = check_syringe(self.name, dispensed_ul=dispensed, filled_ul=self.syringe_volume_ul)
            except DeviceError:
                self._empty, self._running = True, False
                self.world.set_flow(self.stream, 0.0)
                raise
            self.world.set_flow(self.stream, float(flow_ul_min), limit_ul=remaining)
            self._running = True

    def _update_empty(self) -> None:
        """Latch 'empty' when a run stopped by itself (the world reached its volume target)."""
        if (
            self._running
            and self.syringe_volume_ul is not None
            and not self.world.stalled
            and self.world.delivered_flow(self.stream) == 0
        ):
            self._running = False
            self._empty = self.dispensed_ul() >= self.syringe_volume_ul - SYRINGE_EMPTY_TOLERANCE_UL

    def flow_ul_min(self) -> float:
        self._check()
        with self._lock:
            return self.world.delivered_flow(self.stream)

    def dispensed_ul(self) -> float:
        self._check()
        with self._lock:
            return self.world.dispensed_between(self.stream, self._t_connect, self.world.clock.now())

    def refill(self, volume_ul: float) -> None:
        """The syringe now holds ``volume_ul`` (uL): stop, zero the dispensed counter, clear 'empty'."""
        self._check()
        if self.syringe_volume_ul is not None and not 0 < volume_ul:
            raise DeviceError(f"{self.name}: a refill needs a positive volume, got {volume_ul:g} uL")
        with self._lock:
            self.stop()
            self._t_connect = self.world.clock.now()
            self.syringe_volume_ul = float(volume_ul)
            self._empty = False

    def stop(self) -> None:
        with self._lock:
            self._running = False
            self.world.set_flow(self.stream, 0.0)

    def alarm(self) -> str | None:
        with self._lock:
            if self.world.stalled:
                return "stall"
            if self._connected:
                self._update_empty()
            return "empty" if self._empty else None

    def close(self) -> None:
        self._connected = False


class SimHeater:
    """The reactor coil's temperature controller: first-order lag towards the set point.

    ``reading_noise``: the temperature read back carries 0.05 degC of thermocouple noise when the
    world is noisy; the Modbus emulator serves the coil's exact temperature (False).
    """

    def __init__(self, world: SimWorld, *, reading_noise: bool = True):
        self.world = world
        self.reading_noise = bool(reading_noise)
        self._lock = world_lock(world)
        self._connected = False

    def connect(self) -> None:
        self._connected = True

    def set_setpoint_c(self, setpoint_c: float) -> None:
        if not np.isfinite(setpoint_c):
            raise DeviceError(f"sim heater: set point must be finite, got {setpoint_c}")
        with self._lock:
            self.world.set_setpoint(float(setpoint_c))

    def setpoint_c(self) -> float:
        with self._lock:
            return self.world.setpoint()

    def temperature_c(self) -> float:
        with self._lock:
            t = self.world.temperature()
            if self.reading_noise and self.world.noise:
                t += float(self.world.rng("heater").normal(0.0, 0.05))
            return t

    def close(self) -> None:
        self._connected = False


class SimSpectrometer:
    """The inline flow-cell spectrometer: raw counts of what is in the cell now."""

    def __init__(self, world: SimWorld, *, integration_ms: dict[str, float] | None = None):
        self.world = world
        self._lock = world_lock(world)
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
        with self._lock:
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
