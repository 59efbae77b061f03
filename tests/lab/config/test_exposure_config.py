"""``[spectrometer]`` exposure settings in lab.toml (docs/adr/0008)."""

from __future__ import annotations

import pytest

from lab.config.files import EXAMPLES, lab_to_data, load_lab
from lab.run.rig_builder import build_rig
from models.errors import ConfigurationError


@pytest.mark.parametrize(
    "name", ["sim-cdse.toml", "sim-pbs.toml", "sim-inp.toml", "sim-cspbbr3.toml", "emulated.toml"]
)
def test_example_labs_expose_automatically(name):
    lab = load_lab(EXAMPLES["lab"] / name)
    assert lab.spectrometer.exposure == "auto"
    assert lab.spectrometer.min_integration_time == 1.0 and lab.spectrometer.max_integration_time == 30_000.0
    data = lab_to_data(lab)["spectrometer"]
    assert data["exposure"] == "auto" and data["max_integration_time"] == "30000.0 ms"


def _lab_file(tmp_path, extra: str):
    text = (EXAMPLES["lab"] / "sim-cdse.toml").read_text()
    text = text.replace('exposure = "auto"', extra)
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return path


def test_a_fixed_time_is_still_possible(tmp_path):
    lab = load_lab(_lab_file(tmp_path, 'exposure = "fixed"'))
    rig = build_rig(lab, material="CdSe", seed=0).rig
    assert not rig.spectrometer.exposure.auto
    assert rig.spectrometer.exposure.fixed_ms == 50.0


@pytest.mark.parametrize(
    "bad,match",
    [
        ('exposure = "sometimes"', "exposure"),
        ('exposure = "auto"\nexposure_target = 1.5', "exposure_target"),
    ],
)
def test_bad_exposure_settings_are_one_clear_error(tmp_path, bad, match):
    with pytest.raises(ConfigurationError, match=match):
        load_lab(_lab_file(tmp_path, bad))


def test_bounds_out_of_order_are_refused(tmp_path):
    text = (
        (EXAMPLES["lab"] / "sim-cdse.toml")
        .read_text()
        .replace('min_integration_time = "1 ms"', 'min_integration_time = "1 min"')
    )
    path = tmp_path / "lab.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match="min_integration_time"):
        load_lab(path)
