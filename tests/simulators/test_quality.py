"""PLQY model (simulators/chemistry/quality.py): mechanisms, not a written-in optimum."""

import inspect

import numpy as np
import pytest

from models.materials import MATERIALS
from simulators.chemistry.parameters import load_params
from simulators.chemistry.quality import ligand_coverage, plqy, quality_params

D = np.geomspace(1.0, 12.0, 60)


def _params(material="CdSe"):
    p = load_params(material)
    return quality_params(p.quality, p.optics["plqy_max"])


def _one_size(d_nm, n=1):
    w = np.zeros((n, D.size))
    w[:, int(np.argmin(np.abs(D - d_nm)))] = 1.0
    return w


def _q(q, *, d=3.0, theta=1.0, g=0.0, shrink=0.0, diss=0.0):
    return float(
        plqy(
            q,
            d_nm=D,
            emitter_weight=_one_size(d),
            coverage=np.array([theta]),
            growth_nm_s=np.array([g]),
            shrinking_mass_frac=np.array([shrink]),
            dissolved_frac=np.array([diss]),
        )["plqy"][0]
    )


def test_plqy_does_not_read_the_campaign_variables():
    names = set(inspect.signature(plqy).parameters) | set(inspect.signature(ligand_coverage).parameters)
    for bad in ("temperature", "t_c", "t_k", "flow", "flows", "ratio", "tau", "residence_time"):
        assert not any(bad in n for n in names), names
    for material in MATERIALS:
        raw = load_params(material).quality
        assert not any(k.startswith(("t_", "temp", "ratio", "plqy_t", "plqy_ratio")) for k in raw), raw
        assert not any(k.startswith(("plqy_t_", "plqy_ratio")) for k in load_params(material).optics)


def test_langmuir_coverage_with_ligand_depletion():
    k = 5.0
    c = np.array([0.0, 0.1, 1.0, 3.0, 10.0])
    sig = np.full_like(c, 2.0)
    th = ligand_coverage(c, sig, k)
    assert th[0] == 0.0 and np.all(np.diff(th) > 0) and th[-1] < 1.0
    assert np.all(th * sig <= c + 1e-12)  # cannot bind more ligand than there is
    assert np.allclose(th / (1 - th), k * (c - th * sig), atol=1e-9)  # the isotherm itself
    assert ligand_coverage(1.0, 0.0, k) == pytest.approx(k / (1 + k))  # no depletion without sites


def test_coverage_is_asymmetric_and_saturating():
    # Chalcogen-rich outlet (no free metal): bare surface, dim. Metal excess: bright, saturating - the
    # benefit of twice the excess is smaller than the first excess: no optimum, just a plateau.
    q = _params()
    sig = 1.0
    cs = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    qs = np.array([_q(q, theta=float(ligand_coverage(c, sig, q.k_ads_per_mM))) for c in cs])
    assert np.all(np.diff(qs) > 0)
    assert qs[0] < 0.3 * qs[-1]
    slope = np.diff(qs) / np.diff(cs)
    assert np.all(np.diff(slope[2:]) < 0)  # beyond the surface sites: diminishing returns
    assert 0.9 * q.plqy_max < qs[-1] <= q.plqy_max


def test_surface_to_volume_growth_and_etching_lower_plqy():
    q = _params()
    assert _q(q, d=2.0, theta=0.5) < _q(q, d=4.0, theta=0.5) < _q(q, d=8.0, theta=0.5)
    assert _q(q, d=4.0, theta=1.0) == pytest.approx(q.plqy_max)  # perfect surface, quenched at rest
    assert _q(q, g=2 * q.g_ref_nm_s) < _q(q, g=0.5 * q.g_ref_nm_s) < _q(q)
    assert _q(q, g=-q.g_ref_nm_s) == _q(q)  # shrinking acts through the shrinking fraction, not g
    assert _q(q, shrink=0.5) < _q(q, shrink=0.1) < _q(q)
    assert _q(q, diss=0.5) < _q(q)


def test_ensemble_plqy_is_the_absorption_weighted_mean():
    q = _params()
    w = _one_size(2.0) + 3 * _one_size(6.0)
    a, b = _q(q, d=2.0, theta=0.3), _q(q, d=6.0, theta=0.3)
    m = plqy(
        q,
        d_nm=D,
        emitter_weight=w,
        coverage=np.array([0.3]),
        growth_nm_s=np.zeros(1),
        shrinking_mass_frac=np.zeros(1),
        dissolved_frac=np.zeros(1),
    )["plqy"][0]
    assert m == pytest.approx((a + 3 * b) / 4)
