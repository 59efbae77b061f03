"""Bad input: one clear line on stderr naming file, key and what is allowed; exit 2; no traceback."""

from pathlib import Path

import pytest

from lab.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "campaigns" / "examples" / "cdse-green.toml"


def run_cli(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.err.strip(), captured.out


def write_variant(tmp_path, old, new, name="c.toml"):
    text = EXAMPLE.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


CASES = {
    "malformed toml": ('budget = 30', 'budget = = 30', ["not valid TOML"]),
    "unknown key": ('seed = 1', 'seed = 1\ncolour = "green"', ["colour", "unknown key", "allowed here"]),
    "missing unit": ('low = "230 degC"', 'low = 230', ["has no unit", "230 degC"]),
    "wrong unit": ('low = "30 s"', 'low = "30 mM"', ["not convertible to s"]),
    "bad bounds": ('high = "6 mM"', 'high = "0.5 mM"', ["low (1) must be below high (0.5)"]),
    "unknown parameter": ('name = "ratio_se_cd"', 'name = "colour"', ["unknown parameter 'colour'"]),
    "bad objective": ('outcome = "plqy", goal = "maximize"', 'outcome = "plqy", goal = "maximise"', ["objective"]),
    "missing key": ('material = "CdSe"\n', '', ["material", "required key is missing"]),
    "beyond lab limits": ('high = "310 degC"', 'high = "400 degC"', ["heater limits", "330"]),
    "pump limits": ('high = "10 min"', 'high = "100 min"', ["pump would run at", "narrow the bounds"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_campaign_file_is_one_line_exit_2(tmp_path, capsys, case):
    old, new, expected = CASES[case]
    path = write_variant(tmp_path, old, new)
    code, err, _ = run_cli(capsys, "run", str(path), "--sim", "--out", str(tmp_path / "out"))
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert str(path) in err
    for fragment in expected:
        assert fragment in err
    assert not (tmp_path / "out" / "documents.jsonl").exists()  # nothing ran


def test_missing_file(tmp_path, capsys):
    code, err, _ = run_cli(capsys, "run", str(tmp_path / "nope.toml"), "--sim")
    assert code == 2 and "nope.toml: no such file" in err


def test_sim_or_lab_required(capsys):
    code, err, _ = run_cli(capsys, "run", str(EXAMPLE))
    assert code == 2 and "exactly one of --sim or --lab" in err


def test_bad_lab_file(tmp_path, capsys):
    lab = tmp_path / "lab.toml"
    lab.write_text('[reactor]\nvolume = "250 uL"\n')
    code, err, _ = run_cli(capsys, "run", str(EXAMPLE), "--lab", str(lab))
    assert code == 2 and str(lab) in err and "transfer_volume: required key is missing" in err


def test_unknown_device_type(tmp_path, capsys):
    sim_lab = Path(__file__).resolve().parents[2] / "lab" / "examples" / "sim-cdse.toml"
    lab = tmp_path / "lab.toml"
    lab.write_text(sim_lab.read_text().replace('type = "sim"', 'type = "ne9999"'))
    code, err, _ = run_cli(capsys, "run", str(EXAMPLE), "--lab", str(lab), "--out", str(tmp_path / "o"))
    assert code == 2 and "unknown pump type 'ne9999'" in err


def test_directory_that_is_not_a_campaign(tmp_path, capsys):
    code, err, _ = run_cli(capsys, "replay", str(tmp_path))
    assert code == 2 and "not a campaign directory" in err


def test_bad_usage_is_exit_2(capsys):
    code, err, _ = run_cli(capsys, "run", str(EXAMPLE), "--sim", "--budget", "0")
    assert code == 2
