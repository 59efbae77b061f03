"""Stop means stop: ONE SIGINT (or SIGTERM, SIGHUP) aborts the running experiment, makes the rig safe,
closes the run as 'abort', says how to resume and exits 130 (143, 129); and a suspension re-runs only
the current experiment from its last checkpoint (docs/adr/0007-stop-and-suspend.md)."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from bluesky import RunEngine
from bluesky.suspenders import SuspendBoolHigh
from ophyd import Signal

from campaigns.plans import calibrate, closed_loop
from lab.config.files import EXAMPLES, load_campaign, load_lab
from lab.store.records import completed, experiments_from_documents
from lab.run.rig_builder import build_rig
from lab.run.session import CampaignSession, SafeReport
from lab.run.stop_signals import StopRequested, StopSignals
from lab.store.storage import read_documents

ROOT = Path(__file__).resolve().parents[3]
PROBE = ROOT / "tests" / "lab" / "run" / "stop_probe.py"
BUDGET = 12
EXIT = {"SIGINT": 130, "SIGTERM": 143, "SIGHUP": 129}


def qdlab(*args, probe_state: Path | None = None):
    command = (
        [sys.executable, str(PROBE), str(probe_state)] if probe_state else [sys.executable, "-m", "lab.cli"]
    )
    return subprocess.Popen(
        [*command, *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def wait_for_first_start(proc, log: Path, timeout_s: float = 120.0) -> None:
    """Until the log holds the first experiment's start document (the campaign is mid-experiment)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if log.exists() and b'"start"' in log.read_bytes():
            return
        time.sleep(0.02)
    raise AssertionError(f"no experiment started (rc {proc.poll()}): {proc.stderr.read().decode()[-2000:]}")


def start_stop(log: Path) -> list[tuple[str, object]]:
    return [(n, d.get("exit_status")) for n, d in read_documents(log) if n in ("start", "stop")]


def assert_stopped(proc, name: str, out: Path) -> str:
    rc = proc.wait(timeout=120)
    err = proc.stderr.read().decode()
    assert rc == EXIT[name], err[-3000:]
    log = out / "documents.jsonl"
    runs = start_stop(log)
    assert runs[-1] == ("stop", "abort"), runs  # the experiment that was running is closed as aborted
    assert all(kind == "start" for kind, _ in runs[0::2]) and all(kind == "stop" for kind, _ in runs[1::2]), (
        runs
    )
    done = completed(experiments_from_documents(read_documents(log)))
    assert len(done) < BUDGET  # stopped mid-campaign, not run to its budget
    lines = [line for line in err.splitlines() if f"qdlab resume {out}" in line]
    assert len(lines) == 1, err[-3000:]
    assert lines[0].startswith(f"qdlab: campaign stopped by {name} after {len(done)} of {BUDGET} experiments")
    return lines[0]


@pytest.fixture(scope="module")
def campaign(fast_campaign_file):
    return fast_campaign_file


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_one_signal_stops_the_simulated_campaign_and_resume_continues(campaign, tmp_path, name):
    out = tmp_path / "run"
    proc = qdlab("run", campaign, "--sim", "--out", out, "--budget", BUDGET, "--seed", 3)
    wait_for_first_start(proc, out / "documents.jsonl")
    proc.send_signal(getattr(signal, name))  # exactly one
    line = assert_stopped(proc, name, out)
    assert (
        "pumps cd, se, solvent read back stopped, heater set point read back 25 degC (its safe set point)"
        in line
    )
    resumed = qdlab("resume", out)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read().decode()[-3000:]
    log = out / "documents.jsonl"
    done = completed(experiments_from_documents(read_documents(log)))
    assert [r.index for r in done] == list(range(BUDGET))  # the aborted experiment was run again, once
    assert sum(1 for kind, status in start_stop(log) if status == "abort") == 1


