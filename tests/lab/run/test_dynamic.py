"""Dynamic-flow campaigns end to end on the simulated rig (docs/adr/0016-dynamic-flow.md): trajectories
are runs whose spectra are events, each sample's assigned conditions reproduce the simulator's truth
within the noise, a confirmation is a steady-state experiment, replay re-derives every step and
assignment, and a trajectory cut by SIGKILL is re-run on resume, not half-counted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from lab.store.records import completed, experiments_from_documents
from lab.store.storage import LOG_NAME, read_documents

ROOT = Path(__file__).resolve().parents[3]
BUDGET = 3


def write_dynamic_campaign(path: Path) -> Path:
    """cdse-green searched by Sobol over short residence times (quick trajectories), dynamic."""
    text = (ROOT / "campaigns/examples/cdse-green.toml").read_text()
    text = text.replace('strategy = "botorch"', 'strategy = "sobol"')
    text = text.replace('high = "10 min"', 'high = "90 s"')
    text = text.replace(
        'poll_interval = "5 s"', 'poll_interval = "5 s"\nmode = "dynamic"\nsample_interval = "20 s"'
    )
    path.write_text(text)
    return path


def qdlab(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "lab.cli", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    return write_dynamic_campaign(tmp_path_factory.mktemp("dynamic") / "cdse-dynamic.toml")


@pytest.fixture(scope="module")
def finished(campaign, tmp_path_factory):
    from tests.lab.conftest import run_sim

    out = tmp_path_factory.mktemp("dynamic-run") / "run"
    assert run_sim(campaign, out, BUDGET) == 0
    docs = list(read_documents(out / LOG_NAME))
    return out, docs, experiments_from_documents(docs)


def test_a_trajectory_is_one_run_and_each_spectrum_one_event(finished):
    _, docs, records = finished
    assert len(records) == BUDGET and all(r.completed for r in records)
    first = records[0]
    assert first.trajectory is not None  # a dynamic campaign starts with its initial design's path
    streams = {}
    for name, doc in docs:
        if name == "descriptor" and doc["run_start"] == first.uid:
            streams[doc["uid"]] = doc["name"]
    counts = {}
    for name, doc in docs:
        if name == "event" and doc["descriptor"] in streams:
            counts[streams[doc["descriptor"]]] = counts.get(streams[doc["descriptor"]], 0) + 1
    assert counts["primary"] == counts["inlet"] == counts["sample"] == len(first.samples) > 10
    assert counts["outcomes"] == 1
    assert len(first.observation_rows()) > 3  # thinned, but data


def test_kept_samples_reproduce_the_simulated_truth_at_their_assigned_conditions(finished):
    from lab.bench.campaign import _true_outcomes
    from lab.config.lab_toml import LabConfig
    from lab.run.dynamic import Planner
    from lab.store.sources import open_directory

    out, _, records = finished
    data = open_directory(out)
    planner = Planner(data.spec, LabConfig.model_validate(data.lab))
    rows = [row for r in records if r.trajectory is not None for row in r.observation_rows()]
    assert len(rows) >= 8
    names = [p["name"] for p in planner.parameters]
    truth = _true_outcomes(
        "CdSe", planner.lab, [planner.setpoints({n: row[n] for n in names}).as_dict() for row in rows]
    )
    off = [
        (round(row["pl_peak_nm"] - t["pl_peak_nm"], 2), round(row["pl_fwhm_nm"] - t["pl_fwhm_nm"], 2))
        for row, t in zip(rows, truth)
        if row.get("pl_peak_nm") is not None and t.get("pl_peak_nm") is not None
    ]
    assert len(off) >= 8
    # the noise of one spectrum and the precursor lot's offset: the steady-state plan's own tolerance
    # (tests/campaigns/test_steady_state.py) plus the mixture's spread
    assert all(abs(dp) < 2.5 and abs(dw) < 2.0 for dp, dw in off), off


def test_replay_rederives_every_step_and_assignment(finished):
    from lab.tools.replay import replay

    out, _, records = finished
    result = replay(out)
    assert result["divergences"] == []
    assert [e["run"] for e in result["experiments"]] == [
        "trajectory" if r.trajectory is not None else "confirmation" for r in records
    ]


def test_a_changed_sample_assignment_is_a_divergence(finished, tmp_path):
    from lab.tools.replay import replay
    from tests.lab.conftest import tampered_copy

    out, _, _ = finished

    def warmer_sample(entry):
        data = entry["doc"].get("data", {})
        if entry["name"] != "event" or not isinstance(data.get("sample_at_temperature"), float):
            return False
        data["sample_at_temperature"] += 1.0
        return True

    divergences = replay(tampered_copy(out, tmp_path / "run", warmer_sample))["divergences"]
    assert any("re-derives to other conditions" in d.get("reason", "") for d in divergences), divergences


def test_a_run_cut_by_sigkill_is_rerun_on_resume_not_half_counted(campaign, tmp_path):
    out = tmp_path / "run"
    proc = qdlab("run", campaign, "--sim", "--out", out, "--budget", BUDGET)
    log = out / LOG_NAME
    deadline = time.monotonic() + 120
    # kill once the second run (a trajectory or a confirmation) has started and logged some events
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and '"experiment_index":1' in log.read_text():
            time.sleep(0.3)
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the campaign ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    before = completed(experiments_from_documents(read_documents(log)))
    assert [r.index for r in before] == [0]
    resumed = qdlab("resume", out)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()
    runs = experiments_from_documents(read_documents(log))
    done = completed(runs)
    assert [r.index for r in done] == list(range(BUDGET))  # each index completed once
    assert done[0].uid == before[0].uid  # the completed trajectory was kept, not re-run
    cut = [r for r in runs if not r.completed]
    assert [r.index for r in cut] == [1]  # the run cut short stays in the log, unfinished, not learnt from
    assert all(r.samples for r in done if r.trajectory is not None)


def test_the_bench_counts_only_a_confirmation_as_on_target_and_scores_the_samples(campaign):
    import json

    import lab.bench.campaign as bench
    from lab.cli.app import sim_lab_path
    from lab.config.files import campaign_to_data, lab_to_data, load_campaign, load_lab

    spec = load_campaign(campaign)
    spec_data = json.loads(json.dumps(campaign_to_data(spec)))
    lab_data = json.loads(json.dumps(lab_to_data(load_lab(sim_lab_path(spec.material)))))
    result = bench.bench_task(spec_data, lab_data, "sobol", 0, BUDGET, loop="dynamic")
    assert result["loop"] == "dynamic" and result["n_experiments"] == BUDGET
    first = result["experiments_to_target"]
    if first is not None:  # a confirmation reached it: the best-true trace has a value there
        assert result["best_true_trace"][first - 1] is not None
    errors = result["sample_error"]
    assert errors["pl_peak_nm"]["median"] < 1.5 and errors["pl_peak_nm"]["p95"] < 3.0


def test_a_dynamic_campaign_refuses_overlap_in_one_line(campaign, tmp_path, capsys):
    from tests.lab.conftest import run_sim

    path = tmp_path / "c.toml"
    path.write_text(campaign.read_text().replace('mode = "dynamic"', 'mode = "dynamic"\noverlap = true'))
    assert run_sim(path, tmp_path / "out", 2) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "overlap applies to steady-state campaigns" in err[0], err
    assert "protocol.mode" in err[0]
    assert not (tmp_path / "out").exists()


def test_the_reports_steady_state_map_is_fitted_to_the_learnt_rows_and_hotter_is_redder(finished):
    from lab.store.sources import open_campaign
    from lab.view.report import MAP_POINTS, _axes, _steady_state_maps

    out, _, records = finished
    axes = _axes(open_campaign(out))
    assert [a.name for a in axes][:2] == ["temperature", "residence_time"]
    maps = _steady_state_maps(records, axes, "pl_peak_nm", None)
    assert list(maps) == [(axes[k].name, axes[k + 1].name) for k in range(len(axes) - 1)]
    for m in maps.values():
        assert m["mean"].shape == (MAP_POINTS, MAP_POINTS) and np.isfinite(m["mean"]).all()
    # the map is a model of the learnt rows: on the temperature x residence-time slice through the middle
    # of the box, the hot edge emits redder than the cold one across the shorter half of the residence
    # times, where this campaign's trajectories ran (REFERENCE.md section 1: hotter gives larger dots)
    mean = maps["temperature", "residence_time"]["mean"]  # rows along residence time
    assert (mean[: MAP_POINTS // 2, -1] > mean[: MAP_POINTS // 2, 0] + 10.0).all()
    rows = [row for r in records for row in r.observation_rows() if isinstance(row.get("pl_peak_nm"), float)]
    assert mean.min() >= min(row["pl_peak_nm"] for row in rows) - 30.0
    assert mean.max() <= max(row["pl_peak_nm"] for row in rows) + 30.0
    steady_only = [r for r in records if r.trajectory is None]
    assert _steady_state_maps(steady_only, axes, "pl_peak_nm", None) == {}  # no trajectory, no map


def test_the_report_draws_the_trajectories_and_exports_every_run(finished, tmp_path):
    import csv
    import shutil

    from lab.cli import main

    out, _, records = finished
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    assert main(["report", str(copy)]) == 0
    assert (copy / "plots" / "trajectories.png").stat().st_size > 0
    with (copy / "experiments.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["run"] for r in rows] == [
        "trajectory" if r.trajectory is not None else "confirmation" for r in records
    ]


def test_a_cost_aware_dynamic_campaign_logs_each_trajectorys_cost_and_replays_by_it(campaign, tmp_path):
    """``cost_aware = true`` with ``mode = "dynamic"``: every trajectory's proposal is given the
    steady-state cost model (its decision logs the cost's inputs), and replay re-derives each trajectory
    from the logged cost: a tampered one is a divergence."""

    from lab.tools.replay import replay
    from tests.lab.conftest import run_sim, tampered_copy

    path = tmp_path / "c.toml"
    text = campaign.read_text().replace('strategy = "sobol"', 'strategy = "botorch"')
    path.write_text(text.replace('mode = "dynamic"', 'mode = "dynamic"\ncost_aware = true'))
    out = tmp_path / "run"
    assert run_sim(path, out, 2) == 0
    records = experiments_from_documents(read_documents(out / LOG_NAME))
    trajectories = [r for r in records if r.trajectory is not None]
    assert trajectories and all("cost" in r.decision for r in trajectories)
    assert replay(out)["divergences"] == []

    def precursor_priced_cost(entry):
        cost = entry["doc"].get("decision", {}).get("cost") if entry["name"] == "start" else None
        if cost is None:
            return False
        cost["precursor_hours_per_ml"] = 1e6  # ranked by precursor alone, not by the rig's time
        return True

    assert replay(tampered_copy(out, tmp_path / "tampered", precursor_priced_cost))["divergences"]
