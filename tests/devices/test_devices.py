"""ophyd devices over in-memory backends: limits, read-backs, absorbance from raw counts, timers."""

import numpy as np
import pytest

from devices import (
    Heater,
    HeaterLimits,
    PumpLimits,
    SimClock,
    Spectrometer,
    SyringePump,
    Timer,
    WallClock,
    make_backend,
    register_backend,
)
from models.errors import ConfigurationError, DeviceError, SafetyError


class MemoryPump:
    def __init__(self):
        self.rate = 0.0
        self.calls = []
        self._alarm = None

    def connect(self):
        self.calls.append("connect")

    def set_flow_ul_min(self, q):
        self.calls.append(("set", q))
        self.rate = q

    def flow_ul_min(self):
        return self.rate

    def dispensed_ul(self):
        return 12.5

    def stop(self):
        self.calls.append("stop")
        self.rate = 0.0

    def alarm(self):
        return self._alarm

    def close(self):
        pass


class MemoryHeater:
    def __init__(self):
        self.sp = 25.0

    def connect(self):
        pass

    def set_setpoint_c(self, t):
        self.sp = t

    def setpoint_c(self):
        return self.sp

    def temperature_c(self):
        return self.sp - 1.0

    def close(self):
        pass


class MemorySpectrometer:
    """Lamp of 10000 counts over a dark of 100; the sample transmits 10 % at every pixel."""

    def __init__(self):
        self.sample_in = False

    def connect(self):
        pass

    def wavelengths_nm(self, channel):
        return np.linspace(400, 700, 4)

    def set_integration_time_ms(self, channel, ms):
        self.ms = ms

    def saturation_counts(self):
        return 65535.0

    def close(self):
        pass

    def acquire(self, channel, *, source_on):
        dark = np.full(4, 100.0)
        if not source_on:
            return dark
        if channel == "pl":
            return dark + np.array([0, 50, 200, 0.0])
        return dark + (1000.0 if self.sample_in else 10000.0)


def make_pump(**kw):
    return SyringePump(MemoryPump(), PumpLimits(0.5, 300.0, 10_000.0), reagent="cd", name="pump_cd", **kw)


def test_pump_refuses_rates_outside_limits_and_never_touches_backend():
    pump = make_pump()
    for bad in (0.1, 301.0, float("nan"), -5.0):
        with pytest.raises(SafetyError, match="pump_cd"):
            pump.set(bad)
    assert pump.backend.calls == []


def test_pump_sets_reads_back_and_stops():
    pump = make_pump()
    pump.set(25.0)
    reading = pump.read()
    assert reading["pump_cd_flow"]["value"] == 25.0
    assert reading["pump_cd_dispensed"]["value"] == 12.5
    assert reading["pump_cd_alarm"]["value"] == ""
    pump.set(0)  # zero always allowed: it stops
    pump.stop()
    assert pump.backend.calls == [("set", 25.0), ("set", 0.0), "stop"]
    assert pump.remaining_ul() == pytest.approx(10_000.0 - 12.5)


def test_pump_alarm_is_a_device_error():
    pump = make_pump()
    pump.backend._alarm = "stall"
    assert pump.read()["pump_cd_alarm"]["value"] == "stall"
    with pytest.raises(DeviceError, match="stall"):
        pump.check_healthy()


def test_heater_limits_and_safe_setpoint():
    heater = Heater(MemoryHeater(), HeaterLimits(20, 330, 25), name="heater")
    with pytest.raises(SafetyError, match="400"):
        heater.set(400)
    heater.set(250)
    assert heater.read()["heater_temperature"]["value"] == 249.0
    heater.make_safe()
    assert heater.backend.sp == 25


def test_spectrometer_absorbance_from_dark_and_reference():
    backend = MemorySpectrometer()
    spec = Spectrometer(backend, integration_time_ms=50, name="spec")
    spec.connect()
    with pytest.raises(DeviceError, match="reference"):
        spec.trigger()
    spec.set("dark")
    spec.set("reference")
    backend.sample_in = True
    spec.trigger()
    reading = spec.read()
    np.testing.assert_allclose(reading["spec_absorbance"]["value"], 1.0)  # 10 % transmission
    np.testing.assert_allclose(reading["spec_pl"]["value"], [0, 50, 200, 0])
    assert reading["spec_saturated"]["value"] is False
    config = spec.read_configuration()
    np.testing.assert_allclose(config["spec_abs_wavelengths"]["value"], np.linspace(400, 700, 4))
    assert spec.describe()["spec_absorbance"]["dtype"] == "array"
    with pytest.raises(ValueError, match="unknown calibration"):
        spec.set("blank")


def test_timer_advances_simulated_time_immediately():
    clock = SimClock()
    timer = Timer(clock)
    status = timer.set(120.0)
    assert status.done and status.success
    assert clock.now() == 120.0
    assert timer.read()["timer_time"]["value"] == 120.0
    with pytest.raises(ValueError):
        timer.set(-1)


def test_wall_clock_speed_scales_waits():
    clock = WallClock(speed=1000.0)
    status = clock.wait(50.0)  # 50 simulated s = 50 ms of wall time
    status.wait(timeout=5)
    assert clock.now() >= 50.0


def test_unknown_backend_type_is_a_clear_configuration_error():
    register_backend("pump", "memory", lambda **kw: MemoryPump())
    assert isinstance(make_backend("pump", "memory"), MemoryPump)
    with pytest.raises(ConfigurationError, match="unknown pump type 'ne9999'.*memory"):
        make_backend("pump", "ne9999", key="pumps.cd.type")