def test_one_sigint_interrupts_a_long_realtime_wait(campaign, tmp_path):
    """--realtime: the calibration flush waits minutes of wall time on the timer; one SIGINT ends it now."""
    spec, lab = load_campaign(campaign), load_lab(EXAMPLES["lab"] / "sim-cdse.toml")
    solvent = lab.pumps[lab.pump_for("solvent")]
    flush_flow = min(solvent.max_rate, max(solvent.min_rate, lab.reactor.volume / 2.0))
    flush_s = (
        max(1.0, spec.protocol.flush_residence_times)
        * (lab.reactor.volume + lab.reactor.transfer_volume)
        / flush_flow
        * 60.0
    )
    assert flush_s > 120.0  # longer than this test waits for the stop: run to completion, it would time out
    out = tmp_path / "run"
    proc = qdlab("run", campaign, "--sim", "--realtime", "--out", out, "--budget", 2)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not (out / "documents.jsonl").exists():
        time.sleep(0.02)
    time.sleep(1.0)  # inside the flush's wait
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=60)
    err = proc.stderr.read().decode()
    assert rc == 130, err[-3000:]
    assert "campaign stopped by SIGINT after 0 of 2 experiments" in err and f"qdlab resume {out}" in err
    assert start_stop(out / "documents.jsonl") == []  # stopped in the calibration, before any experiment


def _emulated_lab(tmp_path: Path) -> Path:
    text = (ROOT / "lab/examples/emulated.toml").read_text()
    text = text.replace("/tmp/qdlab-ne1000", str(tmp_path / "ne1000")).replace(
        "/tmp/qdlab-tc", str(tmp_path / "tc")
    )
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return path


def test_one_sigint_stops_every_pump_and_cools_the_emulated_rig(campaign, tmp_path):
    """The real drivers over the emulators' ptys; after the stop the emulators are asked over the wire
    (tests/lab/run/stop_probe.py) whether each pump still runs and what the controller's set point is."""
    lab = _emulated_lab(tmp_path)
    out, state_file = tmp_path / "run", tmp_path / "emulators.json"
    proc = qdlab(
        "run", campaign, "--lab", lab, "--out", out, "--budget", BUDGET, "--seed", 3, probe_state=state_file
    )
    log = out / "documents.jsonl"
    wait_for_first_start(proc, log)
    marker, deadline = Path(f"{state_file}.pumping"), time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)  # until the first experiment's reagent pumps run: the stop must stop them
    assert marker.exists(), proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGINT)
    line = assert_stopped(proc, "SIGINT", out)
    assert (
        "pumps cd, se, solvent read back stopped, heater set point read back 25 degC (its safe set point)"
        in line
    )
    state = json.loads(state_file.read_text())
    assert "error" not in state, state
    assert set(state["pumps"]) == {"cd", "se", "solvent"}
    assert state["at_signal"]["cd"] > 0, state  # the experiment was pumping when the signal came
    for stream, pump in state["pumps"].items():
        assert pump["status"] in ("S", "P") and pump["alarm"] is None, (stream, pump)  # not infusing
        assert pump["world_flow_ul_min"] == 0.0, (stream, pump)  # and nothing flows into the reactor
    assert state["heater"]["setpoint_c"] == pytest.approx(25.0, abs=0.05)  # safe_temperature
    assert not (tmp_path / "ne1000").exists() and not (tmp_path / "tc").exists()


# -- make_safe says what it did ------------------------------------------------------------------------


class _Backend:
    def __init__(self, fail: Exception | None = None, setpoint_c: float | None = None, flow: float = 0.0):
        self.fail, self.fixed_setpoint_c, self.setpoint, self.flow = fail, setpoint_c, 200.0, flow

    def stop(self):
        if self.fail:
            raise self.fail

    def flow_ul_min(self):
        return self.flow

    def set_setpoint_c(self, value):
        if self.fail:
            raise self.fail
        self.setpoint = value

    def setpoint_c(self):
        return self.setpoint if self.fixed_setpoint_c is None else self.fixed_setpoint_c


