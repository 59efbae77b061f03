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


def _copy_campaign(src, dst):
    dst.mkdir()
    for name in ("campaign.toml", "lab.toml", "documents.jsonl"):
        (dst / name).write_bytes((src / name).read_bytes())


@pytest.fixture(scope="module")
def small_campaign(tmp_path_factory):
    out = tmp_path_factory.mktemp("small") / "c"
    assert main(["run", str(EXAMPLE), "--sim", "--out", str(out), "--budget", "2"]) == 0
    return out


def test_corrupted_log_line_names_the_line(small_campaign, tmp_path, capsys):
    bad = tmp_path / "bad"
    _copy_campaign(small_campaign, bad)
    lines = (bad / "documents.jsonl").read_text().splitlines()
    lines[3] = lines[3][:20] + "#GARBAGE#" + lines[3][20:]
    (bad / "documents.jsonl").write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    for command in (["replay", str(bad)], ["resume", str(bad)]):
        code, err, _ = run_cli(capsys, *command)
        assert code == 2 and "line 4" in err and "corrupted" in err and len(err.splitlines()) == 1


def test_log_from_a_newer_format_is_refused_clearly(small_campaign, tmp_path, capsys):
    newer = tmp_path / "newer"
    _copy_campaign(small_campaign, newer)
    text = (newer / "documents.jsonl").read_text().replace('"log_format":1', '"log_format":7')
    (newer / "documents.jsonl").write_text(text)
    capsys.readouterr()
    code, err, _ = run_cli(capsys, "replay", str(newer))
    assert code == 2 and "log format 7" in err and "newer qdlab" in err


def test_log_without_format_key_is_read_as_format_1(small_campaign, tmp_path, capsys):
    old = tmp_path / "old"
    _copy_campaign(small_campaign, old)
    text = (old / "documents.jsonl").read_text().replace('"log_format":1,', "")
    assert '"log_format"' not in text
    (old / "documents.jsonl").write_text(text)
    capsys.readouterr()
    code, _, out = run_cli(capsys, "replay", str(old), "--json")
    assert code == 0 and '"divergences": []' in out


def test_simulate_benchmark_prints_the_rate(capsys):
    code, err, out = run_cli(capsys, "simulate", "--material", "cdse", "--benchmark", "256", "--json")
    assert code == 0 and "evaluations/s" in err
    import json

    result = json.loads(out)
    assert result["material"] == "CdSe" and result["conditions"] == 256 and result["evaluations_per_s"] > 0


def test_help_and_bad_input_do_not_load_the_heavy_stack():
    # torch, BoTorch and bluesky take seconds to import: a typo must not cost that, and must not get
    # as far as the module that builds devices
    import subprocess
    import sys

    code = ("import sys; from lab.cli import main; main(['run', 'nothere.toml', '--sim']); main(['--help']); "
            "print(sorted(m for m in ('torch', 'bluesky', 'lab.session') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr
    assert "qdlab: nothere.toml: no such file" in proc.stderr
