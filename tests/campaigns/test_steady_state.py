"""``[protocol] steady_state = "detect"``: the agreement test on synthetic probe sequences, and the plan on
the simulated rig (it stops early on a settled outlet, keeps waiting through a transient, never waits past
the fixed wait, and records its decision and the spectra it used)."""

from __future__ import annotations

import math
import random

import pytest

from campaigns.steady_state import INDIFFERENT, WINDOW, noise_sd, settled
from campaigns.streams import SETTLE_STREAM


def _pairs(values, sd, seed=0):
    """Probe pairs of a PL peak following ``values`` with reading noise ``sd`` (FWHM and PLQY constant)."""
    rng = random.Random(seed)
    out = []
    for v in values:
        pair = tuple(
            {"pl_peak_nm": v + rng.gauss(0.0, sd), "pl_fwhm_nm": 30.0, "plqy": 0.5} for _ in range(2)
        )
        out.append(pair)
    return out


def test_the_noise_is_the_pooled_scatter_of_back_to_back_readings():
    pairs = _pairs([520.0] * 400, sd=0.8, seed=1)
    assert noise_sd(pairs, "pl_peak_nm") == pytest.approx(0.8, rel=0.1)
    assert noise_sd(pairs, "pl_fwhm_nm") == 0.0
    assert noise_sd([({"plqy": None}, {"plqy": 0.1})], "plqy") == 0.0


def test_a_settled_noisy_outlet_agrees_once_the_window_is_full():
    pairs = _pairs([520.0] * 6, sd=0.5, seed=2)
    assert not settled(pairs[: WINDOW - 1])
    assert settled(pairs[:WINDOW]) and settled(pairs)


def test_a_drift_of_several_noise_sd_per_probe_is_refused():
    pairs = _pairs([520.0 + 2.0 * k for k in range(8)], sd=0.3, seed=3)
    assert not any(settled(pairs[: k + 1]) for k in range(len(pairs)))


def test_a_slow_tail_that_looks_flat_between_neighbours_is_refused_across_the_window():
    # an exponential approach whose step between neighbours is within the tolerance but whose change
    # across the window is not: adjacent agreement alone would stop on this transient
    tail = [560.0 - 40.0 * math.exp(-0.1 * k) for k in range(80)]
    pairs = _pairs(tail, sd=0.0)
    tolerance = INDIFFERENT["pl_peak_nm"]
    flat = next(k for k in range(1, 80) if abs(tail[k] - tail[k - 1]) < tolerance)  # neighbours agree
    first = next(k for k in range(WINDOW - 1, 80) if settled(pairs[: k + 1]))
    assert first > flat  # refused where a test on neighbours alone would have stopped
    assert not any(settled(pairs[: k + 1]) for k in range(flat, first))
    assert abs(tail[flat] - 560.0) > 2.0 > abs(tail[first] - 560.0)  # 2 nm off there; close when it stops


def test_a_signal_appearing_is_a_change_and_no_signal_at_all_is_not_watched():
    dark = {"pl_peak_nm": None, "pl_fwhm_nm": None, "plqy": None}
    lit = {"pl_peak_nm": 520.0, "pl_fwhm_nm": 30.0, "plqy": 0.5}
    assert settled([(dark, dark)] * WINDOW)
    assert not settled([(dark, dark)] * (WINDOW - 1) + [(lit, lit)])


# -- the plan on the simulated rig -------------------------------------------------------------------
@pytest.fixture(scope="module")
def detected(tmp_path_factory):
    from lab.bench.campaign import _true_outcomes
    from lab.config.lab_toml import LabConfig
    from lab.store.records import experiments_from_documents
    from lab.store.storage import LOG_NAME, read_documents
    from tests.lab.conftest import run_sim, write_fast_campaign

    import tomllib

    base = tmp_path_factory.mktemp("detect")
    campaign = write_fast_campaign(
        base / "c.toml", 'poll_interval = "5 s"', 'poll_interval = "5 s"\nsteady_state = "detect"'
    )
    out = base / "run"
    assert run_sim(campaign, out, 4) == 0
    docs = list(read_documents(out / LOG_NAME))
    records = experiments_from_documents(docs)
    lab = LabConfig.model_validate(tomllib.loads((out / "lab.toml").read_text()))
    truth = _true_outcomes("CdSe", lab, [r.setpoints for r in records])
    return docs, records, truth, lab


