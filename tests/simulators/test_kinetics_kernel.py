"""The compiled population-balance kernel: its polynomial exp and ln, and results that do not
depend on the batch a condition is evaluated in (to round-off: the optics after the kernel sum
over a batch in blocks)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy.stats import qmc

import simulators
from simulators.chemistry import kinetics_kernel as kk


@njit
def _apply_exp(x, out):
    for i in range(x.size):
        out[i] = kk._exp(x[i])


@njit
def _apply_log(x, out):
    for i in range(x.size):
        out[i] = kk._log(x[i])


def test_polynomial_exp_is_exact_to_round_off_on_its_range():
    x = np.concatenate([np.linspace(0.0, 50.0, 100_001), np.geomspace(1e-12, 50.0, 10_001)])
    out = np.empty_like(x)
    _apply_exp(x, out)
    assert np.max(np.abs(out / np.exp(x) - 1.0)) < 1e-12


def test_polynomial_log_is_exact_to_round_off_from_tiny_to_huge():
    x = np.concatenate([np.geomspace(1e-18, 1e18, 200_001), np.linspace(0.5, 2.0, 10_001)])
    out = np.empty_like(x)
    _apply_log(x, out)
    assert np.max(np.abs(out - np.log(x))) < 1e-12


@pytest.mark.parametrize("material", ["CdSe", "CsPbBr3"])
def test_a_condition_gives_the_same_result_alone_and_in_any_batch(material):
    table = simulators.describe(material)
    unit = qmc.Sobol(len(table), scramble=True, seed=11).random(16)
    conditions = {d["name"]: d["low"] + unit[:, i] * (d["high"] - d["low"]) for i, d in enumerate(table)}
    batch = simulators.evaluate_many(material, conditions)
    reversed_batch = simulators.evaluate_many(material, {k: v[::-1] for k, v in conditions.items()})
    for j in (0, 7, 15):
        alone = simulators.evaluate_many(material, {k: v[j : j + 1] for k, v in conditions.items()})
        for key in ("pl_peak_nm", "pl_fwhm_nm", "plqy", "yield", "dots_uM", "substeps"):
            a = np.asarray(alone[key], dtype=float)[0]
            assert np.asarray(batch[key], dtype=float)[j] == pytest.approx(
                a, rel=1e-12, abs=1e-300, nan_ok=True
            ), key
            assert np.asarray(reversed_batch[key], dtype=float)[15 - j] == pytest.approx(
                a, rel=1e-12, abs=1e-300, nan_ok=True
            )
