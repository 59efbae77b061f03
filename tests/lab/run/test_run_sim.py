"""A simulated campaign end to end through the CLI: log, validation, replay, determinism."""

import json
from pathlib import Path

import pytest
from event_model import DocumentNames, schema_validators

from lab.cli import main
from lab.store.storage import read_documents

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "campaigns" / "examples" / "cdse-green.toml"


@pytest.fixture(scope="module")
def campaign_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "cdse"
    assert main(["run", str(EXAMPLE), "--sim", "--out", str(out), "--budget", "6", "--seed", "3"]) == 0
    return out


def test_directory_holds_resolved_files_and_log(campaign_dir):
    for name in ("campaign.toml", "lab.toml", "documents.jsonl"):
        assert (campaign_dir / name).is_file()
    text = (campaign_dir / "campaign.toml").read_text()
    assert "budget = 6" in text and "seed = 3" in text and "id = " in text


def test_every_line_validates_against_event_model(campaign_dir):
    docs = list(read_documents(campaign_dir / "documents.jsonl"))
    assert docs
    for name, doc in docs:
        schema_validators[DocumentNames[name]].validate(doc)
    starts = [d for n, d in docs if n == "start"]
    stops = [d for n, d in docs if n == "stop"]
    assert [s["experiment_index"] for s in starts] == list(range(6))
    assert all(s["exit_status"] == "success" for s in stops)
    for start in starts:
        assert start["campaign_id"] and start["strategy"] == "botorch" and start["seed"] == 3
        assert set(start["conditions"]) == {"temperature", "residence_time", "conc_cd", "ratio_se_cd"}
        assert set(start["setpoints"]["flows_ul_min"]) == {"cd", "se", "solvent"}
    descriptors = {d["name"] for n, d in docs if n == "descriptor"}
    assert descriptors == {"primary", "outcomes"}


def test_replay_json_reproduces_every_decision(campaign_dir, capsys):
    assert main(["replay", str(campaign_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [e["index"] for e in result["experiments"]] == list(range(6))
    assert result["divergences"] == []
    for e in result["experiments"]:
        assert set(e) >= {"index", "conditions", "outcomes"}
        assert "pl_peak_nm" in e["outcomes"] and "failure" in e["outcomes"]


def test_replay_flags_a_tampered_decision(campaign_dir, tmp_path, capsys):
    from tests.lab.conftest import tampered_copy

    def warmer_fifth_proposal(entry):
        if entry["name"] != "start" or entry["doc"]["experiment_index"] != 4:
            return False
        entry["doc"]["conditions"]["temperature"] += 1.0
        return True

    copy = tampered_copy(campaign_dir, tmp_path / "tampered", warmer_fifth_proposal)
    assert main(["replay", str(copy), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # the tampered proposal diverges; later proposals may too, since they learnt from the tampered row
    indices = [d["index"] for d in result["divergences"]]
    assert indices and indices[0] == 4 and all(i >= 4 for i in indices)


def test_same_seed_logs_identical_conditions_and_outcomes(campaign_dir, tmp_path, capsys):
    again = tmp_path / "again"
    assert main(["run", str(EXAMPLE), "--sim", "--out", str(again), "--budget", "6", "--seed", "3"]) == 0
    capsys.readouterr()
    results = []
    for d in (campaign_dir, again):
        assert main(["replay", str(d), "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out)["experiments"])
    assert results[0] == results[1]


def test_existing_directory_is_not_overwritten(campaign_dir, capsys):
    code = main(["run", str(EXAMPLE), "--sim", "--out", str(campaign_dir), "--budget", "2"])
    assert code == 2
    assert "qdlab resume" in capsys.readouterr().err
