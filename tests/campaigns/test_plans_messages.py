"""The plans message by message, without a RunEngine (bluesky's ``RunEngineSimulator``): the order an
experiment sets, waits, measures, records and checkpoints in; the calibration's messages; and that the
closed loop asks ``propose`` before anything moves and calls ``learn`` only after the run has closed.

Nothing is moved or measured: reads are answered with canned values, so the sequences below are the
plans' own, whatever the devices would do."""

import numpy as np
import pytest
from bluesky.simulators import RunEngineSimulator

from campaigns.conditions import SOLVENT, to_setpoints
from campaigns.plans import calibrate, closed_loop, experiment, steady_state_wait_s
from campaigns.spec import ProtocolSpec
from lab.config.files import EXAMPLES, load_lab
from lab.run.rig_builder import build_rig

LAB = load_lab(EXAMPLES["lab"] / "sim-cdse.toml")
STOCKS = {p.reagent: p.stock for p in LAB.pumps.values()}
VALUES = {"temperature": 270.0, "residence_time": 60.0, "conc_cd": 3.0, "ratio_se_cd": 1.0}
PROTOCOL = ProtocolSpec()


def setpoints(values=VALUES):
    return to_setpoints(values, kind="chemical", reactor_volume_ul=LAB.reactor.volume, stocks_mM=STOCKS)


@pytest.fixture(scope="module")
def rig():
    rig = build_rig(LAB, material="CdSe", seed=0).rig
    assert rig.refills is None and rig.model is None  # the plain path: no refill station, spectra
    return rig


def simulator(rig, sp, *, alarm: str = "") -> RunEngineSimulator:
    """Reads answered: the heater at its set point, each pump's ``alarm``, a spectrum with one peak."""
    sim = RunEngineSimulator()
    spec = rig.spectrometer.name
    wl = np.linspace(400.0, 800.0, 401)

    def reading(**values):
        return {k: {"value": v, "timestamp": 0.0} for k, v in values.items()}

    sim.add_handler("read", lambda m: reading(**{m.obj.name: sp.temperature_c}), rig.heater.temperature.name)
    sim.add_handler("read", lambda m: reading(**{m.obj.name: wl}), rig.spectrometer.abs_wavelengths.name)
    sim.add_handler("read", lambda m: reading(**{m.obj.name: wl}), rig.spectrometer.pl_wavelengths.name)
    sim.add_handler(
        "read",
        lambda m: reading(
            **{
                f"{spec}_absorbance": 0.2 * np.exp(-(((wl - 500.0) / 40.0) ** 2)) + 0.01,
                f"{spec}_pl": 5000.0 * np.exp(-(((wl - 560.0) / 12.0) ** 2)) + 10.0,
                f"{spec}_pl_integration_time": 100.0,
                f"{spec}_abs_integration_time": 10.0,
                f"{spec}_saturated": False,
            }
        ),
        spec,
    )
    for pump in rig.pumps.values():
        sim.add_handler("read", lambda m: reading(**{f"{m.obj.name}_alarm": alarm}), pump.name)
    return sim


def steps(msgs) -> list[tuple]:
    """(command, device, value) for each message; ``set`` carries its value, the rest None."""
    out = []
    for m in msgs:
        name = getattr(m.obj, "name", None)
        value = m.args[0] if m.command == "set" else m.kwargs.get("name") if m.command == "create" else None
        out.append((m.command, name, value))
    return out