def _rig(*, pump_fail=None, heater_fail=None, heater_stuck_c=None, pump_still_flows=0.0):
    from campaigns.rig import Rig
    from devices import Heater, HeaterLimits, PumpLimits, SyringePump

    pumps = {
        r: SyringePump(
            _Backend(pump_fail if r == "se" else None, flow=pump_still_flows if r == "se" else 0.0),
            PumpLimits(0.5, 500.0, 10000.0),
            reagent=r,
            name=f"pump_{r}",
        )
        for r in ("cd", "se")
    }
    heater = Heater(
        _Backend(heater_fail, heater_stuck_c), HeaterLimits(20.0, 330.0, 25.0, 2.0), name="heater"
    )
    return Rig(
        pumps=pumps,
        heater=heater,
        spectrometer=None,
        timer=None,
        reactor_volume_ul=250.0,
        transfer_volume_ul=50.0,
        path_length_cm=0.1,
        plqy_reference=1.0,
        stocks_mM={},
    )


def test_make_safe_reports_success_only_when_it_happened():
    report = CampaignSession.make_safe(_rig())
    assert isinstance(report, SafeReport) and report.ok
    assert report.summary() == (
        "pumps pump_cd, pump_se read back stopped, heater set point read back 25 degC (its safe set point)"
    )

    report = CampaignSession.make_safe(_rig(heater_fail=OSError("no reply from the controller")))
    assert not report.ok and report.pumps_stopped == ["pump_cd", "pump_se"]
    assert report.summary() == (
        "NOT SAFE: heater could not be confirmed safe (heater: no reply from the controller), "
        "check by hand; pumps pump_cd, pump_se read back stopped"
    )

    report = CampaignSession.make_safe(_rig(heater_stuck_c=250.0))  # accepted the write, reads back 250
    assert (
        "NOT SAFE: heater could not be confirmed safe (heater: its set point reads 250 degC, not 25 degC)"
        in report.summary()
    )

    report = CampaignSession.make_safe(_rig(pump_fail=OSError("port lost")))
    assert report.summary() == (
        "NOT SAFE: pump_se could not be confirmed safe (pump_se: port lost), check by hand; "
        "pumps pump_cd read back stopped, heater set point read back 25 degC (its safe set "
        "point)"
    )

    report = CampaignSession.make_safe(_rig(pump_still_flows=12.5))  # took its stop, still reads a flow
    assert not report.ok and report.pumps_stopped == ["pump_cd"]
    assert "pump_se: it still reads 12.5 uL/min after its stop" in report.summary()


def test_a_signal_between_runengine_calls_is_kept_for_the_next_check():
    run_engine = RunEngine({}, context_managers=[])
    before = signal.getsignal(signal.SIGHUP)
    with StopSignals(run_engine) as stop:
        stop.check()  # nothing yet
        os.kill(os.getpid(), signal.SIGHUP)
        time.sleep(0.05)  # the handler runs in this (main) thread
        with pytest.raises(StopRequested):
            stop.check()
        assert stop.received == "SIGHUP"
    assert signal.getsignal(signal.SIGHUP) is before  # handlers restored


# -- what a suspension re-runs -------------------------------------------------------------------------

TEMPERATURES = (240.0, 260.0, 280.0)


def _suspended_campaign(trip_when):
    """Three experiments at different temperatures in simulated time; the interlock-like suspender trips
    once in experiment 1 at the first message for which ``trip_when(msg, rig)`` holds. Returns the
    documents and, per experiment, the commands that reached the devices."""
    spec, lab = (
        load_campaign(EXAMPLES["campaigns"] / "cdse-green.toml"),
        load_lab(EXAMPLES["lab"] / "sim-cdse.toml"),
    )
    session = CampaignSession(spec, lab, Path("unused"), campaign_source="c", lab_source="l")
    rig = build_rig(lab, material="CdSe", seed=1).rig
    rig.connect()
    run_engine = RunEngine({}, context_managers=[])
    run_engine(calibrate(rig, spec.protocol, flush_flow_ul_min=125.0))
    docs, sent, tripped = [], {}, []
    run_engine.subscribe(lambda name, doc: docs.append((name, doc)))
    interlock = Signal(name="interlock", value=0)
    run_engine.install_suspender(SuspendBoolHigh(interlock, sleep=0.05))
    current = {"index": None}

    def hook(msg):
        if msg.command == "open_run":
            current["index"] = msg.kwargs.get("experiment_index")
        sent.setdefault(current["index"], []).append((msg.command, getattr(msg.obj, "name", None), msg.args))
        if current["index"] == 1 and not tripped and trip_when(msg, rig):
            tripped.append(msg)
            interlock.put(1)
            threading.Timer(0.3, interlock.put, args=(0,)).start()

    run_engine.msg_hook = hook

    def propose(index):
        parameters = {
            "temperature": TEMPERATURES[index],
            "residence_time": 60.0,
            "conc_cd": 4.0,
            "ratio_se_cd": 1.0,
        }
        return parameters, session.setpoints(parameters), {"experiment_index": index}

    run_engine(
        closed_loop(
            rig,
            propose=propose,
            learn=lambda *a: None,
            indices=range(3),
            protocol=spec.protocol,
            material="CdSe",
        )
    )
    assert tripped, "the suspender never tripped"
    return docs, sent