def test_detect_stops_before_the_fixed_wait_on_a_settled_outlet_and_measures_the_truth(detected):
    _, records, truth, lab = detected
    assert len(records) == 4
    for record, true in zip(records, truth):
        sp = record.setpoints
        total = sum(sp["flows_ul_min"].values())
        dead = lab.reactor.transfer_volume / total * 60.0
        fixed = dead + 3.0 * sp["residence_time_s"]
        decision = record.steady_state
        assert decision["reason"] == "agreed", record.index
        assert dead + sp["residence_time_s"] < decision["waited_s"] < fixed, record.index
        assert decision["probes"] >= WINDOW
        assert record.outcomes["pl_peak_nm"] == pytest.approx(true["pl_peak_nm"], abs=1.5)
        assert record.outcomes["pl_fwhm_nm"] == pytest.approx(true["pl_fwhm_nm"], abs=1.5)


def test_a_flow_step_measured_too_early_is_refused(detected):
    """At the minimum wait the outlet of some experiment still holds the previous one's dots: its first
    probe is far from the steady state, and the plan kept probing until the probes agreed near it."""
    docs, records, truth, _ = detected
    first_probe = _first_probe_peaks(docs)
    far = [
        r.index
        for r, true in zip(records, truth)
        if abs(first_probe[r.uid] - true["pl_peak_nm"]) > 3.0 and r.steady_state["probes"] > WINDOW
    ]
    assert far, {r.index: (first_probe[r.uid], t["pl_peak_nm"]) for r, t in zip(records, truth)}


def _first_probe_peaks(docs):
    """Each run's PL peak (nm, the brightest pixel) of its first ``settle`` spectrum, as the log holds it
    (the wavelengths are the spectrometer's configuration in the stream's descriptor)."""
    import numpy as np

    streams, first = {}, {}
    for name, doc in docs:
        if name == "descriptor" and doc.get("name") == SETTLE_STREAM:
            config = doc["configuration"]["spectrometer"]["data"]
            streams[doc["uid"]] = (doc["run_start"], np.asarray(config["spectrometer_pl_wavelengths"]))
        elif name == "event" and doc.get("descriptor") in streams:
            run, wl = streams[doc["descriptor"]]
            if run not in first:
                first[run] = float(wl[int(np.argmax(np.asarray(doc["data"]["spectrometer_pl"])))])
    return first


def test_the_fixed_wait_records_no_decision_and_no_probes(tmp_path):
    from lab.store.records import experiments_from_documents
    from lab.store.storage import LOG_NAME, read_documents
    from tests.lab.conftest import run_sim, write_fast_campaign

    out = tmp_path / "run"
    assert run_sim(write_fast_campaign(tmp_path / "c.toml"), out, 2) == 0
    docs = list(read_documents(out / LOG_NAME))
    assert not any(name == "descriptor" and doc["name"] == SETTLE_STREAM for name, doc in docs)
    assert all(r.steady_state == {} for r in experiments_from_documents(docs))


def test_probes_that_never_agree_wait_exactly_the_fixed_wait(tmp_path, monkeypatch):
    import campaigns.steady_state as steady_state
    from lab.store.records import experiments_from_documents
    from lab.store.storage import LOG_NAME, read_documents
    from tests.lab.conftest import run_sim, write_fast_campaign

    monkeypatch.setattr(steady_state, "settled", lambda pairs: False)
    campaign = write_fast_campaign(
        tmp_path / "c.toml", 'poll_interval = "5 s"', 'poll_interval = "5 s"\nsteady_state = "detect"'
    )
    out = tmp_path / "run"
    assert run_sim(campaign, out, 2) == 0
    import tomllib

    transfer_ul = float(
        tomllib.loads((out / "lab.toml").read_text())["reactor"]["transfer_volume"].split()[0]
    )
    for record in experiments_from_documents(list(read_documents(out / LOG_NAME))):
        sp = record.setpoints
        bound = transfer_ul / sum(sp["flows_ul_min"].values()) * 60.0 + 3.0 * sp["residence_time_s"]
        assert record.steady_state["reason"] == "bound"
        assert record.steady_state["waited_s"] == pytest.approx(bound, abs=1.0)
