"""``[protocol] overlap = true`` in a simulated session: the next proposal is computed while the current
experiment waits and measures (its parameters pending), none beyond the budget; each start document says
how its proposal was made; a stop during a background proposal does not wait for it, and the campaign
resumes (docs/adr/0015-time-aware-loop.md)."""

import os
import signal
import threading
from pathlib import Path

import pytest

import lab.run.session as session_module
from lab.config.files import EXAMPLES, load_campaign, load_lab
from lab.run.session import CampaignSession, open_for_resume
from lab.store.records import completed, experiments_from_documents
from lab.store.storage import LOG_NAME, read_documents
from lab.tools.replay import replay
from models.errors import Interrupted

ROOT = Path(__file__).resolve().parents[3]
ENGINE = {"context_managers": []}


def overlapped(budget: int, *, strategy: str = "sobol", seed: int = 1, options: dict | None = None):
    spec = load_campaign(ROOT / "campaigns/examples/cdse-green.toml")
    return spec.model_copy(
        update={
            "strategy": strategy,
            "seed": seed,
            "budget": budget,
            "strategy_options": options or {},
            "protocol": spec.protocol.model_copy(update={"overlap": True}),
        }
    )


def session(spec, directory: Path, **kwargs) -> CampaignSession:
    return CampaignSession(
        spec,
        load_lab(EXAMPLES["lab"] / "sim-cdse.toml"),
        directory,
        campaign_source="cdse-green",
        lab_source="sim-cdse",
        run_engine_kwargs=ENGINE,
        **kwargs,
    )


def starts(directory: Path) -> list[dict]:
    return [d for n, d in read_documents(directory / LOG_NAME) if n == "start" and "experiment_index" in d]


def spy_on_suggest(monkeypatch, before=None) -> list[tuple]:
    """Every optimiser's suggest calls as (rows ingested, pending); ``before(pending)`` runs first."""
    calls: list[tuple] = []
    make = session_module.optimizer_for

    def spying(spec):
        optimizer = make(spec)
        suggest = optimizer.suggest

        def spied(n=1, pending=None):
            calls.append((len(optimizer), pending))
            if before is not None:
                before(pending)
            return suggest(n, pending=pending)

        optimizer.suggest = spied
        return optimizer

    monkeypatch.setattr(session_module, "optimizer_for", spying)
    return calls


def test_overlapped_sobol_proposes_what_the_serial_loop_does_and_nothing_beyond_the_budget(
    small_campaign, tmp_path, monkeypatch
):
    calls = spy_on_suggest(monkeypatch)
    out = tmp_path / "overlapped"
    records = session(overlapped(4), out).run().records
    serial = completed(experiments_from_documents(read_documents(small_campaign / LOG_NAME)))
    # the running experiment is pending: Sobol continues its sequence past it, as the serial loop does
    assert [r.parameters for r in records] == [r.parameters for r in serial]
    assert [(n, None if p is None else len(p)) for n, p in calls] == [(0, None), (0, 1), (1, 1), (2, 1)]
    assert [p[0] for _, p in calls[1:]] == [r.parameters for r in records[:3]]
    docs = starts(out)
    assert [d["proposed_with"] for d in docs] == [
        {"observed": 0, "pending": []},
        {"observed": 0, "pending": [0]},
        {"observed": 1, "pending": [1]},
        {"observed": 2, "pending": [2]},
    ]
    assert all(d["rig_waited_s"] >= 0 and d["proposal_latency_s"] > 0 for d in docs)
    assert docs[0]["rig_waited_s"] == docs[0]["proposal_latency_s"]  # the first is made while the rig waits
    assert not any("proposed_with" in d or "rig_waited_s" in d for d in starts(small_campaign))
    assert replay(out)["divergences"] == []


def test_the_next_proposal_is_under_way_before_the_running_experiment_is_measured(tmp_path, monkeypatch):
    """The measurement of experiment i is held until the proposal with i pending has begun: a serial
    loop would never begin it, and the hold would time out."""
    begun = {i: threading.Event() for i in range(3)}
    held: list[tuple[int, bool]] = []
    index_of: dict[str, int] = {}
    spec = overlapped(3)

    def before(pending):
        if pending:
            begun[next(i for i, d in enumerate(conditions) if d == pending[0])].set()

    conditions: list[dict] = []

    def subscriber(name, doc):
        if name == "start" and "experiment_index" in doc:
            index_of[doc["uid"]] = doc["experiment_index"]
            conditions.append(doc["conditions"])
        elif name == "descriptor" and doc.get("name") == "primary" and doc["run_start"] in index_of:
            i = index_of[doc["run_start"]]
            if i < spec.budget - 1:  # the last has no next proposal
                held.append((i, begun[i].wait(timeout=60)))

    spy_on_suggest(monkeypatch, before)
    session(spec, tmp_path / "held", subscribers=[subscriber]).run()
    assert held == [(0, True), (1, True)]


def test_a_stop_during_a_background_proposal_does_not_wait_for_it_and_the_campaign_resumes(
    tmp_path, monkeypatch
):
    release = threading.Event()
    blocked: list[threading.Thread] = []

    def before(pending):
        if pending and not blocked:  # the proposal with experiment 0 pending: stop, and never finish
            blocked.append(threading.current_thread())
            os.kill(os.getpid(), signal.SIGINT)
            release.wait(timeout=120)

    spy_on_suggest(monkeypatch, before)
    out = tmp_path / "stopped"
    try:
        with pytest.raises(Interrupted, match="stopped by SIGINT"):
            session(overlapped(3), out).run()
        assert blocked and blocked[0].is_alive() and not release.is_set()  # stopped without it
    finally:
        release.set()
    blocked[0].join(timeout=60)
    stops = [d.get("exit_status") for n, d in read_documents(out / LOG_NAME) if n == "stop"]
    assert stops in (["abort"], ["success"])  # experiment 0 aborted, or stopped before experiment 1
    done = stops.count("success")
    resumed = open_for_resume(out, run_engine_kwargs=ENGINE).run()
    assert [r.index for r in resumed.records] == [0, 1, 2]
    first_resumed = starts(out)[1]
    assert first_resumed["experiment_index"] == done
    assert first_resumed["proposed_with"] == {"observed": done, "pending": []}  # after a resume: serial
    assert replay(out)["divergences"] == []