def expected_experiment(rig, sp, *, clog: bool = False) -> list[tuple]:
    """The experiment plan's sequence (heater already in band: ``heater_hold`` / ``poll_interval``
    polls)."""
    pumps = list(rig.pumps.values())
    spec = rig.spectrometer
    polls = round(PROTOCOL.heater_hold / PROTOCOL.poll_interval)
    settle = [("set", "heater", sp.temperature_c), ("wait", None, None)]
    for k in range(polls):
        settle += [("read", rig.heater.temperature.name, None)]
        if k < polls - 1:
            settle += [("set", "timer", PROTOCOL.poll_interval), ("wait", None, None)]
    flows = [("set", p.name, sp.flows_ul_min.get(r, 0.0)) for r, p in rig.pumps.items()]
    wait = [("set", "timer", steady_state_wait_s(rig, sp, PROTOCOL)), ("wait", None, None)]
    measured = [spec, rig.heater, *pumps, rig.timer]
    primary = [
        *[("trigger", d.name, None) for d in measured],
        ("wait", None, None),
        ("create", None, "primary"),
        *[("read", d.name, None) for d in measured],
        ("save", None, None),
        ("read", spec.abs_wavelengths.name, None),
        ("read", spec.pl_wavelengths.name, None),
    ]
    stop = [("stop", p.name, None) for p in pumps]
    stop += [("set", "timer", PROTOCOL.clog_recovery), ("wait", None, None)]
    record = [
        *[("set", rig.outcomes.signal_for(k).name, None) for k in rig.outcomes.keys],
        ("wait", None, None),
        ("trigger", "outcomes", None),
        ("wait", None, None),
        ("create", None, "outcomes"),
        ("read", "outcomes", None),
        ("save", None, None),
    ]
    return [
        ("open_run", None, None),
        ("checkpoint", None, None),
        *settle,
        *flows,
        ("wait", None, None),
        *wait,
        *primary,
        ("checkpoint", None, None),
        *(stop if clog else []),
        *record,
        ("checkpoint", None, None),
        ("close_run", None, None),
    ]


def recorded(actual: list[tuple]) -> list[tuple]:
    """The outcome signals' values left out (what they are is pinned separately)."""
    return [
        (c, n, None) if c == "set" and n is not None and n.startswith("outcomes_") else (c, n, v)
        for c, n, v in actual
    ]


def test_the_experiment_sets_waits_measures_records_and_checkpoints_in_this_order(rig):
    sp = setpoints()
    sim = simulator(rig, sp)
    msgs = sim.simulate_plan(experiment(rig, sp, PROTOCOL, material="CdSe", objective=lambda o: 1.5))
    assert recorded(steps(msgs)) == expected_experiment(rig, sp)
    outcome_sets = {
        m.obj.name: m.args[0] for m in msgs if m.command == "set" and m.obj.parent is rig.outcomes
    }
    assert outcome_sets["outcomes_objective"] == 1.5 == sim.return_value["objective"]
    assert set(sim.return_value) == set(rig.outcomes.keys)
    for key, value in sim.return_value.items():  # what is recorded is what the plan returns
        blank = key in ("failure", "quality") and value is None
        assert outcome_sets[rig.outcomes.signal_for(key).name] == ("" if blank else value), key


def test_a_stalled_pump_stops_every_pump_and_waits_out_the_recovery_before_recording_a_clog(rig):
    sp = setpoints()
    sim = simulator(rig, sp, alarm="stall")
    msgs = sim.simulate_plan(experiment(rig, sp, PROTOCOL, material="CdSe"))
    assert recorded(steps(msgs)) == expected_experiment(rig, sp, clog=True)
    assert sim.return_value["failure"] == "clog"
    assert all(v is None for k, v in sim.return_value.items() if k != "failure")


def test_the_start_document_carries_the_experiments_metadata(rig):
    sp = setpoints()
    msgs = simulator(rig, sp).simulate_plan(experiment(rig, sp, PROTOCOL, material="CdSe", md={"index": 7}))
    assert msgs[0].command == "open_run" and msgs[0].kwargs["index"] == 7


def test_calibration_flushes_with_solvent_then_takes_the_dark_then_the_reference(rig):
    flush = 125.0
    msgs = RunEngineSimulator().simulate_plan(calibrate(rig, PROTOCOL, flush_flow_ul_min=flush))
    flush_s = (rig.reactor_volume_ul + rig.transfer_volume_ul) / flush * 60.0
    assert steps(msgs) == [
        *[("set", p.name, flush if r == SOLVENT else 0.0) for r, p in rig.pumps.items()],
        ("wait", None, None),
        ("set", "timer", max(1.0, PROTOCOL.flush_residence_times) * flush_s),
        ("wait", None, None),
        ("set", "spectrometer", "dark"),
        ("wait", None, None),
        ("set", "spectrometer", "reference"),
        ("wait", None, None),
    ]


