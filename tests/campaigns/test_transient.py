"""Undoing the reactor (campaigns.transient): a trajectory's path, the assignment of a sample to the
conditions its fluid saw, and the thinning of a trajectory's samples, on hand-made inlet histories."""

import math

import pytest

from campaigns.transient import (
    MAX_ROWS_PER_TRAJECTORY,
    SPREAD_LIMIT,
    SPREAD_TOLERANCE,
    InletHistory,
    Trajectory,
    assign,
    thin,
    weight,
)

PARAMS = (
    {"name": "temperature", "low": 230.0, "high": 310.0, "log": False},
    {"name": "residence_time", "low": 30.0, "high": 600.0, "log": True},
    {"name": "conc_cd", "low": 1.0, "high": 6.0, "log": False},
)
STOCKS = {"cd": 20.0, "se": 20.0, "solvent": 0.0}
V_R, V_T = 250.0, 50.0
GEOMETRY = dict(
    reactor_volume_ul=V_R, transfer_volume_ul=V_T, rtd_tanks=10.0, stocks_mM=STOCKS, kind="chemical"
)


def flows_for(tau_s: float, conc_cd: float) -> dict[str, float]:
    total = V_R / tau_s * 60.0
    cd = conc_cd / STOCKS["cd"] * total
    return {"cd": cd, "se": 0.0, "solvent": total - cd}


def test_the_path_is_straight_in_the_unit_box_and_holds_its_end():
    a = {"temperature": 240.0, "residence_time": 30.0, "conc_cd": 1.0}
    b = {"temperature": 280.0, "residence_time": 120.0, "conc_cd": 5.0}
    path = Trajectory(PARAMS, (a, b), (100.0,), hold_s=50.0)
    assert path.duration_s == 150.0
    assert path.at(0.0) == pytest.approx(a)
    mid = path.at(50.0)
    assert mid["temperature"] == pytest.approx(260.0)
    assert mid["residence_time"] == pytest.approx(60.0)  # log-scaled: the geometric mean
    assert mid["conc_cd"] == pytest.approx(3.0)
    assert path.at(120.0) == pytest.approx(b) and path.at(1e6) == pytest.approx(b)
    assert Trajectory.of(path.as_dict()) == path


def test_a_trajectory_is_refused_without_legs_or_with_a_missing_parameter():
    a = {"temperature": 240.0, "residence_time": 30.0, "conc_cd": 1.0}
    with pytest.raises(ValueError, match="leg"):
        Trajectory(PARAMS, (a, a), ())
    with pytest.raises(ValueError, match="positive"):
        Trajectory(PARAMS, (a, a), (0.0,))
    with pytest.raises(ValueError, match="lacks conc_cd"):
        Trajectory(PARAMS, (a, {"temperature": 250.0, "residence_time": 40.0}), (10.0,))


def test_steady_flow_is_assigned_its_own_conditions_with_no_spread():
    history = InletHistory()
    history.record(0.0, flows_for(60.0, 3.0), 270.0)
    a = assign(history, 1000.0, parameters=PARAMS, **GEOMETRY)
    assert a.parameters == pytest.approx({"temperature": 270.0, "residence_time": 60.0, "conc_cd": 3.0})
    assert a.spread == pytest.approx(0.0, abs=1e-9) and a.weight == 1.0


def test_fluid_older_than_the_history_is_not_assigned():
    history = InletHistory()
    history.record(0.0, flows_for(60.0, 3.0), 270.0)
    # the cell sees fluid that entered the reactor 12 s (transfer) + up to ~2 tau before: at 60 s some
    # of it entered before the history began
    a = assign(history, 60.0, parameters=PARAMS, **GEOMETRY)
    assert a.parameters is None and a.weight == 0.0


