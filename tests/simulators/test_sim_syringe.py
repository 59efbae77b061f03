"""The simulated pump accounts for its syringe as the NE-1000 does: the same rule, the same words."""

import pytest

from devices import SYRINGE_EMPTY_TOLERANCE_UL, SimClock, check_syringe
from models.errors import DeviceError
from simulators import SimPump, SimWorld


def _pump(volume_ul=20.0):
    clock = SimClock()
    world = SimWorld("CdSe", clock=clock, faults=False)
    pump = SimPump(world, "cd", syringe_volume_ul=volume_ul, name="cd")
    pump.connect()
    return clock, world, pump


def test_a_sim_pump_stops_when_its_syringe_is_empty_and_refuses_to_run_like_the_ne1000():
    clock, world, pump = _pump(20.0)
    pump.set_flow_ul_min(600.0)  # 10 uL/s: empty after 2 s
    clock.advance(30.0)  # nobody asks in between: it stopped by itself at 2 s, as a VOL target does
    assert pump.flow_ul_min() == 0.0
    assert pump.dispensed_ul() == pytest.approx(20.0, abs=1e-9)
    assert world.dispensed_between("cd", 0.0, 30.0) == pytest.approx(20.0, abs=1e-9)
    assert pump.alarm() == "empty"
    with pytest.raises(DeviceError, match=r"cd: syringe empty \(20\.0 of 20 uL dispensed\); refill it"):
        pump.set_flow_ul_min(10.0)
    # the words are the shared rule's, which the NE-1000 driver raises too
    with pytest.raises(DeviceError) as shared:
        check_syringe("cd", dispensed_ul=20.0, filled_ul=20.0)
    with pytest.raises(DeviceError) as sim:
        pump.set_flow_ul_min(10.0)
    assert str(sim.value) == str(shared.value)


def test_the_sim_pump_stops_at_its_target_between_other_flow_changes():
    clock, world, pump = _pump(20.0)
    other = SimPump(world, "se", syringe_volume_ul=1000.0, name="se")
    other.connect()
    pump.set_flow_ul_min(300.0)  # empty after 4 s
    clock.advance(3.0)
    other.set_flow_ul_min(60.0)
    clock.advance(3.0)
    other.set_flow_ul_min(120.0)  # the world catches up: cd stopped at 4 s, not at 6
    assert pump.dispensed_ul() == pytest.approx(20.0, abs=1e-9)
    assert other.dispensed_ul() == pytest.approx(3.0)


def test_a_nearly_empty_syringe_is_empty_and_a_refill_lets_it_run_again():
    clock, world, pump = _pump(20.0)
    pump.set_flow_ul_min(60.0)
    clock.advance(60.0 * (20.0 - SYRINGE_EMPTY_TOLERANCE_UL + 0.1) / 60.0)
    pump.stop()
    with pytest.raises(DeviceError, match="syringe empty"):
        pump.set_flow_ul_min(60.0)
    pump.refill(10.0)
    assert pump.dispensed_ul() == 0.0 and pump.alarm() is None
    pump.set_flow_ul_min(60.0)
    clock.advance(60.0)
    assert pump.dispensed_ul() == pytest.approx(10.0)


def test_a_stalled_line_is_a_stall_not_an_empty_syringe():
    clock = SimClock()
    world = SimWorld("CdSe", clock=clock, faults=False)
    pump = SimPump(world, "cd", syringe_volume_ul=20.0)
    pump.connect()
    pump.set_flow_ul_min(60.0)
    world._stalled = True  # what a clog does (world.stalled); the pump delivers nothing
    world._push_flows(clock.now())
    clock.advance(60.0)
    assert pump.alarm() == "stall"
    world.clear_clog()
    assert pump.alarm() is None
