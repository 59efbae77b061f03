"""What the simulated instrument reports, through the real plans and analysis, is the simulator's
noise-free truth for that world (its precursor lot), within the measurement noise.

The benchmark scores strategies on ``world.evaluate_true``; an optimiser only sees measurements.
Before this test the two disagreed systematically: measured PLQY was 0.44x the truth (the PL channel
summed counts over pixels while the analysis integrates over nanometres), and the truth's PL peak and
FWHM were moments of the energy distribution, several nm off the spectrum's maximum and half width.
"""

import pytest
from bluesky import RunEngine

from campaigns.conditions import to_setpoints
from campaigns.plans import calibrate, experiment
from campaigns.spec import ProtocolSpec
from lab.config.files import EXAMPLES, load_lab
from lab.run.rig_builder import build_rig

LAB = load_lab(EXAMPLES["lab"] / "sim-cdse.toml")
STOCKS = {p.reagent: p.stock for p in LAB.pumps.values()}
CONDITIONS = [
    {"temperature": 280.0, "residence_time": 105.0, "conc_cd": 4.0, "ratio_se_cd": 0.58},  # green, bright
    {"temperature": 300.0, "residence_time": 54.0, "conc_cd": 2.7, "ratio_se_cd": 0.87},
    {"temperature": 250.0, "residence_time": 360.0, "conc_cd": 2.4, "ratio_se_cd": 0.77},  # orange
]


@pytest.mark.parametrize("seed", [0, 1])
def test_measured_figures_agree_with_the_worlds_truth(seed):
    built = build_rig(LAB, material="CdSe", seed=seed)
    rig, world = built.rig, built.world
    rig.connect()
    re = RunEngine({}, context_managers=[])
    re(calibrate(rig, ProtocolSpec(), flush_flow_ul_min=LAB.reactor.volume / 2.0))
    for values in CONDITIONS:
        sp = to_setpoints(values, kind="chemical", reactor_volume_ul=LAB.reactor.volume, stocks_mM=STOCKS)
        measured = {}

        def plan(sp=sp, measured=measured):
            measured.update((yield from experiment(rig, sp, ProtocolSpec(), material="CdSe")))

        re(plan())
        truth = world.evaluate_true(
            {"temperature": sp.temperature_c, **{f"flow_{r}": q for r, q in sp.flows_ul_min.items()}}
        )
        assert measured["failure"] is None
        assert measured["pl_peak_nm"] == pytest.approx(truth["pl_peak_nm"], abs=2.0), values
        assert measured["pl_fwhm_nm"] == pytest.approx(truth["pl_fwhm_nm"], rel=0.1), values
        assert measured["plqy"] == pytest.approx(truth["plqy"], rel=0.1), values