def test_a_step_is_seen_after_the_dead_time_as_a_wide_mixture_then_as_the_new_conditions():
    history = InletHistory()
    history.record(0.0, flows_for(60.0, 2.0), 270.0)
    history.record(1000.0, flows_for(60.0, 5.0), 270.0)
    before = assign(history, 1000.0 + 12.0 - 1.0, parameters=PARAMS, **GEOMETRY)  # transfer: 12 s
    assert before.parameters["conc_cd"] == pytest.approx(2.0) and before.weight == 1.0
    during = assign(history, 1000.0 + 12.0 + 60.0, parameters=PARAMS, **GEOMETRY)
    assert 2.0 < during.parameters["conc_cd"] < 5.0
    assert during.spread > SPREAD_LIMIT and during.weight == 0.0  # half old, half new: dropped
    after = assign(history, 1000.0 + 12.0 + 4 * 60.0, parameters=PARAMS, **GEOMETRY)
    assert after.parameters["conc_cd"] == pytest.approx(5.0) and after.weight == 1.0


def test_a_slow_flow_ramp_is_assigned_the_conditions_of_a_residence_time_earlier():
    history = InletHistory()
    for k in range(400):  # tau from 60 s up, 0.25 s per 10 s step
        history.record(10.0 * k, flows_for(60.0 + 0.25 * k, 3.0), 270.0)
    t = 3000.0
    a = assign(history, t, parameters=PARAMS, **GEOMETRY)
    assert a.weight == 1.0 and a.spread < SPREAD_TOLERANCE
    tau_now = 60.0 + 0.25 * t / 10.0
    # the fluid in the cell entered the reactor about a dead time plus one residence time ago
    assert a.entered_s == pytest.approx(t - V_T / (V_R / tau_now) - tau_now, rel=0.05)
    assert a.parameters["residence_time"] < tau_now
    assert a.parameters["conc_cd"] == pytest.approx(3.0)


def test_the_coil_temperature_is_averaged_over_the_stay():
    history = InletHistory()
    history.record(0.0, flows_for(60.0, 3.0), 260.0)
    history.record(2000.0, flows_for(60.0, 3.0), 262.0)  # read 262 at 2000 s, linear in between
    a = assign(history, 2000.0, parameters=PARAMS, **GEOMETRY)
    assert 261.5 < a.parameters["temperature"] < 262.0


def test_weight_falls_from_the_tolerance_to_the_limit():
    assert weight(0.0) == weight(SPREAD_TOLERANCE) == 1.0
    assert weight(SPREAD_LIMIT) == 0.0 and weight(math.inf) == 0.0
    assert 0.0 < weight((SPREAD_TOLERANCE + SPREAD_LIMIT) / 2) < 1.0


def test_thinning_keeps_heavy_distinct_samples_evenly_along_the_path():
    rows = [
        {
            "temperature": 230.0 + 0.1 * k,
            "residence_time": 60.0,
            "conc_cd": 3.0,
            "pl_peak_nm": 500.0 + k,
            "weight": 1.0,
        }
        for k in range(800)
    ]
    rows[5]["weight"] = 0.2
    kept = thin(rows, PARAMS)
    assert len(kept) == MAX_ROWS_PER_TRAJECTORY
    assert all("weight" not in r for r in kept)
    assert kept[0]["temperature"] == 230.0 and kept[-1]["temperature"] == pytest.approx(
        230.0 + 0.1 * 799, abs=2
    )
    steps = [b["temperature"] - a["temperature"] for a, b in zip(kept, kept[1:])]
    assert max(steps) < 1.5 * min(steps)  # evenly spaced
    assert thin([dict(rows[0], weight=0.1)], PARAMS) == []


def test_a_coil_just_below_the_box_is_put_on_its_bound_and_one_far_outside_is_not_learnt():
    history = InletHistory()
    history.record(0.0, flows_for(60.0, 3.0), 229.5)  # a heater settled from below, within tolerance
    a = assign(history, 1000.0, parameters=PARAMS, **GEOMETRY)
    assert a.parameters is not None and a.parameters["temperature"] == 230.0
    cold = InletHistory()
    cold.record(0.0, flows_for(60.0, 3.0), 200.0)  # far below the 230 degC bound
    assert assign(cold, 1000.0, parameters=PARAMS, **GEOMETRY).parameters is None
