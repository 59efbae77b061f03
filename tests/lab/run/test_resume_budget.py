"""``qdlab resume DIR --budget N``: a campaign, finished or not, carried further; recorded in the log,
campaign.toml untouched, honoured by resume, replay and watch; a budget below what is done is refused."""

import json
import shutil

import pytest
from event_model import DocumentNames, schema_validators

from lab.cli import main
from lab.store.records import BUDGET_PLAN, budget_in_force, completed, experiments_from_documents
from lab.tools.replay import replay
from lab.store.storage import LOG_NAME, read_documents
from lab.view.watch import campaign_state
from lab.config.files import load_campaign


def _docs(directory):
    return list(read_documents(directory / LOG_NAME))


def _done(directory):
    return [r.index for r in completed(experiments_from_documents(_docs(directory)))]


@pytest.fixture(scope="module")
def extended(small_campaign, tmp_path_factory):
    """The finished 4-experiment campaign, extended to 6 by ``resume --budget 6``: (directory, file bytes)."""
    out = tmp_path_factory.mktemp("extended") / "cdse"
    shutil.copytree(small_campaign, out)
    before = {n: (out / n).read_bytes() for n in ("campaign.toml", "lab.toml")}
    assert main(["resume", str(out), "--budget", "6"]) == 0
    return out, before


def test_a_finished_campaign_is_extended_and_its_files_stay_as_they_began(extended):
    out, before = extended
    assert _done(out) == list(range(6))
    assert {n: (out / n).read_bytes() for n in before} == before
    assert load_campaign(out / "campaign.toml").budget == 4
    starts = [d for n, d in _docs(out) if n == "start"]
    assert len({d["campaign_digest"] for d in starts}) == 1 and len({d["lab_digest"] for d in starts}) == 1


def test_the_new_budget_is_one_valid_run_in_the_log(extended):
    out, _ = extended
    docs = _docs(out)
    for name, doc in docs:
        schema_validators[DocumentNames[name]].validate(doc)
    budget_runs = [d for n, d in docs if n == "start" and d.get("plan_name") == BUDGET_PLAN]
    assert len(budget_runs) == 1
    run = budget_runs[0]
    assert (run["budget"], run["previous_budget"], run["completed"]) == (6, 4, 4)
    position = [d.get("uid") for _, d in docs].index(run["uid"])
    later = [d["experiment_index"] for n, d in docs[position:] if n == "start" and "experiment_index" in d]
    earlier = [d["experiment_index"] for n, d in docs[:position] if n == "start" and "experiment_index" in d]
    assert earlier == [0, 1, 2, 3] and later == [4, 5]  # logged before the first extra experiment
    stops = [d for n, d in docs if n == "stop" and d["run_start"] == run["uid"]]
    assert [s["exit_status"] for s in stops] == ["success"]


def test_replay_report_and_watch_honour_the_budget_in_force(extended, capsys, tmp_path):
    from lab.view.report import write_report
    from lab.store.sources import open_directory

    out, _ = extended
    assert write_report(open_directory(out), tmp_path).summary["campaign"]["budget"] == 6
    result = replay(out)
    assert result["campaign"]["budget"] == 6
    assert result["divergences"] == [] and [e["index"] for e in result["experiments"]] == list(range(6))
    state = campaign_state(load_campaign(out / "campaign.toml"), _docs(out))
    assert (state.budget, state.done, state.complete) == (6, 6, True)
    assert main(["replay", str(out)]) == 0
    assert "budget 6" in capsys.readouterr().out


def test_a_plain_resume_keeps_the_extended_budget(extended, tmp_path):
    out = tmp_path / "again"
    shutil.copytree(extended[0], out)
    assert main(["resume", str(out), "--json"]) == 0
    assert _done(out) == list(range(6))  # nothing re-run, nothing dropped back to campaign.toml's 4
    assert sum(1 for n, d in _docs(out) if n == "start" and d.get("plan_name") == BUDGET_PLAN) == 1


def test_replay_without_the_budget_run_reports_the_extra_experiments(extended, tmp_path):
    out = tmp_path / "stripped"
    shutil.copytree(extended[0], out)
    docs = _docs(out)
    uid = next(d["uid"] for n, d in docs if n == "start" and d.get("plan_name") == BUDGET_PLAN)
    kept = [(n, d) for n, d in docs if d.get("uid") != uid and d.get("run_start") != uid]
    (out / LOG_NAME).write_text("".join(json.dumps({"name": n, "doc": d}) + "\n" for n, d in kept))
    result = replay(out)
    assert result["campaign"]["budget"] == 4
    assert [(d["index"], d["reason"]) for d in result["divergences"]] == [
        (4, "beyond the budget in force (4)"),
        (5, "beyond the budget in force (4)"),
    ]


@pytest.mark.parametrize(
    "budget, message",
    [
        ("3", "--budget: 3 is below the 4 experiments already completed; give --budget 4 or more"),
        ("20000", "--budget: budget: Input should be less than or equal to 10000"),
    ],
)
def test_a_budget_that_cannot_be_is_refused_in_one_line(small_campaign, tmp_path, capsys, budget, message):
    out = tmp_path / "c"
    shutil.copytree(small_campaign, out)
    log = (out / LOG_NAME).read_bytes()
    assert main(["resume", str(out), "--budget", budget]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"qdlab: {message}")
    assert (out / LOG_NAME).read_bytes() == log


def test_the_budget_in_force_unchanged_logs_nothing(small_campaign, tmp_path):
    out = tmp_path / "same"
    shutil.copytree(small_campaign, out)
    log = (out / LOG_NAME).read_bytes()
    assert main(["resume", str(out), "--budget", "4"]) == 0
    assert (out / LOG_NAME).read_bytes() == log


def _budget_run(uid, budget, status="success"):
    start = ("start", {"uid": uid, "plan_name": BUDGET_PLAN, "budget": budget})
    return [start] + ([("stop", {"run_start": uid, "exit_status": status})] if status else [])


def test_budget_in_force_is_the_last_completed_budget_run():
    assert budget_in_force([], 30) == 30
    assert budget_in_force(_budget_run("a", 40) + _budget_run("b", 35), 30) == 35
    assert budget_in_force(_budget_run("a", 40) + _budget_run("b", 50, status=None), 30) == 40  # cut short
    assert budget_in_force(_budget_run("a", 40, status="abort"), 30) == 30
    assert budget_in_force([("start", {"uid": "x", "plan_name": "experiment", "budget": 9})], 30) == 30