def test_the_loop_asks_propose_before_anything_moves_and_learns_after_the_run_closes(rig):
    sp = setpoints()
    events: list[tuple] = []
    sim = simulator(rig, sp)
    sim.add_handler("open_run", lambda m: events.append(("open_run",)))
    sim.add_handler("close_run", lambda m: events.append(("close_run",)))
    sim.add_handler("set", lambda m: events.append(("set", m.obj.name)) and None)

    def propose(index):
        events.append(("propose", index))
        return {"index": index}, sp, {"experiment": index}

    def learn(index, parameters, outcomes):
        events.append(("learn", index, parameters["index"], "failure" in outcomes))

    msgs = sim.simulate_plan(
        closed_loop(rig, propose=propose, learn=learn, indices=range(2), protocol=PROTOCOL, material="CdSe")
    )
    assert [m.kwargs.get("experiment") for m in msgs if m.command == "open_run"] == [0, 1]
    compact = [e for i, e in enumerate(events) if e[0] != "set" or events[i - 1][0] != "set"]
    assert compact == [
        ("propose", 0),
        ("open_run",),
        ("set", "heater"),
        ("close_run",),
        ("learn", 0, 0, True),
        ("propose", 1),
        ("open_run",),
        ("set", "heater"),
        ("close_run",),
        ("learn", 1, 1, True),
    ]


def test_a_proposal_that_is_not_finite_stops_the_loop_before_anything_moves(rig):
    from models.errors import SafetyError

    bad = setpoints()
    bad = type(bad)(**{**bad.__dict__, "temperature_c": float("nan")})
    learned = []
    plan = closed_loop(
        rig,
        propose=lambda i: ({}, bad, {}),
        learn=lambda *a: learned.append(a),
        indices=range(1),
        protocol=PROTOCOL,
        material="CdSe",
    )
    sim = simulator(rig, setpoints())
    with pytest.raises(SafetyError, match="nothing was moved"):
        sim.simulate_plan(plan)
    assert learned == []


def test_with_a_refill_station_the_heater_settles_then_a_short_syringe_is_refilled_then_the_flows_start(rig):
    import dataclasses

    from devices import RefillStation, SimClock

    sp = setpoints()
    station = dataclasses.replace(rig, refills=RefillStation(dict(rig.pumps), SimClock(), auto=True))
    sim = simulator(station, sp)
    checks: list[str] = []

    def remaining(m):  # the first check finds every syringe empty, the second full
        checks.append(m.obj.name)
        full = len(checks) > len(rig.pumps)
        return {m.obj.name: {"value": 1e9 if full else 0.0, "timestamp": 0.0}}

    for pump in rig.pumps.values():
        sim.add_handler("read", remaining, pump.remaining.name)
    actual = steps(sim.simulate_plan(experiment(station, sp, PROTOCOL, material="CdSe")))
    flowing = [p for r, p in rig.pumps.items() if sp.flows_ul_min.get(r, 0.0) > 0]
    reads = [("read", p.remaining.name, None) for p in flowing]
    start = next(i for i, (c, n, _) in enumerate(actual) if (c, n) == ("set", "refill"))
    settled = actual.index(reads[0])
    assert actual[1:3] == [("checkpoint", None, None), ("set", "heater", sp.temperature_c)]
    assert all(c != "set" or n in ("heater", "timer") for c, n, _ in actual[:settled])
    assert actual[settled:start] == [
        *reads,
        *[("set", p.name, 0.0) for p in rig.pumps.values()],
        ("wait", None, None),
    ]
    after = actual[start:]
    assert after[:2] == [actual[start], ("wait", None, None)]
    assert [s[2] for s in after if s[0] == "create"][0] == "refill"
    recheck = after.index(reads[0])
    assert after[recheck : recheck + len(reads)] == reads
    assert after[recheck + len(reads) : recheck + len(reads) + len(rig.pumps)] == [
        ("set", p.name, sp.flows_ul_min.get(r, 0.0)) for r, p in rig.pumps.items()
    ]
