"""Spectra and optical figures of merit from a resolved size distribution.

- Band edge of each size section from the material's sizing curve (``models.sizing``), continued
  smoothly outside the fitted range for clusters and very large dots.
- Absorbance per formula unit: a 1S excitonic Gaussian (strength per particle ~ d^eps_exponent), two higher
  transitions, and a continuum whose value at the material's ``yield_wavelength_nm`` is the
  size-independent ``absorbance_per_mM_cm`` (volume scaling).
- PL: each section emits a Gaussian (homogeneous FWHM ``gamma_hom``) at its band edge minus the
  Stokes shift (a + b / d^2), weighted by the light it absorbs at the excitation wavelength (~volume),
  so the ensemble FWHM is about sqrt((2.355 sigma_E)^2 + Gamma_hom^2) (REFERENCE.md section 2).
- Trap emission: a broad band ``trap_shift_mev`` below the band-edge PL, growing as PLQY falls.
- The PL peak and FWHM figures are those of the noise-free band-edge emission spectrum on the
  spectrometer's pixels (maximum, and full width at half maximum), i.e. what a perfect instrument
  reports - not moments of the energy distribution, which a skewed size distribution moves by several
  nm (docs/adr/0006). Lines too broad for the pixels fall back to the moments.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from models.materials import get_optics
from models.sizing import HC_EV_NM, band_edge_ev
from simulators.chemistry.parameters import MaterialParams, load_params

__all__ = [
    "SizeBins",
    "size_bins",
    "figures_of_merit",
    "absorbance_per_mM_cm",
    "spectrometer_grid_nm",
    "pl_basis",
    "spectral_peak_fwhm",
]

# Diameter range of the outlet histogram. Wide enough that ripened populations at the pumps' slowest
# flows (residence ~15,000 s) stay inside; particles above the top are counted as overflow by the
# kinetics. All materials share the bin width in ln d (that of 160 bins over 0.6-14 nm).
_HIST_RANGE_NM = {"CdSe": (0.6, 24.0), "PbS": (0.8, 256.0), "InP": (0.6, 24.0), "CsPbBr3": (1.0, 256.0)}
_DLN_D = float(np.log(14.0 / 0.6) / 160)


@dataclass(frozen=True)
class SizeBins:
    """Diameter sections of the population balance's outlet histogram and their optical constants."""

    edges_nm: np.ndarray  # (n+1,)
    d_nm: np.ndarray  # (n,) geometric centres
    e_abs_ev: np.ndarray  # (n,) band-edge energy
    e_pl_ev: np.ndarray  # (n,) PL peak energy of a section
    vol_nm3: np.ndarray  # (n,)
    is_dot: np.ndarray  # (n,) bool: above the cluster size
    eps_weight: np.ndarray  # (n,) relative 1S absorption strength per particle


@functools.lru_cache(maxsize=None)
def size_bins(material: str) -> SizeBins:
    p = load_params(material)
    lo, hi = _HIST_RANGE_NM[p.name]
    n_bins = int(np.ceil(np.log(hi / lo) / _DLN_D - 1e-9))
    edges = lo * np.exp(_DLN_D * np.arange(n_bins + 1))
    d = np.sqrt(edges[:-1] * edges[1:])
    e_abs = np.asarray(band_edge_ev(p.name, d, out_of_range="extrapolate"))
    o = p.optics
    stokes = (o["stokes_a_mev"] + o["stokes_b_mev_nm2"] / d**2) * 1e-3
    return SizeBins(
        edges_nm=edges,
        d_nm=d,
        e_abs_ev=e_abs,
        e_pl_ev=e_abs - stokes,
        vol_nm3=np.pi / 6.0 * d**3,
        is_dot=d >= p.kinetics["cluster_diameter_nm"],
        eps_weight=d ** o["eps_exponent"],
    )


def _smooth_hist(p: MaterialParams, hist: np.ndarray) -> np.ndarray:
    """Convolve (N, n_bins) histograms with the intrinsic log-normal dispersion."""
    sig = float(p.kinetics["intrinsic_rsd"])
    b = size_bins(p.name)
    dln = np.log(b.edges_nm[1] / b.edges_nm[0])
    half = int(np.ceil(3 * sig / dln))
    if half < 1:
        return hist
    k = np.exp(-0.5 * (np.arange(-half, half + 1) * dln / sig) ** 2)
    k /= k.sum()
    out = np.zeros_like(hist)
    n = hist.shape[1]
    for i, kv in enumerate(k):
        s = i - half
        if s >= 0:
            out[:, s:] += kv * hist[:, : n - s]
        else:
            out[:, : n + s] += kv * hist[:, -s:]
    return out


