"""Syringes that run out: the pre-flight estimate, the pause for a refill and ``qdlab refill``.

On the simulated rig (simulated time) and on the emulated rig (the real NE-1000 driver over its
emulator): a campaign whose syringes are too small for its budget stops its pumps before an
experiment, waits for ``qdlab refill`` (from another thread or process) and completes its budget.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from campaigns.conditions import Setpoints
from campaigns.preflight import experiment_cost
from lab.cli import main
from lab.config.files import EXAMPLES, load_campaign, load_lab
from lab.run.refill import REQUEST_NAME, WANTED_NAME
from lab.run.session import CampaignSession, Interrupted
from lab.store.storage import read_documents
from tests.lab.conftest import write_fast_campaign

ROOT = Path(__file__).resolve().parents[3]


def _lab_with_syringes(path: Path, source: Path, volumes: dict[str, str]) -> Path:
    """A copy of ``source`` whose pumps ``volumes`` name have those syringe volumes."""
    text = source.read_text()
    for pump, volume in volumes.items():
        section = re.search(rf"\[pumps\.{pump}\][^\[]*", text)
        assert section is not None, pump
        block = re.sub(r'syringe_volume = "[^"]*"', f'syringe_volume = "{volume}"', section.group(0))
        text = text.replace(section.group(0), block)
    path.write_text(text)
    return path


def _campaign(tmp_path: Path, *, budget: int, refill: str | None = None) -> Path:
    path = write_fast_campaign(tmp_path / "campaign.toml")
    text = path.read_text().replace("budget = 30", f"budget = {budget}")
    if refill:
        text = text.replace("[protocol]\n", f'[protocol]\nrefill = "{refill}"\n')
    path.write_text(text)
    return path


def _session(campaign: Path, lab: Path, out: Path) -> CampaignSession:
    return CampaignSession(
        load_campaign(campaign), load_lab(lab), out, campaign_source=str(campaign), lab_source=str(lab)
    )


class _Refiller:
    """Answers every refill prompt in ``directory`` with ``qdlab refill`` (in this process's thread,
    or as another process with ``subprocess=True``) and remembers what it was asked for."""

    def __init__(
        self,
        directory: Path,
        *,
        subprocess_: bool = False,
        poll_s: float = 0.05,
        first_options: list[str] | None = None,
    ):
        self.directory, self.subprocess, self.poll_s = directory, subprocess_, poll_s
        self.first_options = first_options or []
        self.asked: list[dict] = []
        self.codes: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "_Refiller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        wanted = self.directory / WANTED_NAME
        while not self._stop.wait(self.poll_s):
            try:
                asked = json.loads(wanted.read_text())
            except (OSError, ValueError):
                continue  # nothing waits (or the file is being written)
            self.asked.append(asked)
            args = ["refill", str(self.directory), *(self.first_options if len(self.asked) == 1 else [])]
            if self.subprocess:
                done = subprocess.run(
                    [sys.executable, "-m", "lab.cli", *args],
                    cwd=ROOT,
                    capture_output=True,
                    env={**os.environ, "PYTHONPATH": str(ROOT)},
                    timeout=120,
                )
                self.codes.append(done.returncode)
            else:
                self.codes.append(main(args))
            deadline = time.monotonic() + 60
            while wanted.exists() and time.monotonic() < deadline and not self._stop.is_set():
                time.sleep(self.poll_s)  # the campaign takes it and goes on


def _refill_events(directory: Path) -> list[dict]:
    docs = list(read_documents(directory / "documents.jsonl"))
    streams = {d["uid"] for n, d in docs if n == "descriptor" and d.get("name") == "refill"}
    return [d["data"] for n, d in docs if n == "event" and d.get("descriptor") in streams]


def _dispensed_from_log(directory: Path, pump: str, lab: Path) -> float:
    """What ``pump`` dispensed over the campaign, from its ``dispensed`` readings in the log (summed
    over refills: each refill event says what was left when it was asked for)."""
    docs = list(read_documents(directory / "documents.jsonl"))
    names = {d["uid"]: d.get("name") for n, d in docs if n == "descriptor"}
    total, last = 0.0, 0.0
    filled = load_lab(lab).pumps[pump].syringe_volume
    for n, d in docs:
        if n != "event":
            continue
        if names.get(d["descriptor"]) == "primary":
            last = d["data"][f"{pump}_dispensed"]
        elif names.get(d["descriptor"]) == "refill":
            asked = json.loads(d["data"]["refill_requested"])
            if pump in json.loads(d["data"]["refill_refilled"]):
                total += filled - asked[pump]["remaining_ul"] if pump in asked else last
                filled = json.loads(d["data"]["refill_refilled"])[pump]
                last = 0.0
    return total + last


SIM_LAB = EXAMPLES["lab"] / "sim-cdse.toml"
EMULATED_LAB = EXAMPLES["lab"] / "emulated.toml"


def test_estimate_is_close_to_what_a_simulated_campaign_dispensed(tmp_path):
    campaign = _campaign(tmp_path, budget=30)
    session = _session(campaign, SIM_LAB, tmp_path / "run")
    result = session.run()
    estimate = session.estimate
    assert len(result.records) == 30
    world, lab = result.world, load_lab(SIM_LAB)
    # the model of one experiment, on the conditions the campaign ran, is what the pumps dispensed
    modelled: dict[str, float] = {}
    previous = None
    for record in result.records:
        d = record.setpoints
        sp = Setpoints(d["temperature_c"], d["flows_ul_min"], d["residence_time_s"], d["concentrations_mM"])
        cost = experiment_cost(
            previous,
            sp,
            session.spec,
            transfer_volume_ul=lab.reactor.transfer_volume,
            tolerance_c=lab.heater.tolerance,
            heater_time_constant_s=estimate.heater_time_constant_s,
            flush_flow_ul_min=session.flush_flow_ul_min(),
        )
        for reagent, ul in cost.volumes_ul.items():
            modelled[reagent] = modelled.get(reagent, 0.0) + ul
        previous = sp
    for r in estimate.reagents:
        logged = _dispensed_from_log(tmp_path / "run", r.pump, SIM_LAB)
        assert logged == pytest.approx(world.dispensed_between(r.reagent, 0.0, world.clock.now()), rel=1e-6)
        if r.reagent != "solvent":  # the solvent's calibration flush is not an experiment's
            assert modelled[r.reagent] == pytest.approx(logged, rel=0.02), r.reagent
        # the estimate before the run: within 20 % of what the Sobol campaign used, and below the worst case
        assert r.expected_ul == pytest.approx(logged, rel=0.2), r.reagent
        assert logged < r.worst_ul
    assert estimate.expected_s == pytest.approx(world.clock.now(), rel=0.1)
    starts = [d for n, d in read_documents(tmp_path / "run" / "documents.jsonl") if n == "start"]
    assert starts[0]["preflight_estimate"]["experiments"] == 30
    assert [s for s in starts[1:] if "preflight_estimate" in s] == []


def test_sim_campaign_waits_for_qdlab_refill_then_completes_its_budget(tmp_path):
    lab = _lab_with_syringes(tmp_path / "lab.toml", SIM_LAB, {"cd": "1 mL", "se": "1 mL"})
    campaign = _campaign(tmp_path, budget=6, refill="wait")
    out = tmp_path / "run"
    session = _session(campaign, lab, out)
    lines: list[str] = []
    session.notify = lines.append
    with _Refiller(out) as refiller:
        result = session.run()
    assert len(result.records) == 6
    assert all(r.outcomes.get("failure") is None for r in result.records)  # no syringe ran dry mid-experiment
    events = _refill_events(out)
    assert events and len(events) == len(refiller.asked) and refiller.codes == [0] * len(events)
    assert {e["refill_how"] for e in events} == {"operator"}
    for event in events:  # each refill came before a pump would have run short, and refilled it full
        for pump, asked in json.loads(event["refill_requested"]).items():
            assert asked["remaining_ul"] < asked["need_ul"] <= 1000.0
            assert json.loads(event["refill_refilled"])[pump] == 1000.0
    prompts = [line for line in lines if line.startswith("refill needed")]
    assert len(prompts) == len(events)
    assert f"qdlab refill {out} --pump" in prompts[0] and "Pumps stopped" in prompts[0]
    assert not (out / WANTED_NAME).exists() and not (out / REQUEST_NAME).exists()
    for r in session.estimate.reagents:
        if r.reagent in ("cd", "se"):
            assert r.refills_worst >= 1


def test_auto_refill_on_the_simulated_rig_is_recorded(tmp_path):
    lab = _lab_with_syringes(tmp_path / "lab.toml", SIM_LAB, {"cd": "1 mL", "se": "1 mL"})
    campaign = _campaign(tmp_path, budget=4)  # the default on a simulated lab: auto
    session = _session(campaign, lab, tmp_path / "run")
    result = session.run()
    assert session.refill_mode == "auto" and len(result.records) == 4
    events = _refill_events(tmp_path / "run")
    assert events and {e["refill_how"] for e in events} == {"auto"}
    assert all(e["refill_waited"] == 0.0 for e in events)


def _small_syringe_session(tmp_path: Path, *, budget: int) -> tuple[CampaignSession, Path]:
    """A simulated campaign with 1 mL syringes of cd and se that waits for refills, and its directory."""
    lab = _lab_with_syringes(tmp_path / "lab.toml", SIM_LAB, {"cd": "1 mL", "se": "1 mL"})
    out = tmp_path / "run"
    session = _session(_campaign(tmp_path, budget=budget, refill="wait"), lab, out)
    session.notify = lambda line: None
    return session, out


def test_a_refill_wait_is_interrupted_by_sigterm_and_the_run_closes_as_abort(tmp_path):
    session, out = _small_syringe_session(tmp_path, budget=6)
    stopped_at: list[float] = []

    def terminate_when_waiting() -> None:
        deadline = time.monotonic() + 120
        while not (out / WANTED_NAME).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        stopped_at.append(time.monotonic())
        # to the main thread; a signal that lands on a worker thread is tested in test_stop.py
        signal.pthread_kill(threading.main_thread().ident, signal.SIGTERM)

    thread = threading.Thread(target=terminate_when_waiting, daemon=True)
    thread.start()
    with pytest.raises(Interrupted, match="SIGTERM"):
        session.run()
    thread.join()
    assert stopped_at
    stops = [d for n, d in read_documents(out / "documents.jsonl") if n == "stop"]
    assert stops[-1]["exit_status"] == "abort"
    assert not (out / WANTED_NAME).exists()


def test_qdlab_refill_refuses_bad_requests_with_one_line(tmp_path, capsys):
    assert main(["refill", str(tmp_path)]) == 2
    assert "not a campaign directory" in capsys.readouterr().err
    (tmp_path / "lab.toml").write_text(SIM_LAB.read_text())
    assert main(["refill", str(tmp_path)]) == 2
    assert "is waiting for a refill" in capsys.readouterr().err
    (tmp_path / WANTED_NAME).write_text(json.dumps({"pumps": {"cd": {}}, "syringes_ul": {"cd": 10000.0}}))
    assert main(["refill", str(tmp_path), "--pump", "zn"]) == 2
    assert "no pump zn" in capsys.readouterr().err
    assert main(["refill", str(tmp_path), "--volume", "20 mL"]) == 2
    assert "does not fit" in capsys.readouterr().err
    assert main(["refill", str(tmp_path), "--volume", "8"]) == 2  # no unit
    assert main(["refill", str(tmp_path), "--pump", "cd", "--volume", "8 mL"]) == 0
    assert json.loads((tmp_path / REQUEST_NAME).read_text()) == {"pumps": ["cd"], "volume_ul": 8000.0}


def test_a_partial_refill_counts_what_the_syringe_holds(tmp_path):
    session, out = _small_syringe_session(tmp_path, budget=4)
    with _Refiller(out, first_options=["--all", "--volume", "0.9 mL"]) as refiller:
        result = session.run()
    assert refiller.codes and set(refiller.codes) == {0} and len(result.records) == 4
    first = _refill_events(out)[0]
    assert json.loads(first["refill_refilled"]) == {"cd": 900.0, "se": 900.0, "solvent": 900.0}


def _emulated_lab(tmp_path: Path, volumes: dict[str, str]) -> Path:
    lab = _lab_with_syringes(tmp_path / "lab.toml", EMULATED_LAB, volumes)
    text = (
        lab.read_text()
        .replace("/tmp/qdlab-ne1000", str(tmp_path / "ne1000"))
        .replace("/tmp/qdlab-tc", str(tmp_path / "tc"))
    )
    lab.write_text(text)
    return lab


def test_emulated_rig_waits_for_qdlab_refill_from_another_process_then_completes(tmp_path):
    lab = _emulated_lab(tmp_path, {"cd": "1 mL", "se": "1 mL"})
    campaign = _campaign(tmp_path, budget=4)
    out = tmp_path / "run"
    session = _session(campaign, lab, out)
    assert (
        session.preflight() and session.refill_mode == "wait"
    )  # the default on anything but a simulated lab
    session.notify = lambda line: None
    with _Refiller(out, subprocess_=True) as refiller:
        result = session.run()
    assert len(result.records) == 4
    assert all(r.outcomes.get("failure") is None for r in result.records)
    events = _refill_events(out)
    assert events and refiller.codes == [0] * len(events)
    # the NE-1000's own counter (DIS), summed over refills (CLD), is what the emulated world delivered
    world = result.world
    for name in ("cd", "se"):
        assert _dispensed_from_log(out, name, lab) == pytest.approx(
            world.dispensed_between(name, 0.0, world.clock.now()), rel=0.05, abs=20.0
        )


@pytest.mark.slow
def test_emulated_cdse_green_full_budget_completes_with_refills(tmp_path):
    """The issue's case: the example campaign's full budget (Sobol) on the example rig's 10 mL syringes."""
    lab = _emulated_lab(tmp_path, {})
    campaign = _campaign(tmp_path, budget=30)
    out = tmp_path / "run"
    session = _session(campaign, lab, out)
    session.notify = lambda line: None
    with _Refiller(out):
        result = session.run()
    assert len(result.records) == 30
    events = _refill_events(out)
    assert events  # 10 mL of cd and se do not last 30 experiments
    estimate = {r.pump: r for r in session.estimate.reagents}
    assert estimate["se"].refills_worst >= 1
    for name in ("cd", "se"):
        # the emulators' clock runs 200x the host's, so every host second (proposals, the wire) pumps
        # for 200 s more than the plan asks: more than expected, less than the worst case
        assert (
            0.8 * estimate[name].expected_ul < _dispensed_from_log(out, name, lab) < estimate[name].worst_ul
        )


