"""Temperature out of band suspends the campaign (bluesky suspender) and it resumes when back in band."""

import threading
import time

import bluesky.plan_stubs as bps
from bluesky import RunEngine

from devices import Heater, HeaterLimits, WallClock
from lab.run.interlocks import install_interlocks
from simulators.emulators import IdealHeater


class _Rig:
    def __init__(self, heater):
        self.heater = heater


def test_out_of_band_temperature_suspends_and_resumes():
    backend = IdealHeater(WallClock(speed=1.0), time_constant_s=0.01, initial_c=200.0)
    backend.set_setpoint_c(200.0)
    heater = Heater(backend, HeaterLimits(20.0, 300.0, 25.0, 2.0), name="heater")
    run_engine = RunEngine({})
    states = []
    run_engine.state_hook = lambda new, old: states.append(new)
    watch, suspender = install_interlocks(run_engine, _Rig(heater), period_s=0.02, resume_after_s=0.1)
    done = []

    def plan():
        for i in range(30):
            yield from bps.checkpoint()
            yield from bps.sleep(0.02)
            done.append(i)

    def fault():
        time.sleep(0.15)
        backend.set_setpoint_c(340.0)  # the controller runs away above the lab's 300 degC (+2)
        time.sleep(0.4)
        backend.set_setpoint_c(200.0)

    threading.Thread(target=fault, daemon=True).start()
    start = time.monotonic()
    try:
        run_engine(plan())
    finally:
        watch.stop()
    assert "suspending" in states and states.count("running") >= 2, states  # suspended, then running again
    assert done == list(range(30))  # resumed and finished
    assert time.monotonic() - start > 0.5  # it waited out the excursion
