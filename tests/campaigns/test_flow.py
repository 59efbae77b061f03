"""The reactor's flow arithmetic (campaigns.flow): one home, checked against hand values and against the
places that use it (a plan's calibration flush, to_setpoints' residence time, the cost model)."""

import math

import pytest
import torch

from campaigns.conditions import to_setpoints
from campaigns.flow import (
    calibration_flush_s,
    dispensed_ul,
    fixed_wait_s,
    flow_for_transit_ul_min,
    transit_s,
)


def test_transit_and_its_inverse():
    # 100 uL at 200 uL/min: 30 s; 30 s through 100 uL needs 200 uL/min
    assert transit_s(100.0, 200.0) == pytest.approx(30.0)
    assert flow_for_transit_ul_min(100.0, 30.0) == pytest.approx(200.0)
    for v, q in [(5.0, 1.0), (250.0, 37.5), (1e3, 1e4)]:
        assert flow_for_transit_ul_min(v, transit_s(v, q)) == pytest.approx(q)


def test_dispensed_volume():
    assert dispensed_ul(60.0, 90.0) == pytest.approx(90.0)  # 1 uL/s for 90 s
    assert dispensed_ul(0.0, 1e6) == 0.0


def test_fixed_wait_is_dead_time_plus_residence_times():
    # transfer 20 uL at 100 uL/min = 12 s, plus 3 x 40 s
    assert fixed_wait_s(100.0, 40.0, transfer_volume_ul=20.0, residence_times=3.0) == pytest.approx(132.0)


def test_calibration_flush_at_least_one_volume():
    # (100 + 20) uL at 120 uL/min = 60 s; flush_residence_times below 1 still flushes one volume
    assert calibration_flush_s(100.0, 20.0, 120.0, 0.5) == pytest.approx(60.0)
    assert calibration_flush_s(100.0, 20.0, 120.0, 2.0) == pytest.approx(120.0)


def test_residence_time_round_trips_through_to_setpoints():
    sp = to_setpoints(
        {"temperature": 250.0, "residence_time": 45.0, "conc_cd": 2.0},
        kind="chemical",
        reactor_volume_ul=150.0,
        stocks_mM={"cd": 20.0, "solvent": 0.0},
    )
    assert sp.total_flow_ul_min == pytest.approx(flow_for_transit_ul_min(150.0, 45.0))
    assert transit_s(150.0, sp.total_flow_ul_min) == pytest.approx(45.0)


def test_tensors_keep_their_gradient():
    q = torch.tensor(100.0, requires_grad=True)
    wait = fixed_wait_s(q, transit_s(150.0, q), transfer_volume_ul=20.0, residence_times=3.0)
    wait.backward()
    # d/dq (20*60/q + 3*150*60/q) = -(1200 + 27000)/q^2
    assert q.grad is not None and math.isclose(float(q.grad), -(1200.0 + 27000.0) / 100.0**2, rel_tol=1e-6)
