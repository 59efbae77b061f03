"""Automatic exposure of the spectrometer device (docs/adr/0008), on a linear detector model and on the
simulated rig: counts = offset + (dark current + light) x time, clipped at full scale."""

from __future__ import annotations

import numpy as np
import pytest

from devices.spectrometer import Exposure, Spectrometer
from models.errors import ConfigurationError

FULL = 65535.0


class LinearDetector:
    """Offset 1000 counts, dark current 0.5 counts/ms, lamp 600 counts/ms; the PL is a Gaussian line
    of ``pl_rate`` counts/ms at its peak; the sample transmits ``transmission`` of the lamp."""

    def __init__(self, *, pl_rate: float, transmission: float = 0.5, limits_ms=(0.1, 60_000.0), noise=0.0):
        self.pl_rate = pl_rate
        self.transmission = transmission
        self.sample_in = False
        self.limits = limits_ms
        self.ms = {}
        self.log: list[tuple[str, float, bool]] = []
        self.rng = np.random.default_rng(0)
        self.noise = noise
        self.wl = np.linspace(400, 800, 400)

    def connect(self):
        pass

    def close(self):
        pass

    def wavelengths_nm(self, channel):
        return self.wl

    def saturation_counts(self):
        return FULL

    def integration_limits_ms(self):
        return self.limits

    def set_integration_time_ms(self, channel, ms):
        if not self.limits[0] <= ms <= self.limits[1]:
            raise ValueError(f"{ms} ms outside {self.limits}")
        self.ms[channel] = ms

    def acquire(self, channel, *, source_on):
        ms = self.ms[channel]
        self.log.append((channel, ms, source_on))
        rate = np.full(self.wl.size, 0.5)
        if source_on and channel == "absorbance":
            rate = rate + 600.0 * (self.transmission if self.sample_in else 1.0)
        if source_on and channel == "pl" and self.sample_in:
            rate = rate + self.pl_rate * np.exp(-0.5 * ((self.wl - 600.0) / 20.0) ** 2)
        counts = 1000.0 + rate * ms
        if self.noise:
            counts = counts + self.rng.normal(0.0, self.noise, self.wl.size) * np.sqrt(rate * ms + 64.0)
        return np.clip(counts, 0.0, FULL)


def measure(detector, exposure=None):
    spec = Spectrometer(detector, exposure=exposure or Exposure(), name="spec")
    spec.connect()
    spec.set("dark")
    spec.set("reference")
    detector.sample_in = True
    spec.trigger()
    return spec, spec.read()


@pytest.mark.parametrize("noise", [0.0, 1.0])
def test_dim_sample_gets_a_longer_pl_time_than_a_bright_one_and_neither_saturates(noise):
    times = {}
    for name, rate in (("dim", 0.2), ("medium", 20.0), ("bright", 5000.0)):
        det = LinearDetector(pl_rate=rate, noise=noise)
        spec, reading = measure(det)
        ms = reading["spec_pl_integration_time"]["value"]
        times[name] = ms
        assert reading["spec_saturated"]["value"] is False
        last_pl = [entry for entry in det.log if entry[0] == "pl" and entry[2]][-1]
        assert last_pl[1] == ms  # the event's time is the time of the spectrum it carries
        raw_peak = 1000.0 + (0.5 + rate) * ms
        if ms < 30_000.0:  # not held at the bound: the brightest pixel lands near 60 % of full scale
            assert raw_peak == pytest.approx(0.6 * FULL, rel=0.2)
        # the dark at that time is subtracted: the line's peak is rate x time, the baseline zero
        pl = reading["spec_pl"]["value"]
        assert pl.max() == pytest.approx(rate * ms, rel=0.05, abs=5 * noise * np.sqrt(0.5 * ms + 64) + 1)
        assert abs(np.median(pl[:50])) < 3 + 3 * noise * np.sqrt(0.5 * ms + 64)
    assert times["dim"] > times["medium"] > times["bright"]
    assert times["dim"] == 30_000.0  # too dim for the longest time allowed: held at the bound
    assert times["bright"] < 20.0


def test_absorbance_is_exposed_on_the_blank_and_the_sample_uses_that_time():
    det = LinearDetector(pl_rate=10.0)
    spec, reading = measure(det)
    ms = reading["spec_abs_integration_time"]["value"]
    assert 1000.0 + 600.5 * ms == pytest.approx(0.6 * FULL, rel=0.15)
    abs_times = {entry[1] for entry in det.log if entry[0] == "absorbance"}
    # dark, reference and sample all at the one chosen time (plus the probes before the choice)
    calibrated = [entry for entry in det.log if entry[0] == "absorbance"][-3:]
    assert all(t == ms for _, t, _ in calibrated) and ms in abs_times
    np.testing.assert_allclose(reading["spec_absorbance"]["value"], -np.log10(0.5), atol=1e-6)


def test_bounds_are_the_intersection_of_config_and_device_and_a_fixed_time_still_works():
    det = LinearDetector(pl_rate=0.2, limits_ms=(0.1, 2_000.0))
    _, reading = measure(det)
    assert reading["spec_pl_integration_time"]["value"] == 2_000.0
    fixed = LinearDetector(pl_rate=0.2)
    _, reading = measure(fixed, Exposure(fixed_ms=50.0))
    assert reading["spec_pl_integration_time"]["value"] == 50.0
    assert reading["spec_abs_integration_time"]["value"] == 50.0
    assert {entry[1] for entry in fixed.log} == {50.0}
    with pytest.raises(ConfigurationError, match="overlap"):
        Spectrometer(
            LinearDetector(pl_rate=1.0, limits_ms=(100.0, 200.0)),
            exposure=Exposure(min_ms=1.0, max_ms=10.0),
            name="spec",
        ).connect()


def test_shortest_time_that_still_saturates_is_flagged_not_hidden():
    det = LinearDetector(pl_rate=1e7, limits_ms=(1.0, 60_000.0))
    _, reading = measure(det)
    assert reading["spec_pl_integration_time"]["value"] == 1.0
    assert reading["spec_saturated"]["value"] is True


def test_bad_exposure_settings_are_refused():
    with pytest.raises(ConfigurationError):
        Exposure(min_ms=10.0, max_ms=1.0)
    with pytest.raises(ConfigurationError):
        Exposure(target_fraction=1.0)
