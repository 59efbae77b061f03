"""``qdlab replay`` of an overlapped BoTorch campaign (``[protocol] overlap = true``), resumed once: every
proposal is re-derived bit-exactly from the log, each as its start document says it was made
(``proposed_with``: the rows observed, the experiment pending); read as serial proposals, they diverge."""

import json

import pytest

from lab.cli import main
from lab.config.files import EXAMPLES, load_campaign, load_lab
from lab.run.session import CampaignSession, open_for_resume
from lab.store.sources import open_directory
from lab.store.storage import LOG_NAME, read_documents
from lab.tools.replay import replay, replay_data

ENGINE = {"context_managers": []}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """BoTorch from the third experiment on, 5 experiments overlapped, then resumed to 6."""
    spec = load_campaign(EXAMPLES["campaigns"] / "cdse-green.toml")
    spec = spec.model_copy(
        update={
            "budget": 5,
            "seed": 3,
            "strategy_options": {"n_initial": 2},
            "protocol": spec.protocol.model_copy(update={"overlap": True}),
        }
    )
    out = tmp_path_factory.mktemp("overlap") / "cdse"
    lab = load_lab(EXAMPLES["lab"] / "sim-cdse.toml")
    CampaignSession(spec, lab, out, campaign_source="c", lab_source="l", run_engine_kwargs=ENGINE).run()
    open_for_resume(out, budget=6, run_engine_kwargs=ENGINE).run()
    return out


def test_replay_rederives_every_overlapped_proposal_bit_exactly(campaign, capsys):
    starts = [d for n, d in read_documents(campaign / LOG_NAME) if n == "start" and "experiment_index" in d]
    assert [d["proposed_with"] for d in starts] == [
        {"observed": 0, "pending": []},
        *({"observed": i, "pending": [i]} for i in range(4)),  # made while experiment i ran
        {"observed": 5, "pending": []},  # the resumed session's first: serial
    ]
    assert sum(d["decision"]["acquisition"] != "sobol-initial" for d in starts) >= 3
    assert main(["replay", str(campaign), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["divergences"] == [] and [e["index"] for e in result["experiments"]] == list(range(6))


def test_read_as_serial_proposals_the_model_based_ones_diverge(campaign):
    data = open_directory(campaign)
    for record in data.runs:
        record.proposed_with = None
    diverged = {d["index"] for d in replay_data(data)["divergences"]}
    model_based = {
        r.index for r in data.runs if r.decision.get("acquisition") != "sobol-initial" and r.index < 5
    }
    assert model_based and diverged >= model_based
    assert replay(campaign)["divergences"] == []


def test_a_log_that_claims_more_observations_than_precede_it_is_a_divergence(campaign):
    data = open_directory(campaign)
    data.runs[2].proposed_with = {"observed": 7, "pending": [1]}
    data.runs[3].proposed_with = {"observed": 1, "pending": [9]}
    reasons = {d["index"]: d.get("reason", "") for d in replay_data(data)["divergences"]}
    assert "7 experiments observed" in reasons[2] and "pending" in reasons[3]
