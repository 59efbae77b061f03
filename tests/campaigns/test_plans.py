"""The experiment plan waits long enough: after a flow change it measures the new steady state,
where measuring after half a residence time would still see the old product."""

import pytest
from bluesky import RunEngine

import simulators
from campaigns.conditions import to_setpoints
from campaigns.plans import calibrate, experiment, steady_state_wait_s
from campaigns.spec import ProtocolSpec
from lab.config.files import EXAMPLES, load_lab
from lab.run.rig_builder import build_rig

LAB = load_lab(EXAMPLES["lab"] / "sim-cdse.toml")
STOCKS = {p.reagent: p.stock for p in LAB.pumps.values()}
SMALL = {"temperature": 270.0, "residence_time": 60.0, "conc_cd": 3.0, "ratio_se_cd": 1.0}
LARGE = {"temperature": 270.0, "residence_time": 400.0, "conc_cd": 3.0, "ratio_se_cd": 1.0}


def sp(values):
    return to_setpoints(values, kind="chemical", reactor_volume_ul=LAB.reactor.volume, stocks_mM=STOCKS)


def measure_after_switch(residence_times: float) -> dict:
    built = build_rig(LAB, material="CdSe", seed=3)
    rig = built.rig
    rig.connect()
    re = RunEngine({}, context_managers=[])
    re(calibrate(rig, ProtocolSpec(), flush_flow_ul_min=125.0))
    results = []

    def plan():
        first = yield from experiment(rig, sp(SMALL), ProtocolSpec(residence_times=3.0), material="CdSe")
        second = yield from experiment(
            rig, sp(LARGE), ProtocolSpec(residence_times=residence_times), material="CdSe"
        )
        results.extend([first, second])

    re(plan())
    return results[1]


def truth(values):
    s = sp(values)
    return simulators.evaluate_true(
        "CdSe", {"temperature": s.temperature_c, **{f"flow_{r}": q for r, q in s.flows_ul_min.items()}}
    )


def test_wait_is_dead_time_plus_residence_times():
    s = sp(LARGE)
    rig = build_rig(LAB, material="CdSe", seed=0).rig
    expected = LAB.reactor.transfer_volume / s.total_flow_ul_min * 60 + 3 * s.residence_time_s
    assert steady_state_wait_s(rig, s, ProtocolSpec(residence_times=3)) == pytest.approx(expected)


def test_plan_measures_the_new_steady_state_and_half_a_residence_time_would_not():
    old, new = truth(SMALL)["pl_peak_nm"], truth(LARGE)["pl_peak_nm"]
    assert new - old > 10  # the two conditions make visibly different dots
    settled = measure_after_switch(3.0)
    early = measure_after_switch(0.5)
    assert settled["pl_peak_nm"] == pytest.approx(new, abs=3.0)
    assert abs(early["pl_peak_nm"] - new) > 3 * abs(settled["pl_peak_nm"] - new) + 2.0
