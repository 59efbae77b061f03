"""Each driver owns its settings: the model registered with its ``type`` declares the keys its
section of ``lab.toml`` may hold beyond its kind's, validated (one line, exit 2) before anything moves."""

import tomllib

import pytest
import tomli_w
from pydantic import Field

import devices.registry as registry
from devices import DriverSettings, make_backend, register_backend
from lab.cli import main
from lab.config.files import EXAMPLES, dump_lab, load_lab
from models.errors import ConfigurationError

SIM_LAB = EXAMPLES["lab"] / "sim-cdse.toml"
CAMPAIGN = EXAMPLES["campaigns"] / "cdse-green.toml"


class ChannelSettings(DriverSettings):
    port: str
    channel: int = Field(default=1, ge=1, le=4)


class ChannelHeater:
    def __init__(self, settings: ChannelSettings):
        self.port, self.channel = settings.port, settings.channel


@pytest.fixture
def registered(monkeypatch):
    """A driver registered for the test only: one call, no edit to lab/config/lab_toml.py."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    register_backend(
        "heater", "channelheater", lambda *, settings, **_: ChannelHeater(settings), ChannelSettings
    )
    register_backend("pump", "bare", lambda **_: object())  # no settings of its own


def _lab(tmp_path, *, heater=None, pump=None):
    data = tomllib.loads(SIM_LAB.read_text())
    data["heater"].update(heater or {})
    data["pumps"]["cd"].update(pump or {})
    path = tmp_path / "lab.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def test_a_registered_drivers_keys_validate_with_its_section_and_reach_its_factory(tmp_path, registered):
    lab = load_lab(_lab(tmp_path, heater={"type": "channelheater", "port": "/dev/ttyUSB3", "channel": 2}))
    assert isinstance(lab.heater, ChannelSettings)
    assert (lab.heater.channel, lab.heater.port, lab.heater.max_temperature) == (2, "/dev/ttyUSB3", 330.0)
    backend = make_backend("heater", "channelheater", settings=lab.heater)
    assert (backend.port, backend.channel) == ("/dev/ttyUSB3", 2)
    dump_lab(lab, tmp_path / "again.toml")
    assert load_lab(tmp_path / "again.toml") == lab


@pytest.mark.parametrize(
    "heater, message",
    [
        (
            {"port": "/dev/ttyUSB3", "chanel": 2},
            "heater.chanel: unknown key; allowed here: channel, max_temperature, min_temperature, port, "
            "safe_temperature, tolerance, type",
        ),
        (
            {"port": "/dev/ttyUSB3", "channel": 9},
            "heater.channel: Input should be less than or equal to 4 (got 9)",
        ),
        ({"channel": 2}, "heater.port: required key is missing"),
    ],
)
def test_a_registered_drivers_settings_refuse_a_bad_key_in_one_line(tmp_path, registered, heater, message):
    path = _lab(tmp_path, heater={"type": "channelheater", **heater})
    with pytest.raises(ConfigurationError) as err:
        load_lab(path)
    assert str(err.value) == f"{path}: {message}"


def test_a_key_no_model_of_its_type_declares_is_refused(tmp_path, registered):
    path = _lab(tmp_path, pump={"type": "bare", "port": "/dev/ttyUSB0"})
    with pytest.raises(ConfigurationError) as err:
        load_lab(path)
    assert str(err.value) == (
        f"{path}: pumps.cd.port: unknown key; allowed here: max_rate, min_rate, reagent, stock, syringe_volume, type"
    )


def test_a_bad_driver_key_stops_qdlab_run_before_anything_moves(tmp_path, capsys):
    text = (EXAMPLES["lab"] / "emulated.toml").read_text()
    lab = tmp_path / "lab.toml"
    lab.write_text(text.replace('syringe_diameter = "14.57 mm"', 'syringe_diamter = "14.57 mm"', 1))
    code = main(["run", str(CAMPAIGN), "--lab", str(lab), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert f"{lab}: pumps.cd.syringe_diamter: unknown key; allowed here: address, " in err, err
    assert "syringe_diameter" in err and "watchdog" in err, err
    assert not (tmp_path / "out").exists()


def test_an_unknown_type_is_refused_as_the_file_is_read(tmp_path):
    path = _lab(tmp_path, heater={"type": "eurotherm9"})
    with pytest.raises(ConfigurationError) as err:
        load_lab(path)
    assert (
        str(err.value)
        == f"{path}: heater.type: unknown heater type 'eurotherm9'; known types: eurotherm, sim"
    )
