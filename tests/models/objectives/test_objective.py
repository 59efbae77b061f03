"""Objective specs: values, failures, reached, bad specs."""

from __future__ import annotations

import pytest

from models.errors import ConfigurationError
from models.objectives import MultiObjective, Objective, make_objective

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
        (
            {"terms": [{"outcome": "a", "goal": "minimize"}, {"outcome": "a", "goal": "maximize"}]},
            "objective.terms",
        ),
    ],
)
def test_bad_specs_name_the_key(spec, key):
    with pytest.raises(ConfigurationError) as e:
        Objective(spec)
    assert e.value.key == key


def test_within_band_term_is_flat_inside_and_linear_outside():
    obj = Objective(
        {
            "terms": [
                {"outcome": "pl", "within": [520.0, 530.0], "scale": 5.0},
                {"outcome": "pl", "goal": "minimize", "scale": 1000.0},
            ]
        }
    )
    assert obj.value({"pl": 525.0}) == pytest.approx(-0.525)
    assert obj.value({"pl": 535.0}) == pytest.approx(-1.0 - 0.535)
    assert obj.value({"pl": 510.0}) == pytest.approx(-2.0 - 0.510)
    with pytest.raises(ConfigurationError, match="within"):
        Objective({"terms": [{"outcome": "pl", "within": [530.0, 520.0]}]})


# ----- outcome names (issue 12, deliverable 4) -----

from models.outcomes import FIGURES_OF_MERIT, check_outcome_names, figure_names, outcome_references  # noqa: E402


def test_a_composites_reached_ranges_survive_in_a_multi_objective():
    multi = make_objective(
        [
            {"name": "plqy"},
            {
                "terms": [{"outcome": "pl_fwhm_nm", "goal": "minimize"}],
                "reached": {"pl_fwhm_nm": [0.0, 35.0]},
            },
        ]
    )
    assert multi.reached_ranges == {"pl_fwhm_nm": (0.0, 35.0)}
    assert multi.reached({"plqy": 0.5, "pl_fwhm_nm": 30.0}) and not multi.reached(
        {"plqy": 0.5, "pl_fwhm_nm": 40.0}
    )


def test_outcome_references_name_every_key_as_a_campaign_file_spells_it():
    refs = outcome_references(SPEC, [{"outcome": "yield", "op": ">=", "value": 0.1}])
    assert refs == [
        ("objective.terms[0].outcome", "pl_peak_nm"),
        ("objective.terms[1].outcome", "pl_fwhm_nm"),
        ("objective.terms[2].outcome", "plqy"),
        ("objective.reached.pl_peak_nm", "pl_peak_nm"),
        ("objective.reached.pl_fwhm_nm", "pl_fwhm_nm"),
        ("objective.reached.plqy", "plqy"),
        ("outcome_constraints[0].outcome", "yield"),
    ]
    multi = {"objectives": [{"name": "plqy", "reached": {"plqy": [0.3, 1]}}, {"name": "pl_fwhm_nm"}]}
    assert outcome_references(multi) == [
        ("objective.objectives[0].name", "plqy"),
        ("objective.objectives[0].reached.plqy", "plqy"),
        ("objective.objectives[1].name", "pl_fwhm_nm"),
    ]


def test_known_names_pass():
    check_outcome_names(SPEC)
    check_outcome_names(
        [{"name": "plqy"}, {"name": "pl_fwhm_nm", "goal": "minimize"}],
        [{"outcome": "pl_peak_nm", "op": ">=", "value": 510.0}],
    )
    check_outcome_names({"name": "loss"}, known=["loss"])


@pytest.mark.parametrize("where", ["term", "reached", "constraint", "multi"])
def test_an_unknown_outcome_name_is_a_configuration_error_with_the_allowed_names(where):
    spec, constraints, key = dict(SPEC), [], None
    if where == "term":
        spec["terms"] = [{**SPEC["terms"][0], "outcome": "pl_peak"}, *SPEC["terms"][1:]]
        key = "objective.terms[0].outcome"
    elif where == "reached":
        spec["reached"] = {**SPEC["reached"], "pl_peak": [520.0, 530.0]}
        key = "objective.reached.pl_peak"
    elif where == "constraint":
        constraints = [{"outcome": "pl_peak", "op": ">=", "value": 510.0}]
        key = "outcome_constraints[0].outcome"
    else:
        spec = [{"name": "plqy"}, {"name": "pl_peak", "goal": "minimize"}]
        key = "objective[1].name"
    with pytest.raises(ConfigurationError) as info:
        check_outcome_names(spec, constraints, source="c.toml")
    message = str(info.value)
    assert message.startswith(
        f"c.toml: {key}: unknown outcome 'pl_peak' (did you mean 'pl_peak_nm'?); known outcomes:"
    )
    for name in figure_names():
        assert name in message
    assert "pl_peak_nm [nm]" in message and "\n" not in message


def test_a_user_models_outcomes_replace_the_figures_of_merit():
    with pytest.raises(
        ConfigurationError, match=r"unknown outcome 'los' \(did you mean 'loss'\?\); known outcomes: loss$"
    ):
        check_outcome_names({"name": "los"}, known=["loss"])
    with pytest.raises(ConfigurationError, match="unknown outcome 'plqy'"):
        check_outcome_names({"name": "plqy"}, known=["loss"])


def test_the_figures_of_merit_have_one_home():
    import numpy as np

    from campaigns.outcomes import OUTCOME_KEYS, outcomes_device
    from models.analysis import FIGURES_OF_MERIT as ANALYSIS_KEYS
    from models.analysis import figures_of_merit

    assert ANALYSIS_KEYS == (*FIGURES_OF_MERIT, "failure")
    assert OUTCOME_KEYS[: len(FIGURES_OF_MERIT)] == tuple(FIGURES_OF_MERIT)
    wl = np.linspace(400.0, 700.0, 301)
    out = figures_of_merit(
        wl,
        np.zeros_like(wl),
        wl,
        np.zeros_like(wl),
        material="CdSe",
        integration_ms=100.0,
        plqy_reference_counts_per_ms=1.0,
        path_length_cm=1.0,
        limiting_mM=1.0,
    )
    assert tuple(out) == ANALYSIS_KEYS
    device = outcomes_device()
    for name, outcome in FIGURES_OF_MERIT.items():
        described = device.describe()[f"outcomes_{name}"]
        assert described.get("units") in ((outcome.unit or None), outcome.unit)
