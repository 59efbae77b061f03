"""Bad input: one clear line on stderr naming file, key and what is allowed; exit 2; no traceback."""

from pathlib import Path

import pytest

from lab.cli import main
from models.outcomes import figure_names

EXAMPLE = Path(__file__).resolve().parents[3] / "campaigns" / "examples" / "cdse-green.toml"


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
    "malformed toml": ("budget = 30", "budget = = 30", ["not valid TOML"]),
    "unknown key": ("seed = 1", 'seed = 1\ncolour = "green"', ["colour", "unknown key", "allowed here"]),
    "missing unit": ('low = "230 degC"', "low = 230", ["has no unit", "230 degC"]),
    "wrong unit": ('low = "30 s"', 'low = "30 mM"', ["not convertible to s"]),
    "bad bounds": ('high = "6 mM"', 'high = "0.5 mM"', ["low (1) must be below high (0.5)"]),
    "unknown parameter": ('name = "ratio_se_cd"', 'name = "colour"', ["unknown parameter 'colour'"]),
    "bad objective": (
        'outcome = "plqy", goal = "maximize"',
        'outcome = "plqy", goal = "maximise"',
        ["objective"],
    ),
    "missing key": ('material = "CdSe"\n', "", ["material", "required key is missing"]),
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
    sim_lab = Path(__file__).resolve().parents[3] / "lab" / "examples" / "sim-cdse.toml"
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

    code = (
        "import sys; from lab.cli import main; main(['run', 'nothere.toml', '--sim']); main(['--help']); "
        "print(sorted(m for m in ('torch', 'bluesky', 'lab.run.session') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr
    assert "qdlab: nothere.toml: no such file" in proc.stderr


# ----- outcome names: a typo is refused before anything moves (issue 12, deliverable 4) -----

ROOT = Path(__file__).resolve().parents[3]
PARETO = ROOT / "campaigns" / "examples" / "cdse-pareto.toml"
EMULATED = ROOT / "lab" / "examples" / "emulated.toml"
FIGURES = figure_names()  # the one list (models/outcomes.py)

NAME_CASES = {  # example, old, new, key in the message, wrong name, suggestion
    "objective term": (
        EXAMPLE,
        '{ outcome = "pl_peak_nm", within',
        '{ outcome = "pl_peak", within',
        "objective.terms[0].outcome",
        "pl_peak",
        "pl_peak_nm",
    ),
    "reached key": (
        EXAMPLE,
        "reached = { pl_peak_nm =",
        "reached = { pl_peak =",
        "objective.reached.pl_peak",
        "pl_peak",
        "pl_peak_nm",
    ),
    "outcome constraint": (
        EXAMPLE,
        "seed = 1\n",
        'seed = 1\noutcome_constraints = [{ outcome = "plq", op = ">=", value = 0.3 }]\n',
        "outcome_constraints[0].outcome",
        "plq",
        "plqy",
    ),
    "multi-objective name": (
        PARETO,
        'name = "pl_fwhm_nm"',
        'name = "pl_fwhm"',
        "objective[1].name",
        "pl_fwhm",
        "pl_fwhm_nm",
    ),
    "pareto constraint": (
        PARETO,
        'outcome = "pl_peak_nm"',
        'outcome = "PL_peak_nm"',
        "outcome_constraints[0].outcome",
        "PL_peak_nm",
        "pl_peak_nm",
    ),
}


@pytest.fixture
def nothing_moves(monkeypatch):
    """No rig is built (no device, emulator or simulated world touched) and no benchmark starts."""
    import lab.bench.campaign
    import lab.run.session

    def refuse(*args, **kwargs):
        raise AssertionError("a rig was built or a benchmark started for a refused campaign")

    monkeypatch.setattr(lab.run.session, "build_rig", refuse)
    monkeypatch.setattr(lab.bench.campaign, "run_bench", refuse)


def _name_variant(tmp_path, case):
    example, old, new, *_ = NAME_CASES[case]
    text = example.read_text()
    assert old in text
    path = tmp_path / "typo.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def _assert_names_line(err, case, source):
    *_, key, wrong, right = NAME_CASES[case]
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert f"{source}: {key}: unknown outcome {wrong!r} (did you mean {right!r}?); known outcomes:" in err, (
        err
    )
    for name in FIGURES:
        assert name in err


@pytest.mark.parametrize("command", ["run --sim", "run --lab emulated", "bench"])
@pytest.mark.parametrize("case", sorted(NAME_CASES))
def test_an_unknown_outcome_name_is_one_line_exit_2_before_anything_moves(
    tmp_path, capsys, nothing_moves, case, command
):
    path = _name_variant(tmp_path, case)
    out = tmp_path / "out"
    argv = {
        "run --sim": ["run", str(path), "--sim", "--out", str(out)],
        "run --lab emulated": ["run", str(path), "--lab", str(EMULATED), "--out", str(out)],
        "bench": [
            "bench",
            "--campaign",
            str(path),
            "--repeats",
            "1",
            "--budget",
            "2",
            "--out",
            str(out / "bench.json"),
        ],
    }[command]
    code, err, _ = run_cli(capsys, *argv)
    assert code == 2, err
    _assert_names_line(err, case, str(path))
    assert not out.exists()  # no run directory


def test_resume_refuses_a_campaign_that_names_an_unknown_outcome(
    small_campaign, tmp_path, capsys, nothing_moves
):
    stopped = tmp_path / "stopped"
    _copy_campaign(small_campaign, stopped)
    text = (stopped / "campaign.toml").read_text()
    assert text.count('"pl_peak_nm"') >= 1
    (stopped / "campaign.toml").write_text(text.replace('"pl_peak_nm"', '"pl_peak"', 1))
    log = (stopped / "documents.jsonl").read_bytes()
    code, err, _ = run_cli(capsys, "resume", str(stopped))
    assert code == 2, err
    assert len(err.splitlines()) == 1
    assert f"{stopped / 'campaign.toml'}: objective." in err and "unknown outcome 'pl_peak'" in err
    assert "did you mean 'pl_peak_nm'" in err
    assert (stopped / "documents.jsonl").read_bytes() == log  # nothing ran


def test_readers_still_open_a_campaign_as_it_ran(small_campaign, tmp_path, capsys):
    # a record is read as written (it may have run with a reactor model's own names): report, replay
    ran = tmp_path / "ran"
    _copy_campaign(small_campaign, ran)
    text = (ran / "campaign.toml").read_text()
    (ran / "campaign.toml").write_text(text.replace('"plqy"', '"loss"'))
    from lab.store.sources import open_directory

    assert open_directory(ran).spec.objective


@pytest.mark.parametrize("case", sorted(NAME_CASES))
def test_an_unknown_outcome_name_in_python_is_a_configuration_error(tmp_path, case):
    from lab.config.files import campaign_from_table, load_campaign, load_toml
    from models.errors import ConfigurationError

    path = _name_variant(tmp_path, case)
    with pytest.raises(ConfigurationError) as info:
        load_campaign(path)
    _assert_names_line(str(info.value), case, str(path))
    with pytest.raises(ConfigurationError, match="unknown outcome"):
        campaign_from_table(load_toml(path), "tiled:x")


@pytest.mark.parametrize(
    "example", sorted((ROOT / "campaigns" / "examples").glob("*.toml")), ids=lambda p: p.name
)
def test_every_example_campaign_names_known_outcomes(example):
    from lab.config.files import load_campaign

    assert load_campaign(example).name


# ----- a user reactor model declares its outcomes -----

MODEL = """
OUTCOMES = ["loss", "cost"]


def predict(conditions):
    return {"loss": (conditions["temperature"] - 260.0) ** 2 / 100.0, "cost": 1.0, "failure": None}
"""


def _model(tmp_path, text=MODEL, name="model.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _loss_campaign(tmp_path, objective='name = "loss"\ngoal = "minimize"\n', name="loss.toml"):
    text = EXAMPLE.read_text().replace('strategy = "botorch"', 'strategy = "sobol"')
    head, rest = text.split("[objective]")
    path = tmp_path / name
    path.write_text(head + "[objective]\n" + objective + "\n[protocol]" + rest.split("[protocol]")[1])
    return path


@pytest.mark.parametrize(
    "objective,wrong,suggestion",
    [
        ('name = "los"\ngoal = "minimize"\n', "los", "loss"),
        ('name = "loss"\nreached = { cots = [0.0, 2.0] }\n', "cots", "cost"),
        ('name = "pl_peak_nm"\n', "pl_peak_nm", None),  # the model does not report the figures of merit
    ],
)
def test_a_campaign_may_name_only_what_its_reactor_model_declares(
    tmp_path, capsys, nothing_moves, objective, wrong, suggestion
):
    model, campaign = _model(tmp_path), _loss_campaign(tmp_path, objective)
    for argv in (
        ["run", str(campaign), "--sim", "--out", str(tmp_path / "out")],
        ["bench", "--campaign", str(campaign), "--repeats", "1", "--out", str(tmp_path / "out" / "b.json")],
    ):
        code, err, _ = run_cli(capsys, *argv, "--reactor-model", f"{model}:predict")
        assert code == 2 and len(err.splitlines()) == 1, err
        assert f"{campaign}: objective." in err and f"unknown outcome {wrong!r}" in err
        assert err.endswith("known outcomes: loss, cost")
        assert (f"did you mean {suggestion!r}" in err) if suggestion else "did you mean" not in err
        assert not (tmp_path / "out").exists()


def test_a_bad_declaration_is_refused(tmp_path, capsys, nothing_moves):
    campaign = _loss_campaign(tmp_path)
    for text, fragment in (
        ('OUTCOMES = "loss"\ndef predict(c):\n    return {}\n', "OUTCOMES: must be a non-empty list"),
        (
            'OUTCOMES = ["loss", "objective"]\ndef predict(c):\n    return {}\n',
            "'objective' is recorded by qdlab itself",
        ),
        (
            'def predict(c):\n    return {}\npredict.outcomes = ["a-b"]\n',
            "predict.outcomes: must be a non-empty list",
        ),
    ):
        model = _model(tmp_path, text)
        code, err, _ = run_cli(
            capsys,
            "run",
            str(campaign),
            "--sim",
            "--out",
            str(tmp_path / "out"),
            "--reactor-model",
            f"{model}:predict",
        )
        assert code == 2 and fragment in err and str(model) in err and len(err.splitlines()) == 1, err


def test_a_model_returning_an_undeclared_outcome_is_refused(tmp_path):
    from lab.run.user_model import load_reactor_model
    from models.errors import ConfigurationError

    typo = _model(tmp_path, MODEL.replace('"cost": 1.0', '"cots": 1.0'))
    declared = load_reactor_model(f"{typo}:predict")
    with pytest.raises(
        ConfigurationError, match=r"returned unknown outcome 'cots' \(did you mean 'cost'\?\)"
    ):
        declared({"temperature": 250.0})
    plain = _model(tmp_path, MODEL.replace("OUTCOMES", "_OUT"), "u.py")
    undeclared = load_reactor_model(f"{plain}:predict")
    assert undeclared.outcomes == FIGURES and not undeclared.declared
    with pytest.raises(
        ConfigurationError, match=r"returned unknown outcome 'loss'.*declare its outcomes with OUTCOMES"
    ):
        undeclared({"temperature": 250.0})
    attributed = _model(tmp_path, 'def f(c):\n    return {}\n\n\nf.outcomes = ["loss"]\n', "a.py")
    attribute = load_reactor_model(f"{attributed}:f")
    assert attribute.outcomes == ("loss",) and attribute({}) == {}