def test_syringe_holdings_follow_sessions_refills_and_aborted_runs():
    from lab.store.records import syringe_holdings

    def start(uid, estimate=False, flows=None):
        doc = {"uid": uid, "experiment_index": 0, "setpoints": {"flows_ul_min": flows or {}}}
        return ("start", {**doc, **({"preflight_estimate": {}} if estimate else {})})

    def event(desc, data):
        return ("event", {"descriptor": desc, "data": data})

    docs = [
        start("a", estimate=True),
        ("descriptor", {"uid": "pa", "run_start": "a", "name": "primary"}),
        event("pa", {"cd_dispensed": 300.0}),
        ("stop", {"run_start": "a", "exit_status": "success"}),
        start("b"),
        ("descriptor", {"uid": "rb", "run_start": "b", "name": "refill"}),
        event("rb", {"refill_refilled": json.dumps({"cd": 800.0})}),
        ("descriptor", {"uid": "pb", "run_start": "b", "name": "primary"}),
        event("pb", {"cd_dispensed": 100.0}),
        ("stop", {"run_start": "b", "exit_status": "success"}),
        start("c", estimate=True, flows={"cd": 10.0}),  # a resumed session, aborted before measuring
        ("stop", {"run_start": "c", "exit_status": "abort"}),
    ]
    held = syringe_holdings(docs, {"cd": 1000.0}, unlogged_ul=lambda sp: {"cd": 50.0})
    assert held == {"cd": pytest.approx(800.0 - 100.0 - 50.0)}


