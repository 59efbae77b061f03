"""One record path: the RecordBuilder the live loop subscribes is the builder resume and replay feed the log.

A record built from the documents as the RunEngine emits them equals the record built from the same
documents read back from ``documents.jsonl``; the rows the live loop ingests are the rows resume and
replay rebuild from the file.
"""

from pathlib import Path

import numpy as np
import pytest
from bluesky import RunEngine
from bluesky import plan_stubs as bps
from ophyd import Component as Cpt
from ophyd import Device

import lab.run.session as session_module
from campaigns.outcomes import outcomes_device
from devices.signals import SoftValue
from lab.config.files import load_campaign, load_lab
from lab.store.records import RecordBuilder, experiments_from_documents, in_log_order
from lab.run.session import CampaignSession, open_for_resume
from lab.store.storage import LOG_NAME, DocumentLog, read_documents

ROOT = Path(__file__).resolve().parents[3]


class _Probe(Device):
    """A primary reading: a spectrum (a numpy array) and a clock."""

    spectrum = Cpt(SoftValue, dtype="array")
    timer_time = Cpt(SoftValue)


def _experiments(probe, outcomes):
    """Three experiment runs as the session writes them: a failure, and a None quality, written as ''
    (campaigns.plans), a spectrum as a numpy array (with a NaN in the clogged run's), numpy numbers in
    the start document; the last run closed as aborted."""
    for index, (plqy, failure) in enumerate([(0.5, ""), (None, "clog"), (0.25, "")]):
        md = {
            "plan_name": "experiment",
            "experiment_index": index,
            "conditions": {"temperature": np.float64(250.0 + index)},
            "setpoints": {"temperature_c": 250.0 + index, "flows_ul_min": {"cd": np.float32(1.5)}},
            "decision": {"strategy": "sobol", "sequence_index": index},
            "proposal_latency_s": 0.001 * (index + 1),
        }
        yield from bps.open_run(md)
        spectrum = np.linspace(0.0, 1.0, 7) * (index + 1)
        if failure:
            spectrum[3] = np.nan
        probe.spectrum.put(spectrum)
        probe.timer_time.put(np.float64(10.0 * index))
        yield from bps.trigger_and_read([probe], name="primary")
        objective = None if plqy is None else -plqy
        yield from bps.mv(
            outcomes.plqy,
            plqy,
            outcomes.failure,
            failure,
            outcomes.quality,
            "",
            outcomes.objective,
            objective,
        )
        yield from bps.trigger_and_read([outcomes], name="outcomes")
        yield from bps.close_run(*(("abort", "stopped") if index == 2 else ()))


def test_records_built_live_equal_those_built_from_the_file(tmp_path):
    run_engine = RunEngine({}, context_managers=[])
    live = RecordBuilder()
    unconverted = RecordBuilder(as_logged=False)
    with DocumentLog(tmp_path) as log:
        run_engine.subscribe(log)
        run_engine.subscribe(live)
        run_engine.subscribe(unconverted)
        probe, outcomes = _Probe(name="probe"), outcomes_device()
        run_engine(_experiments(probe, outcomes))
    docs = list(read_documents(tmp_path / LOG_NAME))
    from_file = experiments_from_documents(docs)

    assert [r.index for r in from_file] == [0, 1, 2]
    assert live.records == from_file
    assert RecordBuilder().feed(docs).records == from_file  # the log's form is a fixed point
    assert live.last_stopped == from_file[-1] and from_file[-1].exit_status == "abort"
    first, clogged, _ = from_file
    assert first.completed and first.outcomes["failure"] is None and first.proposal_latency_s == 0.001
    assert first.primary["probe_spectrum"] == pytest.approx(list(np.linspace(0.0, 1.0, 7)))
    assert clogged.outcomes["plqy"] is None and clogged.outcomes["failure"] == "clog"
    assert clogged.primary["probe_spectrum"][3] is None  # NaN: null in the log, None in both records
    assert in_log_order(live.records) == in_log_order(from_file) == [first, clogged]
    # the documents as emitted are not the log's (NaN, numpy arrays): taken raw they make other records
    raw = unconverted.records[1].primary["probe_spectrum"]
    assert isinstance(raw, np.ndarray) and np.isnan(raw[3])


def _session(directory: Path, budget: int, **kwargs) -> CampaignSession:
    spec = load_campaign(ROOT / "campaigns/examples/cdse-green.toml").model_copy(
        update={"strategy": "sobol", "seed": 5, "budget": budget}
    )
    return CampaignSession(
        spec,
        load_lab(ROOT / "lab/examples/sim-cdse.toml"),
        directory,
        campaign_source="cdse-green",
        lab_source="sim-cdse",
        run_engine_kwargs={"context_managers": []},
        **kwargs,
    )


@pytest.fixture
def ingested(monkeypatch):
    """Every row any session's optimiser ingests, in order, and the records the builders made."""
    rows: list[dict] = []
    built: list[int] = []
    make = session_module.optimizer_for

    def spying_optimizer_for(spec):
        optimizer = make(spec)
        ingest = optimizer.ingest

        def spy(batch):
            rows.extend(dict(r) for r in batch)
            return ingest(batch)

        optimizer.ingest = spy
        return optimizer

    start = RecordBuilder._start

    def tracking_start(self, doc):
        start(self, doc)
        built.append(id(self._runs[doc["uid"]]))

    monkeypatch.setattr(session_module, "optimizer_for", spying_optimizer_for)
    monkeypatch.setattr(RecordBuilder, "_start", tracking_start)
    return rows, built


def test_the_live_loop_and_resume_learn_the_rows_the_file_rebuilds(tmp_path, ingested):
    rows, built = ingested
    directory = tmp_path / "c"
    live = RecordBuilder()
    first = _session(directory, 2, subscribers=[live]).run()

    from_file = experiments_from_documents(read_documents(directory / LOG_NAME))
    assert live.records == from_file  # a second subscriber sees what the session's builder saw
    assert first.records == in_log_order(from_file)
    assert all(id(r) in built for r in first.records)  # every live record is a builder's
    assert rows == [r.outcome_row() for r in in_log_order(from_file)]

    rows.clear()
    second = open_for_resume(directory, budget=3, run_engine_kwargs={"context_managers": []}).run(resume=True)
    from_file = in_log_order(experiments_from_documents(read_documents(directory / LOG_NAME)))
    assert [r.index for r in from_file] == [0, 1, 2]
    assert second.records == from_file
    # resume ingested the two from the file, then learnt the third live: all as the file has them
    assert rows == [r.outcome_row() for r in from_file]
