"""The time-aware loop on the simulated rig: overlapped proposals that weigh their cost
(``[protocol] overlap = true`` with ``cost_aware = true``). Each proposal is made while the previous
experiment runs, so its cost is reckoned from that experiment's set points, and replay re-derives every
decision from the log."""

from __future__ import annotations

import json

import pytest

from lab.cli import main
from lab.store.records import experiments_from_documents
from lab.store.storage import LOG_NAME, read_documents

from tests.lab.conftest import EXAMPLE

BUDGET = 6


@pytest.fixture(scope="module")
def time_aware(tmp_path_factory):
    extra = "\noverlap = true\ncost_aware = true"
    text = EXAMPLE.read_text().replace('poll_interval = "5 s"', 'poll_interval = "5 s"' + extra)
    assert extra in text
    base = tmp_path_factory.mktemp("time-aware")
    path = base / "cdse-time.toml"
    path.write_text(text)
    out = base / "run"
    assert main(["run", str(path), "--sim", "--out", str(out), "--budget", str(BUDGET), "--seed", "2"]) == 0
    return out, experiments_from_documents(list(read_documents(out / LOG_NAME)))


def test_overlapped_proposals_reckon_their_cost_from_the_running_experiment(time_aware):
    _, records = time_aware
    assert len(records) == BUDGET
    for previous, record in zip(records, records[1:]):
        assert record.proposed_with == {"observed": previous.index, "pending": [previous.index]}
        cost = record.decision["cost"]
        assert cost["from_temperature_c"] == previous.setpoints["temperature_c"]
        assert cost["from_flows_ul_min"] == previous.setpoints["flows_ul_min"]
        assert cost["exponent"] == pytest.approx(1.0 - previous.index / BUDGET)  # completed when proposed


def test_replay_rederives_the_time_aware_loop(time_aware, capsys):
    out, _ = time_aware
    capsys.readouterr()
    assert main(["replay", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["divergences"] == [] and len(result["experiments"]) == BUDGET