def test_a_resumed_campaign_carries_what_its_syringes_held(tmp_path):
    """Connecting clears a pump's counter; a resume used to take every syringe for full again, so a
    syringe the log left nearly empty could run dry in the middle of an experiment."""
    lab = _lab_with_syringes(tmp_path / "lab.toml", SIM_LAB, {"cd": "2.5 mL", "se": "2.5 mL"})
    out = tmp_path / "run"
    assert main(["run", str(_campaign(tmp_path, budget=2)), "--lab", str(lab), "--out", str(out)]) == 0
    assert not _refill_events(out)
    from lab.store.records import syringe_holdings
    from lab.run.session import open_for_resume

    left = syringe_holdings(
        read_documents(out / "documents.jsonl"), {"cd": 2500.0, "se": 2500.0, "solvent": 50000.0}
    )
    assert 1000.0 < left["se"] < 2400.0
    lines: list[str] = []
    session = open_for_resume(out, budget=4)
    session.notify = lines.append
    session.run(resume=True)
    carried = [line for line in lines if line.startswith("syringes as the log left them:")]
    assert carried and f"se {left['se'] / 1000:.2f} mL" in carried[0], lines
    # what the resumed session dispensed is counted from what was left, not from a full syringe
    assert (
        syringe_holdings(
            read_documents(out / "documents.jsonl"), {"cd": 2500.0, "se": 2500.0, "solvent": 50000.0}
        )["se"]
        < left["se"]
    )