def _events_per_run(docs):
    starts = {d["uid"]: d["experiment_index"] for n, d in docs if n == "start"}
    streams = {d["uid"]: (starts[d["run_start"]], d["name"]) for n, d in docs if n == "descriptor"}
    per_run: dict = {}
    for name, doc in docs:
        if name == "event":
            per_run.setdefault(streams[doc["descriptor"]], []).append(doc)
    return per_run


def _heater_sets(sent, index):
    return [args[0] for command, obj, args in sent[index] if command == "set" and obj == "heater"]


def test_a_suspension_before_the_measurement_reruns_only_this_experiments_set_settle_and_wait():
    def in_steady_state_wait(msg, rig):
        return msg.command == "set" and msg.obj is rig.timer and msg.args[0] > 60.0

    docs, sent = _suspended_campaign(in_steady_state_wait)
    assert [d["exit_status"] for n, d in docs if n == "stop"] == ["success"] * 3
    per_run = _events_per_run(docs)
    for index in range(3):  # one measurement and one outcome record each: nothing replayed into a run
        assert len(per_run[(index, "primary")]) == 1 and len(per_run[(index, "outcomes")]) == 1, index
    # experiment 1 set its own heater set point again (the replay from its start), never experiment 0's
    assert _heater_sets(sent, 1) == [TEMPERATURES[1]] * 2
    assert _heater_sets(sent, 0) == [TEMPERATURES[0]] and _heater_sets(sent, 2) == [TEMPERATURES[2]]
    (primary,) = per_run[(1, "primary")]
    assert primary["data"]["heater_setpoint"] == pytest.approx(TEMPERATURES[1])


def test_a_suspension_after_the_measurement_does_not_measure_again():
    def recording_outcomes(msg, rig):
        return (
            msg.command == "set" and msg.obj is not None and getattr(msg.obj, "parent", None) is rig.outcomes
        )

    docs, sent = _suspended_campaign(recording_outcomes)
    per_run = _events_per_run(docs)
    for index in range(3):
        assert len(per_run[(index, "primary")]) == 1 and len(per_run[(index, "outcomes")]) == 1, index
    assert _heater_sets(sent, 1) == [TEMPERATURES[1]]  # no re-settle: the measurement was already taken
    triggers = [obj for command, obj, _ in sent[1] if command == "trigger" and obj == "spectrometer"]
    assert triggers == ["spectrometer"]


def test_a_signal_delivered_to_a_worker_thread_still_stops_at_once(tmp_path):
    """kill(2) may hand the signal to any thread; with bluesky's untimed wait in the main thread the
    handler ran only when the campaign had finished all its experiments (exit 130 after 12 of 12)."""
    campaign = tmp_path / "c.toml"
    campaign.write_text(
        (ROOT / "campaigns" / "examples" / "cdse-green.toml")
        .read_text()
        .replace('strategy = "botorch"', 'strategy = "sobol"')
    )
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "lab" / "run" / "worker_signal_probe.py"),
            str(campaign),
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 130, proc.stderr[-3000:]
    done = completed(experiments_from_documents(read_documents(out / "documents.jsonl")))
    assert len(done) < BUDGET, proc.stderr[-3000:]
    assert start_stop(out / "documents.jsonl")[-1] == ("stop", "abort")
