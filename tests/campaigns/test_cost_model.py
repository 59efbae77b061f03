"""The cost model (campaigns.cost): the plans' timings in closed form, the heater fitted from its settles."""

from __future__ import annotations

import json
import math

import pytest
import torch

from campaigns.conditions import SOLVENT, to_setpoints
from campaigns.cost import CostModel, efolds, fit_heater_rates

STOCKS = {"cd": 20.0, "se": 40.0, SOLVENT: 0.0}
VALUES = {"temperature": 280.0, "residence_time": 120.0, "conc_cd": 3.0, "ratio_se_cd": 1.5}


def _model(**over) -> CostModel:
    fields = dict(
        kind="chemical",
        fixed={},
        reactor_volume_ul=500.0,
        transfer_volume_ul=50.0,
        stocks_mM=STOCKS,
        residence_times=3.0,
        hold_s=25.0,
        tolerance_c=2.0,
        from_temperature_c=250.0,
        from_flows_ul_min={"cd": 30.0, "se": 20.0, SOLVENT: 50.0},
        heating_s=60.0,
        cooling_s=150.0,
        exponent=0.8,
    )
    return CostModel(**{**fields, **over})


def test_the_terms_follow_the_plans_at_the_set_points_to_setpoints_makes():
    model = _model()
    sp = to_setpoints(VALUES, kind="chemical", reactor_volume_ul=500.0, stocks_mM=STOCKS)
    t = model.terms(VALUES)
    assert t["heater_s"] == pytest.approx(25.0 + 60.0 * math.log(30.0 / 2.0))
    dead_s = 50.0 / sp.total_flow_ul_min * 60.0
    assert t["wait_s"] == pytest.approx(dead_s + 3.0 * 120.0)
    precursor = (
        50.0 * t["heater_s"] / 60.0 + (sp.flows_ul_min["cd"] + sp.flows_ul_min["se"]) * t["wait_s"] / 60.0
    )
    assert t["precursor_ul"] == pytest.approx(precursor)
    assert model.estimate(sp) == pytest.approx({k: float(v) for k, v in t.items()})
    assert model.hours(VALUES) == pytest.approx(t["seconds"] / 3600 + 0.1 * precursor / 1000)


def test_cooling_uses_its_own_rate_and_a_step_inside_the_tolerance_only_the_hold():
    model = _model()
    assert model.terms({**VALUES, "temperature": 220.0})["heater_s"] == pytest.approx(25 + 150 * math.log(15))
    assert model.terms({**VALUES, "temperature": 251.5})["heater_s"] == pytest.approx(25.0)


def test_the_same_formulas_on_tensors_and_their_gradient():
    model = _model()
    x = {k: torch.tensor([v, v * 1.1], dtype=torch.float64, requires_grad=True) for k, v in VALUES.items()}
    h = model.hours(x)
    assert float(h[0].detach()) == pytest.approx(model.hours(VALUES), rel=1e-12)
    h.sum().backward()
    assert float(x["residence_time"].grad[0]) > 0  # a longer residence time costs more


def test_a_flows_search_space():
    stocks = {"cd": 20.0, SOLVENT: 0.0}
    model = _model(kind="flows", stocks_mM=stocks, fixed={"flow_solvent": 40.0})
    values = {"temperature": 250.0, "flow_cd": 60.0}
    sp = to_setpoints(
        {**values, "flow_solvent": 40.0}, kind="flows", reactor_volume_ul=500.0, stocks_mM=stocks
    )
    assert model.terms(values)["wait_s"] == pytest.approx(50.0 / 100.0 * 60.0 + 3.0 * sp.residence_time_s)


def test_the_record_is_json_and_rebuilds_the_same_model():
    model = _model()
    again = CostModel.from_record(json.loads(json.dumps(model.as_record())))
    assert again == model and again.hours(VALUES) == model.hours(VALUES)


def _settle(from_c, to_c, tau, hold=25.0, poll=5.0):
    """What settle_heater waits for a first-order heater of time constant ``tau`` (polled)."""
    travel = tau * math.log(abs(to_c - from_c) / 2.0)
    return {"from_c": from_c, "to_c": to_c, "s": math.ceil(travel / poll) * poll + hold}


def test_the_heater_rates_move_from_the_prior_to_the_measured_heater():
    prior = fit_heater_rates([], prior_s=90.0, hold_s=25.0, tolerance_c=2.0)
    assert (prior.heating_s, prior.cooling_s, prior.n_heating, prior.n_cooling) == (90.0, 90.0, 0, 0)
    settles = [_settle(230 + 5 * (i % 7), 300 - 3 * (i % 5), 40.0) for i in range(20)]
    settles += [_settle(300 - 4 * (i % 5), 230 + 2 * (i % 9), 160.0) for i in range(20)]
    settles += [{"from_c": 250.0, "to_c": 251.0, "s": 999.0}, {"from_c": None, "to_c": 250.0, "s": 30.0}]
    rates = fit_heater_rates(settles, prior_s=90.0, hold_s=25.0, tolerance_c=2.0)
    assert (rates.n_heating, rates.n_cooling) == (20, 20)  # inside the tolerance, unreadable: skipped
    assert rates.heating_s == pytest.approx(40.0, rel=0.1) and rates.cooling_s == pytest.approx(
        160.0, rel=0.1
    )


def test_efolds():
    assert efolds(0.0, 2.0) == 0.0 and efolds(-1.9, 2.0) == 0.0
    assert efolds(20.0, 2.0) == pytest.approx(math.log(10.0))
