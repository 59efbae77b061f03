"""``[protocol] overlap``, message by message (bluesky's ``RunEngineSimulator``): the closed loop starts
the next proposal once an experiment's flows are set, before its wait for steady state, and waits for
it (a ``wait_for`` message, the RunEngine free to stop meanwhile) only after the run has closed and
before ``learn``; an experiment run alone calls ``on_settling`` at the same point."""

import pytest
from test_plans_messages import LAB, PROTOCOL, setpoints, simulator

from campaigns.plans import closed_loop, experiment
from lab.run.rig_builder import build_rig


@pytest.fixture(scope="module")
def rig():
    return build_rig(LAB, material="CdSe", seed=0).rig


class RecordingAhead:
    """A ``ProposeAhead`` that notes when it is started and asked what to wait on."""

    def __init__(self, events: list, ready: set[int]):
        self.events = events
        self.ready = ready  # experiments whose next proposal is ready by the time the run closes
        self.last: int | None = None

    def start(self, index, parameters):
        self.events.append(("ahead.start", index, parameters["index"]))
        self.last = index

    def waits(self):
        self.events.append(("ahead.waits", self.last))
        return [] if self.last in self.ready else [lambda: None]


def recorded(rig, sim, events):
    sim.add_handler("open_run", lambda m: events.append(("open_run",)))
    sim.add_handler("close_run", lambda m: events.append(("close_run",)))
    sim.add_handler("set", lambda m: events.append(("set", m.obj.name)) and None)
    sim.add_handler("create", lambda m: events.append(("create", m.kwargs.get("name"))) and None)
    sim.add_handler("wait_for", lambda m: events.append(("wait_for",)))


def test_the_next_proposal_starts_when_the_flows_are_set_and_is_awaited_before_learning(rig):
    sp = setpoints()
    events: list[tuple] = []
    sim = simulator(rig, sp)
    recorded(rig, sim, events)

    def propose(index):
        events.append(("propose", index))
        return {"index": index}, sp, {"experiment": index}

    def learn(index, parameters, outcomes):
        events.append(("learn", index))

    ahead = RecordingAhead(events, ready={1})
    plan = closed_loop(
        rig, propose=propose, learn=learn, indices=range(2), protocol=PROTOCOL, material="CdSe", ahead=ahead
    )
    msgs = sim.simulate_plan(plan)
    pumps = [p.name for p in rig.pumps.values()]
    for index in (0, 1):  # flows set, then the next proposal begins, then the wait, then the measurement
        at = events.index(("ahead.start", index, index))
        assert [e[1] for e in events[at - len(pumps) : at]] == pumps
        assert ("set", "heater") in events[events.index(("propose", index)) : at]
        assert events[at + 1 : at + 3] == [("set", "timer"), ("create", "primary")]
    tail = [e for e in events if e[0] in ("close_run", "ahead.waits", "wait_for", "learn", "propose")]
    assert tail == [
        ("propose", 0),
        ("close_run",),
        ("ahead.waits", 0),
        ("wait_for",),  # not ready: waited for, as a message
        ("learn", 0),
        ("propose", 1),
        ("close_run",),
        ("ahead.waits", 1),  # ready (or nothing running): no wait
        ("learn", 1),
    ]
    assert [m.command for m in msgs].count("wait_for") == 1


def test_without_ahead_the_loop_yields_the_messages_it_always_did(rig):
    sp = setpoints()

    def run(**kwargs):
        plan = closed_loop(
            rig,
            propose=lambda i: ({"index": i}, sp, {"experiment": i}),
            learn=lambda *a: None,
            indices=range(2),
            protocol=PROTOCOL,
            material="CdSe",
            **kwargs,
        )
        return [(m.command, getattr(m.obj, "name", None)) for m in simulator(rig, sp).simulate_plan(plan)]

    plain = run()
    assert "wait_for" not in [c for c, _ in plain]
    assert run(ahead=RecordingAhead([], ready={0, 1})) == plain  # a proposal always ready: no message more


def test_an_experiment_calls_on_settling_after_its_flows_are_set_and_before_its_wait(rig):
    sp = setpoints()
    events: list[tuple] = []
    sim = simulator(rig, sp)
    recorded(rig, sim, events)
    sim.simulate_plan(
        experiment(rig, sp, PROTOCOL, material="CdSe", on_settling=lambda: events.append(("settling",)))
    )
    at = events.index(("settling",))
    pumps = [p.name for p in rig.pumps.values()]
    assert [e[1] for e in events[at - len(pumps) : at]] == pumps
    assert events[at + 1 : at + 3] == [("set", "timer"), ("create", "primary")]
    assert events.count(("settling",)) == 1
