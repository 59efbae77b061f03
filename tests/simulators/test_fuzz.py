"""Fuzzed conditions, bounds included: never NaN where a figure exists, never out of physical range."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulators
from models.materials import MATERIALS


@st.composite
def conditions(draw):
    material = draw(st.sampled_from(MATERIALS))
    cond = {}
    for d in simulators.describe(material):
        cond[d["name"]] = draw(
            st.one_of(st.sampled_from([d["low"], d["high"]]), st.floats(d["low"], d["high"]))
        )
    return material, cond


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions())
def test_figures_are_finite_and_physical(mc):
    material, cond = mc
    r = simulators.evaluate_true(material, cond)
    assert r["failure"] in (None, "clog", "no_particles")
    for k, v in r.items():
        if k != "failure" and v is not None:
            assert np.isfinite(v), k
    assert r["residence_time_s"] > 0
    if r["failure"] is None:
        assert r["diameter_nm"] > 0 and r["size_rsd"] >= 0
        assert 0.0 <= r["plqy"] <= 1.0
        assert 0.0 <= r["yield"] <= 1.0
        assert r["pl_fwhm_nm"] > 0 and r["pl_peak_nm"] > 0
    else:
        assert r["pl_peak_nm"] is None and r["plqy"] is None


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(MATERIALS), st.integers(0, 2**31 - 1))
def test_vectorised_matches_single_and_has_no_nan_where_ok(material, seed):
    rng = np.random.default_rng(seed)
    ds = simulators.describe(material)
    conds = {d["name"]: rng.uniform(d["low"], d["high"], 8) for d in ds}
    many = simulators.evaluate_many(material, conds)
    ok = many["failure"] == None  # noqa: E711
    for k in ("diameter_nm", "pl_peak_nm", "pl_fwhm_nm", "plqy", "yield"):
        assert np.all(np.isfinite(many[k][ok]))
    one = simulators.evaluate_true(material, {k: float(v[3]) for k, v in conds.items()})
    if one["pl_peak_nm"] is not None:
        assert one["pl_peak_nm"] == pytest_approx(many["pl_peak_nm"][3])


def pytest_approx(x):
    import pytest

    return pytest.approx(float(x), rel=1e-9)
