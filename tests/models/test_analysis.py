"""Spectrum analysis on synthetic spectra with noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.analysis import FIGURES_OF_MERIT, analyze_absorbance, analyze_pl, figures_of_merit
from tests.models.conftest import FOM_ARGS, WL

SIGMA_PER_FWHM = 1 / (2 * math.sqrt(2 * math.log(2)))


def gauss(wl, center, fwhm, height):
    s = fwhm * SIGMA_PER_FWHM
    return height * np.exp(-0.5 * ((wl - center) / s) ** 2)


def absorbance(center, *, height=0.2, noise=0.002, seed=0, continuum=0.8):
    rng = np.random.default_rng(seed)
    a = continuum * np.exp(-(WL - 350.0) / 60.0)  # scattering / interband continuum rising to the blue
    a = a + gauss(WL, center, 28.0, height) + gauss(WL, center - 60.0, 30.0, 0.8 * height)
    return a + rng.normal(0.0, noise, WL.size)


def pl(center, fwhm, *, height=5000.0, noise=40.0, baseline=100.0, seed=0):
    rng = np.random.default_rng(seed)
    return baseline + gauss(WL, center, fwhm, height) + rng.normal(0.0, noise, WL.size)


@pytest.mark.parametrize("center", [500.0, 540.0, 590.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_band_edge_within_1_nm_on_noisy_spectrum_with_continuum(center, seed):
    r = analyze_absorbance(WL, absorbance(center, seed=seed), "CdSe")
    assert r["failure"] is None
    assert r["abs_peak_nm"] == pytest.approx(center, abs=1.0)
    assert 1.5 < r["diameter_nm"] < 6.0
    assert r["abs_at_yield"] > 0


def test_diameter_grows_with_band_edge():
    ds = [analyze_absorbance(WL, absorbance(c), "CdSe")["diameter_nm"] for c in (500.0, 540.0, 590.0)]
    assert ds[0] < ds[1] < ds[2]


def test_blank_spectrum_is_no_particles():
    rng = np.random.default_rng(3)
    r = analyze_absorbance(WL, rng.normal(0.0, 0.002, WL.size), "CdSe")
    assert r["failure"] == "no_particles"
    assert r["abs_peak_nm"] is None and r["diameter_nm"] is None


def test_unsorted_input_and_nan_points_are_tolerated():
    a = absorbance(540.0)
    a[100] = np.nan
    order = np.random.default_rng(0).permutation(WL.size)
    r = analyze_absorbance(WL[order], a[order], "CdSe")
    assert r["abs_peak_nm"] == pytest.approx(540.0, abs=1.0)


@pytest.mark.parametrize("center,fwhm", [(525.0, 25.0), (560.0, 32.0), (480.0, 18.0)])
@pytest.mark.parametrize("seed", [0, 1])
def test_pl_peak_and_fwhm(center, fwhm, seed):
    r = analyze_pl(WL, pl(center, fwhm, seed=seed))
    assert r["pl_peak_nm"] == pytest.approx(center, abs=1.0)
    assert r["pl_fwhm_nm"] == pytest.approx(fwhm, rel=0.05)
    expected = 5000.0 * fwhm * SIGMA_PER_FWHM * math.sqrt(2 * math.pi)
    assert r["pl_integrated_counts"] == pytest.approx(expected, rel=0.05)


def test_pl_without_emission_has_no_peak():
    rng = np.random.default_rng(0)
    r = analyze_pl(WL, 100 + rng.normal(0, 40, WL.size))
    assert r["pl_peak_nm"] is None and r["pl_fwhm_nm"] is None


def test_pl_cut_at_the_edge_has_no_width():
    r = analyze_pl(WL, pl(795.0, 30.0))
    assert r["pl_fwhm_nm"] is None


def _fom(**kw):
    return {**FOM_ARGS, **kw}


def test_figures_of_merit_keys_values_and_no_nan():
    out = figures_of_merit(WL, absorbance(540.0), WL, pl(555.0, 28.0), **_fom())
    assert set(out) == set(FIGURES_OF_MERIT)
    assert out["failure"] is None
    assert out["abs_peak_nm"] == pytest.approx(540.0, abs=1.0)
    assert out["pl_peak_nm"] == pytest.approx(555.0, abs=1.0)
    assert 0.0 <= out["plqy"] <= 1.0
    assert 0.0 <= out["yield"] <= 1.0
    for v in out.values():
        assert not (isinstance(v, float) and math.isnan(v))


def test_plqy_and_yield_formulas():
    from models.materials import get_optics

    optics = get_optics("CdSe")
    a = absorbance(540.0, noise=0.0)
    p = pl(555.0, 28.0, noise=0.0, baseline=0.0)
    out = figures_of_merit(WL, a, WL, p, **_fom(plqy_reference_counts_per_ms=2000.0, limiting_mM=2.0))
    a_exc = np.interp(optics.excitation_nm, WL, a)
    integral = 5000.0 * 28.0 * SIGMA_PER_FWHM * math.sqrt(2 * math.pi)
    assert out["plqy"] == pytest.approx(integral / (100.0 * (1 - 10**-a_exc) * 2000.0), rel=0.02)
    a_y = np.interp(optics.yield_wavelength_nm, WL, a)
    assert out["yield"] == pytest.approx(min(1.0, a_y / (1.0 * optics.absorbance_per_mM_cm * 2.0)), rel=0.02)


def test_plqy_is_clipped_to_one():
    out = figures_of_merit(
        WL, absorbance(540.0), WL, pl(555.0, 28.0), **_fom(plqy_reference_counts_per_ms=1e-3)
    )
    assert out["plqy"] == 1.0


def test_no_particles_gives_none_figures():
    rng = np.random.default_rng(0)
    out = figures_of_merit(WL, rng.normal(0, 0.002, WL.size), WL, 100 + rng.normal(0, 40, WL.size), **_fom())
    assert out["failure"] == "no_particles"
    assert out["quality"] == "no_particles"
    figures = ("abs_peak_nm", "diameter_nm", "pl_peak_nm", "pl_fwhm_nm", "plqy", "yield")
    assert all(out[k] is None for k in figures)


def test_saturated_flag_is_reported():
    out = figures_of_merit(WL, absorbance(540.0), WL, pl(555.0, 28.0), **_fom(), saturated=True)
    assert out["failure"] == "saturated"


def test_washed_out_exciton_with_absorbing_dots_is_not_a_failure():
    """A polydisperse ensemble: no resolvable band edge, but the dots absorb and emit."""
    wl = np.linspace(350, 800, 900)
    absorbance = 0.6 * np.exp(-(wl - 350) / 90.0)  # smooth continuum, no exciton
    pl = 100 + 5000 * np.exp(-0.5 * ((wl - 548) / 30.0) ** 2)
    out = figures_of_merit(wl, absorbance, wl, pl, **_fom())
    assert out["failure"] is None
    assert out["abs_peak_nm"] is None
    assert abs(out["pl_peak_nm"] - 548) < 2
    assert out["plqy"] is not None and out["yield"] is not None


def test_pl_peak_of_a_broad_shot_noisy_line_scatters_well_under_a_nanometre():
    # ~850 counts at the top of a 37 nm line with shot noise: the top pixels are flat within the noise,
    # and the vertex of a 3-point parabola there scattered by ~2 nm (SD) in the simulated campaigns
    peaks, widths = [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        clean = 20.0 + gauss(WL, 524.3, 37.0, 850.0)
        counts = clean + rng.normal(0.0, 1.0, WL.size) * np.sqrt(clean + 25.0)
        out = analyze_pl(WL, counts)
        peaks.append(out["pl_peak_nm"])
        widths.append(out["pl_fwhm_nm"])
    assert abs(np.mean(peaks) - 524.3) < 0.3
    assert np.std(peaks) < 0.6
    assert abs(np.mean(widths) - 37.0) < 0.8 and np.std(widths) < 0.8


# ---------------------------------------------------------------- quality flags (docs/adr/0008)
from models.analysis import MIN_PL_SNR, QUALITY_REASONS  # noqa: E402

PBS_WL = np.linspace(350.0, 2600.0, 1024)  # the simulated PbS spectrometer's pixels


def _pbs_absorbance(center_nm, *, seed=0, height=0.05):
    """A PbS-like spectrum: continuum rising to the blue, a broad exciton of 100 meV FWHM at
    ``center_nm``, and shot noise that grows where little lamp light is transmitted."""
    from models.sizing import HC_EV_NM

    e = HC_EV_NM / PBS_WL
    e0 = HC_EV_NM / center_nm
    a = 0.12 * np.maximum(e - 0.41, 0.0) ** 1.5 + height * np.exp(-0.5 * ((e - e0) / (0.1 / 2.3548)) ** 2)
    i0 = 30000.0
    rng = np.random.default_rng(seed)
    return a + 0.434 * rng.normal(0.0, 1.0, a.size) * np.sqrt(2.0 / (i0 * 10**-a)) / np.sqrt(16)


def test_pure_noise_pl_is_flagged_not_a_number():
    rng = np.random.default_rng(7)
    out = figures_of_merit(WL, absorbance(540.0), WL, rng.normal(0.0, 15.0, WL.size), **_fom())
    assert out["pl_peak_nm"] is None and out["pl_fwhm_nm"] is None
    assert out["pl_snr"] is not None and out["pl_snr"] < MIN_PL_SNR
    assert "no_pl_peak" in out["quality"].split(",")
    assert set(out["quality"].split(",")) <= set(QUALITY_REASONS)


def test_good_spectra_are_ok_with_their_signal_to_noise():
    out = figures_of_merit(WL, absorbance(540.0), WL, pl(555.0, 28.0), **_fom(), abs_integration_ms=20.0)
    assert out["quality"] == "ok"
    assert out["pl_snr"] > 50 and out["abs_snr"] > 10
    assert out["pl_integration_ms"] == 100.0 and out["abs_integration_ms"] == 20.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_broad_swir_exciton_is_found_on_the_energy_axis(seed):
    """At 1250 nm a 100 meV exciton is 160 nm wide; a 21 nm smoothing window saw only noise there."""
    r = analyze_absorbance(PBS_WL, _pbs_absorbance(1250.0, seed=seed), "PbS")
    assert r["abs_peak_nm"] == pytest.approx(1250.0, abs=15.0)
    assert r["abs_snr"] >= 10


def test_pure_noise_absorbance_has_no_band_edge():
    rng = np.random.default_rng(4)
    a = 0.3 * np.exp(-(PBS_WL - 350.0) / 300.0) + rng.normal(0.0, 0.004, PBS_WL.size)
    r = analyze_absorbance(PBS_WL, a, "PbS")
    assert r["abs_peak_nm"] is None
    assert r["abs_snr"] < 10


def test_a_dip_red_of_the_emission_is_not_the_band_edge():
    """The "absorption 1573 nm with PL 883 nm" reading: the longest-wavelength dip of the second
    derivative was taken as the exciton even when it lay red of the emission."""
    a = absorbance(540.0, noise=0.0) + gauss(WL, 620.0, 25.0, 0.05)  # scatter / impurity feature
    out = figures_of_merit(WL, a, WL, pl(555.0, 28.0), **_fom())
    assert out["abs_peak_nm"] == pytest.approx(540.0, abs=1.5)
    assert out["abs_peak_nm"] < out["pl_peak_nm"]


def test_pl_peak_is_looked_for_in_the_materials_emission_range():
    """Scattered excitation (405 nm) is brighter than a weak SWIR line; the emission is the line."""
    counts = (
        20000.0 * np.exp(-0.5 * ((PBS_WL - 405.0) / 3.0) ** 2)
        + 3000.0 * np.exp(-0.5 * ((PBS_WL - 1300.0) / 150.0) ** 2)
        + np.random.default_rng(0).normal(0, 20, PBS_WL.size)
    )
    a = _pbs_absorbance(1200.0)
    out = figures_of_merit(PBS_WL, a, PBS_WL, counts, **_fom(material="PbS"))
    assert out["pl_peak_nm"] == pytest.approx(1300.0, abs=10.0)