def smooth_hist(material: str, hist: np.ndarray) -> np.ndarray:
    return _smooth_hist(load_params(material), np.atleast_2d(hist))


def figures_of_merit(material: str, hist: np.ndarray) -> dict[str, np.ndarray]:
    """Figures of merit from smoothed outlet histograms (N, n_bins) (number density 1/m3 per bin).

    Returns arrays (N,): ``n_dots`` (1/m3), ``diameter_nm`` (number mean of dots), ``size_rsd``,
    ``abs_peak_nm`` (eps_1S-weighted mean band edge), ``pl_peak_nm``, ``pl_fwhm_nm`` (band-edge PL).
    NaN where there are no dots.
    """
    p = load_params(material)
    b = size_bins(p.name)
    h = np.where(b.is_dot[None, :], hist, 0.0)
    n = h.sum(axis=1)
    ok = n > 0
    nn = np.where(ok, n, 1.0)
    d_mean = (h * b.d_nm).sum(axis=1) / nn
    d_var = np.maximum((h * b.d_nm**2).sum(axis=1) / nn - d_mean**2, 0.0)
    wa = h * b.eps_weight
    wa_s = np.maximum(wa.sum(axis=1), 1e-300)
    e_abs = (wa * b.e_abs_ev).sum(axis=1) / wa_s
    wp = h * b.vol_nm3
    wp_s = np.maximum(wp.sum(axis=1), 1e-300)
    e_pl = (wp * b.e_pl_ev).sum(axis=1) / wp_s
    e_var = np.maximum((wp * b.e_pl_ev**2).sum(axis=1) / wp_s - e_pl**2, 0.0)
    e_pl = np.where(ok, e_pl, 1.0)
    e_abs = np.where(ok, e_abs, 1.0)
    # what the instrument sees: maximum and half-maximum width of the emission spectrum; where a
    # half-maximum lies beyond the pixels (very broad lines), the Gaussian-equivalent moments
    wl, basis = pl_basis(p.name)
    pl_nm, fwhm_nm = spectral_peak_fwhm(wl, pl_spectra(p.name, wp))
    g_hom = p.optics["gamma_hom_mev"] * 1e-3
    fwhm_e = np.sqrt((2.3548 * np.sqrt(e_var)) ** 2 + g_hom**2)
    seen = np.isfinite(fwhm_nm)
    pl_nm = np.where(seen, pl_nm, HC_EV_NM / e_pl)
    fwhm_nm = np.where(
        seen, fwhm_nm, HC_EV_NM / np.maximum(e_pl - fwhm_e / 2, 0.05) - HC_EV_NM / (e_pl + fwhm_e / 2)
    )
    nan = np.nan
    return {
        "n_dots": n,
        "diameter_nm": np.where(ok, d_mean, nan),
        "size_rsd": np.where(ok, np.sqrt(d_var) / np.where(ok, d_mean, 1.0), nan),
        "abs_peak_nm": np.where(ok, HC_EV_NM / e_abs, nan),
        "pl_peak_nm": np.where(ok, pl_nm, nan),
        "pl_fwhm_nm": np.where(ok, fwhm_nm, nan),
        "e_pl_ev": np.where(ok, e_pl, nan),
    }


