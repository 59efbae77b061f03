"""Objective specs: values, failures, reached, bad specs."""

from __future__ import annotations

import pytest

from models.errors import ConfigurationError
from models.objective import MultiObjective, Objective, make_objective

SPEC = {
    "goal": "maximize",
    "terms": [
        {"outcome": "pl_peak_nm", "target": 525.0, "scale": 10.0, "weight": 1.0},
        {"outcome": "pl_fwhm_nm", "goal": "minimize", "scale": 30.0},
        {"outcome": "plqy", "goal": "maximize", "scale": 0.5},
    ],
    "reached": {"pl_peak_nm": [520.0, 530.0], "pl_fwhm_nm": [0.0, 35.0], "plqy": [0.3, 1.0]},
}
GOOD = {"pl_peak_nm": 530.0, "pl_fwhm_nm": 30.0, "plqy": 0.4}


def test_composite_value_is_weighted_sum_of_utilities():
    obj = Objective(SPEC)
    assert obj.outcomes == ("pl_peak_nm", "pl_fwhm_nm", "plqy")
    assert obj.value(GOOD) == pytest.approx(-5 / 10 - 30 / 30 + 0.4 / 0.5)
    assert obj.utility(GOOD) == obj.value(GOOD)


def test_weights_scale_terms():
    spec = {"terms": [{"outcome": "a", "target": 0.0, "scale": 2.0, "weight": 3.0}]}
    assert Objective(spec).value({"a": -4.0}) == pytest.approx(-6.0)


@pytest.mark.parametrize(
    "row",
    [
        {**GOOD, "failure": "clog"},
        {"pl_peak_nm": 530.0, "plqy": 0.4},
        {**GOOD, "plqy": None},
        {**GOOD, "plqy": float("nan")},
    ],
    ids=["failure", "missing", "none", "nan"],
)
def test_value_is_none_for_failed_or_incomplete(row):
    assert Objective(SPEC).value(row) is None
    assert Objective(SPEC).reached(row) is False


def test_reached():
    obj = Objective(SPEC)
    assert obj.reached(GOOD)
    assert not obj.reached({**GOOD, "pl_peak_nm": 531.0})
    assert not obj.reached({**GOOD, "plqy": 0.2})


def test_simple_form():
    obj = Objective({"name": "loss", "goal": "minimize"})
    assert obj.outcomes == ("loss",)
    assert obj.value({"loss": 2.0}) == 2.0
    assert obj.utility({"loss": 2.0}) == -2.0
    assert obj.value({"loss": 2.0, "failure": "clog"}) is None
    assert not obj.reached({"loss": 0.0})


def test_list_makes_multi_objective():
    mo = make_objective([{"name": "a", "goal": "minimize"}, {"name": "b", "goal": "maximize", "ref": 0.0}])
    assert isinstance(mo, MultiObjective)
    assert mo.utilities({"a": 1.0, "b": 2.0}) == [-1.0, 2.0]
    assert mo.utilities({"a": 1.0}) is None


def test_composite_splits_into_terms():
    parts = Objective(SPEC).split()
    assert [p.name for p in parts] == ["pl_peak_nm", "pl_fwhm_nm", "plqy"]
    assert sum(p.utility(GOOD) for p in parts) == pytest.approx(Objective(SPEC).value(GOOD))


@pytest.mark.parametrize(
    "spec,key",
    [
        ({"goal": "maximize"}, "objective"),
        ({"name": "x", "goal": "up"}, "objective.goal"),
        ({"name": "x", "colour": 1}, "objective"),
        ({"terms": []}, "objective.terms"),
        ({"terms": [{"target": 1.0}]}, "objective.terms[0]"),
        ({"terms": [{"outcome": "a", "goal": "minimize", "scale": 0}]}, "objective.terms[0].scale"),
        ({"terms": [{"outcome": "a", "target": 1.0, "goal": "minimize"}]}, "objective.terms[0]"),
        ({"terms": [{"outcome": "a"}]}, "objective.terms[0].goal"),
        ({"terms": [{"outcome": "a", "goal": "minimize", "wieght": 2}]}, "objective.terms[0]"),
        ({"terms": [{"outcome": "a", "goal": "minimize"}], "goal": "minimize"}, "objective.goal"),
        ({"terms": [{"outcome": "a", "goal": "minimize"}], "reached": {"a": [2, 1]}}, "objective.reached.a"),
        ({"terms": [{"outcome": "a", "goal": "minimize"}, {"outcome": "a", "goal": "maximize"}]}, "objective.terms"),
    ],
)
def test_bad_specs_name_the_key(spec, key):
    with pytest.raises(ConfigurationError) as e:
        Objective(spec)
    assert e.value.key == key


def test_within_band_term_is_flat_inside_and_linear_outside():
    obj = Objective({"terms": [{"outcome": "pl", "within": [520.0, 530.0], "scale": 5.0},
                               {"outcome": "pl", "goal": "minimize", "scale": 1000.0}]})
    assert obj.value({"pl": 525.0}) == pytest.approx(-0.525)
    assert obj.value({"pl": 535.0}) == pytest.approx(-1.0 - 0.535)
    assert obj.value({"pl": 510.0}) == pytest.approx(-2.0 - 0.510)
    with pytest.raises(ConfigurationError, match="within"):
        Objective({"terms": [{"outcome": "pl", "within": [530.0, 520.0]}]})
