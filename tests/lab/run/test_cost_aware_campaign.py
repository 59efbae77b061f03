"""A cost-aware campaign on the simulated rig (``[protocol] cost_aware = true``): its cost model's estimates
agree with the reactor time each experiment took, its decisions carry the model's inputs and ``qdlab
replay`` re-derives every one of them; without the key nothing of it is recorded."""

from __future__ import annotations

import json

import pytest

from campaigns.conditions import Setpoints
from campaigns.cost import CostModel
from campaigns.streams import HEATER_STREAM
from lab.cli import main
from lab.store.records import experiments_from_documents, resource_use
from lab.store.storage import LOG_NAME, read_documents

from tests.lab.conftest import EXAMPLE

TOLERANCE = 0.03
"""Expected vs measured reactor time of one experiment (relative): the model follows the plans step by
step and the heater's fitted time constants; what it leaves out (the spectra's exposures, the poll
rounding of the heater's settle) is a few seconds."""


@pytest.fixture(scope="module")
def cost_campaign(tmp_path_factory):
    """A finished 6-experiment cost-aware campaign (4 Sobol points, then 2 cost-weighted proposals)."""
    text = EXAMPLE.read_text().replace('poll_interval = "5 s"', 'poll_interval = "5 s"\ncost_aware = true')
    assert "cost_aware = true" in text
    base = tmp_path_factory.mktemp("cost")
    path = base / "cdse-cost.toml"
    path.write_text(text)
    out = base / "run"
    assert main(["run", str(path), "--sim", "--out", str(out), "--budget", "6", "--seed", "1"]) == 0
    docs = list(read_documents(out / LOG_NAME))
    return out, docs, experiments_from_documents(docs)


def test_the_cost_models_estimates_agree_with_the_measured_reactor_time(cost_campaign):
    _, _, records = cost_campaign
    usage = resource_use(records)
    assert len(records) == 6
    for record, used in list(zip(records, usage))[1:]:  # the first one's time holds the calibration
        sp = record.setpoints
        model = CostModel.from_record(record.decision["cost"])
        expected = model.estimate(Setpoints(sp["temperature_c"], sp["flows_ul_min"], sp["residence_time_s"]))
        assert expected["seconds"] == pytest.approx(used.reactor_s, rel=TOLERANCE), record.index
        measured_ul = sum(v for pump, v in used.reagents_ul.items() if "solvent" not in pump)
        assert expected["precursor_ul"] == pytest.approx(measured_ul, rel=TOLERANCE), record.index
        assert expected["heater_s"] == pytest.approx(record.heater["s"], rel=TOLERANCE, abs=10.0)


def test_each_decision_records_the_cost_models_inputs(cost_campaign):
    _, docs, records = cost_campaign
    assert sum(1 for name, doc in docs if name == "descriptor" and doc["name"] == HEATER_STREAM) == 6
    previous = None
    for record in records:
        cost = record.decision["cost"]
        assert cost["exponent"] == pytest.approx(1.0 - record.index / 6)
        if previous is not None:  # from where the previous experiment left the rig
            assert cost["from_temperature_c"] == previous.setpoints["temperature_c"]
            assert cost["from_flows_ul_min"] == previous.setpoints["flows_ul_min"]
        assert sum(cost["heater_settles"]) == sum(
            1 for r in records[: record.index] if abs(r.heater["to_c"] - r.heater["from_c"]) > 2.0
        )
        previous = record
    initial = [r for r in records if r.decision["acquisition"].startswith("sobol-initial")]
    # with a cost, the Sobol start is the cheap start: the cheapest of a larger pool
    assert [r.decision["acquisition"] for r in initial] == ["sobol-initial-cheap"] * 4
    assert len(records) - len(initial) == 2
    assert all(r.decision["expected_cost"] > 0 for r in records)


def test_replay_rederives_a_cost_aware_campaign(cost_campaign, capsys):
    out, _, _ = cost_campaign
    capsys.readouterr()
    assert main(["replay", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["divergences"] == [] and len(result["experiments"]) == 6


def test_replay_diverges_when_the_logged_cost_is_not_the_one_decided_with(cost_campaign, tmp_path, capsys):
    """The recorded inputs are what the decision used: change one and the re-derived proposal differs."""
    out, _, _ = cost_campaign
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    lines = (copy / LOG_NAME).read_text().splitlines()
    edited = []
    for line in lines:
        entry = json.loads(line)
        doc = entry.get("doc", {})
        if entry.get("name") == "start" and doc.get("experiment_index") == 5:
            doc["decision"]["cost"]["from_temperature_c"] += 60.0
            doc["decision"]["cost"]["exponent"] = 1.0
        edited.append(json.dumps(entry))
    (copy / LOG_NAME).write_text("\n".join(edited) + "\n")
    from lab.tools.replay import replay

    assert [d["index"] for d in replay(copy)["divergences"]] == [5]


def test_a_campaign_without_cost_aware_records_no_cost(small_campaign):
    docs = list(read_documents(small_campaign / LOG_NAME))
    assert not any(name == "descriptor" and doc["name"] == HEATER_STREAM for name, doc in docs)
    starts = [doc for name, doc in docs if name == "start" and "experiment_index" in doc]
    assert starts and not any("cost" in doc["decision"] for doc in starts)