@functools.lru_cache(maxsize=None)
def pl_basis(material: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixel wavelengths and, per size section, its band-edge emission per nm on them
    (n_bins, n_pixels). A section holds a continuum of sizes, so it emits a Gaussian of FWHM
    ``gamma_hom`` (in energy) smeared uniformly over the section's range of PL energies - a difference
    of error functions - times |dE/dlambda|; its area is that of the bare Gaussian of peak 1. Drawing
    each section as one line at its centre instead paints ripples (a comb, for the smallest sections)
    that make the spectrum's half-maximum width jump as the distribution moves across sections."""
    from scipy.special import ndtr

    p = load_params(material)
    b = size_bins(p.name)
    wl = spectrometer_grid_nm(p.name).copy()
    e = HC_EV_NM / wl
    o = p.optics
    d_edges = b.edges_nm
    e_edges = (
        np.asarray(band_edge_ev(p.name, d_edges, out_of_range="extrapolate"))
        - (o["stokes_a_mev"] + o["stokes_b_mev_nm2"] / d_edges**2) * 1e-3
    )
    lo = np.minimum(e_edges[:-1], e_edges[1:])[:, None]
    hi = np.maximum(e_edges[:-1], e_edges[1:])[:, None]
    sig = o["gamma_hom_mev"] * 1e-3 / 2.3548
    width = np.maximum(hi - lo, 1e-9)
    smear = (ndtr((e[None, :] - lo) / sig) - ndtr((e[None, :] - hi) / sig)) / width
    basis = np.sqrt(2.0 * np.pi) * sig * smear * (HC_EV_NM / wl**2)[None, :]
    basis.setflags(write=False)
    wl.setflags(write=False)
    return wl, basis


@functools.lru_cache(maxsize=None)
def _pl_bands(material: str) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``pl_basis``, the pixels lo:hi outside which it is below 1e-15 of its maximum."""
    _, basis = pl_basis(material)
    on = basis > 1e-15 * basis.max(axis=1, keepdims=True)
    lo = np.argmax(on, axis=1)
    hi = basis.shape[1] - np.argmax(on[:, ::-1], axis=1)
    return lo.astype(np.int64), hi.astype(np.int64)


def pl_spectra(material: str, weights: np.ndarray) -> np.ndarray:
    """Band-edge emission spectra (N, n_pixels) of per-section weights (N, n_bins): ``weights @
    pl_basis`` over each section's band only (compiled: ``optics_kernel.banded_spectra``)."""
    from simulators.chemistry import optics_kernel  # numba: loaded on first use only

    _, basis = pl_basis(material)
    lo, hi = _pl_bands(material)
    w = np.ascontiguousarray(np.atleast_2d(weights), dtype=float)
    out = np.empty((w.shape[0], basis.shape[1]))
    optics_kernel.banded_spectra(w, np.ascontiguousarray(basis), lo, hi, out)
    return out


def spectral_peak_fwhm(wl: np.ndarray, spectra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak wavelength (parabola through the maximum pixel and its neighbours) and FWHM (linear
    interpolation of the half-maximum crossings on either side) of noise-free spectra (N, n_pixels).
    NaN where a spectrum is zero or a crossing lies outside the pixels (compiled:
    ``optics_kernel.peak_fwhm``)."""
    from simulators.chemistry import optics_kernel  # numba: loaded on first use only

    S = np.ascontiguousarray(np.atleast_2d(np.asarray(spectra, dtype=float)))
    peak, fwhm = np.empty(S.shape[0]), np.empty(S.shape[0])
    optics_kernel.peak_fwhm(np.ascontiguousarray(wl, dtype=float), S, peak, fwhm)
    return peak, fwhm


@functools.lru_cache(maxsize=None)
def spectrometer_grid_nm(material: str) -> np.ndarray:
    """Pixel wavelengths (nm) of the simulated spectrometer for ``material``."""
    s = load_params(material).spectrometer
    return np.linspace(float(s["min_nm"]), float(s["max_nm"]), int(s["n_pixels"]))


def _gauss(x: np.ndarray, mu: np.ndarray, fwhm: np.ndarray | float) -> np.ndarray:
    sig = np.asarray(fwhm) / 2.3548
    return np.exp(-0.5 * ((x - mu) / sig) ** 2)


def absorbance_per_mM_cm(material: str, wavelengths_nm: np.ndarray, d_nm: np.ndarray) -> np.ndarray:
    """Decadic absorbance per cm per mM of formula units, shape (len(d_nm), len(wavelengths_nm))."""
    p = load_params(material)
    opt = get_optics(p.name)
    o = p.optics
    e = HC_EV_NM / np.asarray(wavelengths_nm, dtype=float)[None, :]
    d = np.asarray(d_nm, dtype=float)[:, None]
    e1 = np.asarray(band_edge_ev(p.name, d, out_of_range="extrapolate"))
    eg = opt.bulk_gap_ev
    conf = np.maximum(e1 - eg, 0.0)
    e_y = HC_EV_NM / opt.yield_wavelength_nm
    # Continuum: rises linearly above the bulk gap, switched on above the band edge; equals 1 at the
    # yield wavelength for any size (volume scaling).
    onset = 1.0 / (1.0 + np.exp(-(e - e1 - 0.12) / 0.06))
    cont = onset * np.maximum(e - eg, 0.0) / max(e_y - eg, 1e-3)
    g_abs = o["gamma_abs_mev"] * 1e-3
    # 1S strength per particle ~ d^eps_exponent (CdSe d^2.65, Yu 2003; PbS d^1.3 at the band gap,
    # Moreels 2009), i.e. per formula unit ~ d^(eps_exponent - 3); the same weight as ``eps_weight``
    h1 = o["exciton_height"] * (d / 3.0) ** (o["eps_exponent"] - 3.0)
    peaks = h1 * _gauss(e, e1, g_abs)
    peaks = peaks + 0.6 * h1 * _gauss(e, e1 + 0.3 * conf + 0.05, 1.4 * g_abs)
    peaks = peaks + 0.8 * h1 * _gauss(e, e1 + 0.7 * conf + 0.15, 2.0 * g_abs)
    return opt.absorbance_per_mM_cm * (cont + peaks)
