"""Ocean Insight spectrometer driver over seabreeze: no device present, and a fake seabreeze device."""

import sys

import numpy as np
import pytest

from devices.drivers import SeabreezeSpectrometer
from devices.registry import make_backend
from lab.config.lab_toml import SpectrometerConfig
from models.errors import ConfigurationError, DeviceError


def test_importing_the_drivers_does_not_import_seabreeze():
    import subprocess

    code = "import devices.drivers, sys; print('seabreeze' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_no_spectrometer_present_is_a_clear_device_error():
    pytest.importorskip("seabreeze")
    spectrometer = make_backend("spectrometer", "seabreeze", settings=SpectrometerConfig(type="seabreeze"))
    with pytest.raises(DeviceError, match="no Ocean Insight spectrometer found .*plug it in over USB"):
        spectrometer.connect()


class _Lamp:
    def __init__(self):
        self.states = []

    def enable_lamp(self, on):
        self.states.append(on)


class _Device:
    model, serial_number, max_intensity = "FLAME-S", "FLMS01234", 65535.0
    integration_time_micros_limits = (1000, 10_000_000)

    def __init__(self, lamp=True):
        self.f = type("F", (), {"strobe_lamp": _Lamp() if lamp else None})()
        self.integration = []
        self.closed = False

    def wavelengths(self):
        return np.linspace(350.0, 800.0, 2048)

    def integration_time_micros(self, us):
        self.integration.append(us)

    def intensities(self, correct_dark_counts=False, correct_nonlinearity=False):
        return np.full(2048, 40000.0 if self.f.strobe_lamp.states[-1] else 1000.0)

    def close(self):
        self.closed = True


def _module(device):
    class Spectrometer:
        @staticmethod
        def from_first_available():
            return device

        @staticmethod
        def from_serial_number(serial):
            if serial != device.serial_number:
                raise RuntimeError(f"No device attached with serial number '{serial}'.")
            return device

    return type("spectrometers", (), {"Spectrometer": Spectrometer})


def test_fake_device_lamp_switching_and_integration_time():
    device = _Device()
    spec = SeabreezeSpectrometer(serial="FLMS01234", spectrometers=_module(device))
    spec.connect()
    assert spec.wavelengths_nm("pl").shape == (2048,)
    spec.set_integration_time_ms("absorbance", 20.0)
    assert spec.acquire("absorbance", source_on=True)[0] == 40000.0
    assert spec.acquire("absorbance", source_on=False)[0] == 1000.0
    assert spec.acquire("pl", source_on=True)[0] == 1000.0  # the lamp stays off for PL
    assert device.integration[0] == 20000 and device.f.strobe_lamp.states[-1] is False
    assert spec.saturation_counts() == 65535.0
    with pytest.raises(ConfigurationError, match="outside this spectrometer's range"):
        spec.set_integration_time_ms("pl", 0.1)
    spec.close()
    assert device.closed


def test_wrong_serial_and_missing_lamp_line_are_clear_errors():
    with pytest.raises(DeviceError, match="no Ocean Insight spectrometer XYZ found"):
        SeabreezeSpectrometer(serial="XYZ", spectrometers=_module(_Device())).connect()
    device = _Device(lamp=False)
    with pytest.raises(DeviceError, match="no lamp-enable line"):
        SeabreezeSpectrometer(spectrometers=_module(device)).connect()
    assert device.closed


def test_auto_exposure_on_the_seabreeze_driver_stays_within_the_devices_limits():
    """The exposure rule is the device layer's: on the seabreeze driver it is bounded by what the
    spectrometer reports (1 ms - 10 s here), whatever lab.toml allows (docs/adr/0008)."""
    from devices.spectrometer import Exposure, Spectrometer

    device = _Device()
    backend = SeabreezeSpectrometer(spectrometers=_module(device))
    spec = Spectrometer(backend, exposure=Exposure(min_ms=0.1, max_ms=60_000.0), name="spec")
    spec.connect()
    assert backend.integration_limits_ms() == (1.0, 10_000.0)
    spec.set("dark")
    spec.set("reference")
    spec.trigger()
    times_us = set(device.integration)
    assert min(times_us) >= 1000 and max(times_us) <= 10_000_000
    reading = spec.read()
    assert 1.0 <= reading["spec_pl_integration_time"]["value"] <= 10_000.0
