"""Chemical terms to pump flows through stocks and reactor volume (REFERENCE.md section 4)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.conditions import to_setpoints

STOCKS = {"cd": 20.0, "se": 20.0, "solvent": 0.0}


def _setpoints(conditions: dict, kind: str):
    """``conditions`` of ``kind`` as set points on a 250 uL reactor fed from STOCKS."""
    return to_setpoints(conditions, kind=kind, reactor_volume_ul=250, stocks_mM=STOCKS)


def test_residence_time_and_concentrations_give_flows():
    sp = _setpoints(
        {"temperature": 250, "residence_time": 120, "conc_cd": 2.0, "ratio_se_cd": 1.5}, "chemical"
    )
    assert sp.total_flow_ul_min == pytest.approx(125.0)  # 250 uL in 2 min
    assert sp.flows_ul_min == pytest.approx({"cd": 12.5, "se": 18.75, "solvent": 93.75})
    assert sp.concentrations_mM == pytest.approx({"cd": 2.0, "se": 3.0})


def test_flows_mode_derives_residence_time_and_concentrations():
    sp = _setpoints({"temperature": 250, "flow_cd": 10, "flow_se": 10, "flow_solvent": 30}, "flows")
    assert sp.residence_time_s == pytest.approx(300.0)
    assert sp.concentrations_mM == pytest.approx({"cd": 4.0, "se": 4.0})


def test_impossible_concentrations_are_refused():
    with pytest.raises(ValueError, match="more than the total flow"):
        _setpoints({"temperature": 250, "residence_time": 60, "conc_cd": 15, "ratio_se_cd": 1.0}, "chemical")
    with pytest.raises(ValueError, match="no pump in the lab holds reagent 'pb'"):
        _setpoints({"temperature": 250, "residence_time": 60, "conc_pb": 1}, "chemical")


@given(tau=st.floats(10, 3600), cd=st.floats(0.1, 6), ratio=st.floats(0.2, 2.0))
def test_round_trip_chemical_to_flows_to_chemical(tau, cd, ratio):
    sp = _setpoints(
        {"temperature": 250, "residence_time": tau, "conc_cd": cd, "ratio_se_cd": ratio}, "chemical"
    )
    back = _setpoints({"temperature": 250, **{f"flow_{r}": q for r, q in sp.flows_ul_min.items()}}, "flows")
    assert back.residence_time_s == pytest.approx(tau)
    assert back.concentrations_mM["cd"] == pytest.approx(cd)
    assert back.concentrations_mM["se"] == pytest.approx(cd * ratio)
    assert all(q >= 0 for q in sp.flows_ul_min.values())
