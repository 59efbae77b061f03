"""Spectra -> figures of merit, from plain numpy arrays.

Absorbance: the first excitonic (band-edge) feature is located as the longest-wavelength significant
minimum of the smoothed second derivative (Savitzky-Golay), which is insensitive to the rising
scattering / interband continuum on its blue side; its position is refined by a parabola through
the three grid points around the minimum. The search runs on an energy axis with a smoothing window
in meV, because excitonic lines have a width in energy: a fixed window in nm is wide enough at 520 nm
and twenty times too narrow at 1300 nm, where it saw only noise (docs/adr/0008). "Significant" is
against the local noise of the second derivative (absorbance noise grows where little light is
transmitted), and when a PL peak is known the exciton is looked for only blue of it (the Stokes shift
is positive). The diameter follows from the material's sizing curve
(``models.sizing.diameter_nm``; REFERENCE.md section 2). Absorbance at the material's high-energy
"yield" wavelength scales with the amount of semiconductor (REFERENCE.md section 2, last bullet).

PL: smoothed peak (parabola-refined), full width at half maximum by linear interpolation of the
half-maximum crossings, integrated baseline-corrected counts (counts x nm).

Quality (docs/adr/0008): every measurement says which figures its spectra support. ``pl_snr`` is the PL
peak height over the per-pixel noise, ``abs_snr`` the prominence of the exciton's second-derivative dip
over its noise; ``quality`` is ``"ok"`` or the reasons, joined by ``","``, from :data:`QUALITY_REASONS`. A
figure the spectra cannot support is ``None``, never a number read from noise.

No function here returns NaN: figures that do not exist are ``None``.
"""

from __future__ import annotations

from typing import Any, TypedDict, cast

import numpy as np
from scipy import sparse
from scipy.signal import savgol_coeffs, savgol_filter

from models.errors import QdlabError
from models.numbers import finite_or_none
from models.outcomes import figure_names, quality_names
from models.sizing import HC_EV_NM

__all__ = [
    "AbsorbanceFigures",
    "PLFigures",
    "FiguresOfMerit",
    "analyze_absorbance",
    "analyze_pl",
    "figures_of_merit",
    "FIGURES_OF_MERIT",
    "QUALITY_OUTCOMES",
    "QUALITY_REASONS",
    "MIN_PL_SNR",
    "MIN_ABS_SNR",
]

#: Measurement-quality outcomes (docs/adr/0008): signal-to-noise of the PL peak and of the exciton, the
#: reasons a figure is missing or suspect, and the integration time (ms) each channel used.
QUALITY_OUTCOMES = quality_names()

#: Keys of the dict returned by :func:`figures_of_merit`: the figures of merit listed (with units) in
#: :data:`models.outcomes.FIGURES_OF_MERIT`, the one place to add one, and ``failure``.
FIGURES_OF_MERIT = (*figure_names(), "failure")

#: The words ``quality`` is made of: no_particles (no dots seen), saturated (detector clipped),
#: no_pl_peak (no emission above MIN_PL_SNR noise sigmas), no_pl_width (a half-maximum crossing beyond
#: the pixels), no_abs_peak (no exciton above MIN_ABS_SNR), no_diameter (band edge outside the sizing
#: curve), no_plqy (no absorbance at the excitation wavelength).
QUALITY_REASONS = (
    "no_particles",
    "saturated",
    "no_pl_peak",
    "no_pl_width",
    "no_abs_peak",
    "no_diameter",
    "no_plqy",
)


class AbsorbanceFigures(TypedDict):
    """What :func:`analyze_absorbance` returns (every key, always; None where a figure does not exist)."""

    abs_peak_nm: float | None
    diameter_nm: float | None
    abs_peak_od: float | None
    abs_at_yield: float | None
    abs_at_excitation: float | None
    abs_snr: float | None
    failure: str | None  # None or "no_particles"


class PLFigures(TypedDict):
    """What :func:`analyze_pl` returns (every key, always; None where a figure does not exist)."""

    pl_peak_nm: float | None
    pl_fwhm_nm: float | None
    pl_integrated_counts: float
    pl_max_counts: float | None
    pl_snr: float | None


#: What :func:`figures_of_merit` returns: every key of :data:`FIGURES_OF_MERIT`, in its order (a test
#: holds the two together; ``yield`` is a keyword, hence the functional form). ``quality`` is a word
#: once the function returns; ``failure`` None, ``"no_particles"`` or ``"saturated"``.
FiguresOfMerit = TypedDict(
    "FiguresOfMerit",
    {
        "abs_peak_nm": float | None,
        "diameter_nm": float | None,
        "pl_peak_nm": float | None,
        "pl_fwhm_nm": float | None,
        "plqy": float | None,
        "yield": float | None,
        "pl_snr": float | None,
        "abs_snr": float | None,
        "quality": str | None,
        "abs_integration_ms": float | None,
        "pl_integration_ms": float | None,
        "failure": str | None,
    },
)

MIN_PL_SNR = 8.0  # PL peak height over the per-pixel noise sigma below which there is no peak
MIN_ABS_SNR = 10.0  # exciton second-derivative depth over its noise below which there is no band edge
_ABS_SMOOTH_MEV = 100.0  # Savitzky-Golay window on the energy axis for the exciton search

_MIN_ABSORBANCE = 0.005  # below this the exciton is not distinguishable from a blank (OD)
_MIN_YIELD_ABSORBANCE = 0.02  # OD at the yield wavelength above which dots are present, exciton or not


def _uniform(wavelengths_nm: Any, values: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """Sort, drop non-finite points and resample onto a uniform grid (step = median spacing)."""
    wl = np.asarray(wavelengths_nm, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    if wl.shape != y.shape:
        raise ValueError(f"wavelengths ({wl.size}) and values ({y.size}) differ in length")
    ok = np.isfinite(wl) & np.isfinite(y)
    wl, y = wl[ok], y[ok]
    order = np.argsort(wl)
    wl, y = wl[order], y[order]
    if wl.size < 7:
        return wl, y, 1.0
    step = float(np.median(np.diff(wl)))
    if step <= 0:
        wl, idx = np.unique(wl, return_index=True)
        y = y[idx]
        step = float(np.median(np.diff(wl)))
    grid = np.arange(wl[0], wl[-1] + step / 2, step)
    return grid, np.interp(grid, wl, y), step


def _window(width_nm: float, step: float, n: int, poly: int) -> int:
    w = int(round(width_nm / step)) | 1  # odd
    w = max(w, poly + 3 if (poly + 3) % 2 else poly + 4)
    return min(w, n - 1 if (n - 1) % 2 else n - 2)


def _parabola(x: np.ndarray, y: np.ndarray, i: int) -> float:
    """Vertex of the parabola through points i-1, i, i+1 (x uniform)."""
    if i <= 0 or i >= len(y) - 1:
        return float(x[i])
    denom = y[i - 1] - 2 * y[i] + y[i + 1]
    if denom == 0:
        return float(x[i])
    shift = 0.5 * (y[i - 1] - y[i + 1]) / denom
    return float(x[i] + max(-1.0, min(1.0, shift)) * (x[1] - x[0]))


def _top_fit(
    x: np.ndarray, raw: np.ndarray, smooth: np.ndarray, i: int, level: float = 0.7
) -> tuple[float, float | None]:
    """Peak position and height from a least-squares parabola through the raw points of the top of a
    line (where the smoothed curve stays above ``level`` x its maximum, contiguous around ``i``).

    On a broad line the top few pixels are nearly flat and carry all the shot noise: the vertex of a
    3-point parabola there scatters by several nm, a fit through the top 30 % by a fraction of one.
    Falls back to the 3-point vertex (and no height) when the top holds fewer than 5 points or the fit
    is not a cap."""
    n = len(smooth)
    cut = level * smooth[i]
    lo = i
    while lo > 0 and smooth[lo - 1] >= cut:
        lo -= 1
    hi = i
    while hi < n - 1 and smooth[hi + 1] >= cut:
        hi += 1
    if hi - lo + 1 >= 5:
        xs = x[lo : hi + 1] - x[i]
        a, b, c0 = np.polyfit(xs, raw[lo : hi + 1], 2)
        if a < 0:
            v = -b / (2.0 * a)
            if xs[0] <= v <= xs[-1]:
                return float(x[i] + v), float(c0 - b * b / (4.0 * a))
    return _parabola(x, smooth, i), None


def _noise_sigma(y: np.ndarray, smooth: np.ndarray) -> float:
    resid = y - smooth
    return float(1.4826 * np.median(np.abs(resid - np.median(resid)))) or 1e-12


def _optics(material: str) -> Any:
    from models.materials import get_optics  # written beside this module; imported late on purpose

    return get_optics(material)


def _local_sigma(resid: np.ndarray, half: int) -> np.ndarray:
    """Robust noise sigma (MAD) of ``resid`` in a window of +-``half`` points around each point."""
    n = resid.size
    out = np.empty(n)
    step = max(1, half // 4)
    centres = np.arange(0, n, step)
    vals = np.empty(centres.size)
    for k, c in enumerate(centres):
        r = resid[max(0, c - half) : min(n, c + half + 1)]
        vals[k] = 1.4826 * np.median(np.abs(r - np.median(r)))
    out[:] = np.interp(np.arange(n), centres, vals)
    return np.maximum(out, 1e-12)


def _savgol(y: np.ndarray, window: int, poly: int, **kw: Any) -> np.ndarray:
    """``scipy.signal.savgol_filter`` as a float array (its stub's return type is a union)."""
    return np.asarray(savgol_filter(y, window, poly, **kw), dtype=float)


def _energy_axis(wl: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, sparse.csr_matrix]:
    """(energy grid, OD on the pixels in energy order, ``n x m`` linear interpolation pixels -> grid).

    Linear interpolation onto the energy axis as a matrix, so that the noise of each pixel can be
    carried through to the second derivative: interpolated points are correlated, and a noise
    estimated on them (where one blue pixel spans ten energy points) is far too small."""
    e_px = HC_EV_NM / wl[::-1]
    a_e = a[::-1]
    m = e_px.size
    n = max(64, 2 * m)  # finer than the pixels everywhere on a spectrometer's range
    e = np.linspace(e_px[0], e_px[-1], n)
    j = np.clip(np.searchsorted(e_px, e, side="right") - 1, 0, m - 2)
    w = (e - e_px[j]) / (e_px[j + 1] - e_px[j])
    interp = sparse.csr_matrix(
        (np.stack([1.0 - w, w], 1).ravel(), (np.repeat(np.arange(n), 2), np.stack([j, j + 1], 1).ravel())),
        shape=(n, m),
    )
    return e, a_e, interp


def _d2_noise(a_e: np.ndarray, interp: sparse.csr_matrix, n: int, win: int, de: float) -> np.ndarray:
    """Noise sigma of the smoothed second derivative at each energy point, from the per-pixel noise."""
    m = a_e.size
    half = win // 2
    coeffs = savgol_coeffs(win, 3, deriv=2, delta=de, use="dot")
    # pixels -> d2
    g = sparse.csr_matrix(
        sparse.diags(
            list(coeffs),
            offsets=np.arange(-half, half + 1),  # pyright: ignore[reportArgumentType] - takes a sequence
            shape=(n, n),
        )
        @ interp
    )
    # per-pixel noise: residual from a 7-pixel quadratic, rescaled for what that fit absorbs, local MAD
    k = min(7, m - 1 if (m - 1) % 2 else m - 2)
    resid = (a_e - _savgol(a_e, k, 2)) / np.sqrt(max(1e-6, 1.0 - savgol_coeffs(k, 2)[k // 2]))
    sigma_px = _local_sigma(resid, 25)
    return np.maximum(np.sqrt(g.power(2) @ sigma_px**2), 1e-300)


def _prominence(d2: np.ndarray, idx: np.ndarray, win: int) -> np.ndarray:
    """How far each dip of ``d2`` (at ``idx``) lies below the lower of the highest d2 on either side.

    A line is a dip of d2 between two rises (a Gaussian's d2 is +0.45 of its depth at +-1.7 sigma);
    a merely concave stretch of the continuum is negative d2 without the rises. So a dip's strength
    is its prominence, within 3 windows on either side."""
    n = d2.size
    reach = 3 * win
    prominence = np.zeros(n)
    for i in idx:
        left, right = d2[max(0, i - reach) : i + 1], d2[i : min(n, i + reach + 1)]
        prominence[i] = min(left.max(), right.max()) - d2[i] if d2[i] < 0 else 0.0
    return prominence


def _first_exciton(
    d2: np.ndarray, smooth: np.ndarray, idx: np.ndarray, snr: np.ndarray, prominence: np.ndarray
) -> int | None:
    """Index of the lowest-energy local minimum of d2 that stands out of the noise, carries real
    absorbance and is at least a tenth as prominent as the strongest such; None without one."""
    cand = [
        i
        for i in idx[1:-1]
        if d2[i] <= d2[i - 1] and d2[i] < d2[i + 1] and snr[i] > MIN_ABS_SNR and smooth[i] > _MIN_ABSORBANCE
    ]
    if not cand:
        return None
    strongest = max(prominence[i] for i in cand)
    cand = [i for i in cand if prominence[i] >= 0.1 * strongest]
    return min(cand)  # the lowest-energy (longest-wavelength) one is the first exciton


def _exciton(
    wl: np.ndarray, a: np.ndarray, search_nm: tuple[float, float], smooth_mev: float
) -> tuple[float | None, float | None, float | None]:
    """(band edge nm, its SNR, smoothed OD there) of the longest-wavelength significant minimum of
    the second derivative of absorbance on an energy axis; (None, best SNR seen, None) without one."""
    e, a_e, interp = _energy_axis(wl, a)
    n = e.size
    de = float(e[1] - e[0])
    y = np.asarray(interp @ a_e, dtype=float)
    win = _window(smooth_mev * 1e-3, de, n, 3)
    smooth = _savgol(y, win, 3)
    d2 = _savgol(y, win, 3, deriv=2, delta=de)
    d2_noise = _d2_noise(a_e, interp, n, win, de)
    edge = win // 2
    e_lo, e_hi = HC_EV_NM / search_nm[1], HC_EV_NM / search_nm[0]
    inside = (e >= e_lo) & (e <= e_hi)
    inside[:edge] = False
    inside[n - edge :] = False
    idx = np.flatnonzero(inside)
    if idx.size < 3:
        return None, None, None
    prominence = _prominence(d2, idx, win)
    snr = prominence / d2_noise
    best = float(max(0.0, snr[idx].max()))
    i = _first_exciton(d2, smooth, idx, snr, prominence)
    if i is None:
        return None, best, None
    peak_ev = _parabola(e, d2, i)
    return float(HC_EV_NM / peak_ev), float(snr[i]), finite_or_none(np.interp(peak_ev, e, smooth))


def _empty_absorbance() -> AbsorbanceFigures:
    """What :func:`analyze_absorbance` returns for a spectrum without dots."""
    return {
        "abs_peak_nm": None,
        "diameter_nm": None,
        "abs_peak_od": None,
        "abs_at_yield": None,
        "abs_at_excitation": None,
        "abs_snr": None,
        "failure": "no_particles",
    }


def _od_at(wl: np.ndarray, smooth: np.ndarray, x: float) -> float | None:
    """Smoothed OD at wavelength ``x``; None outside the data."""
    if not (wl[0] <= x <= wl[-1]):
        return None
    return finite_or_none(np.interp(x, wl, smooth))


def _diameter(material: str, peak: float) -> float | None:
    """The sizing curve's diameter at band edge ``peak``; None outside its validity range."""
    try:
        from models.sizing import diameter_nm

        return finite_or_none(diameter_nm(material, peak, out_of_range="raise"))
    except (QdlabError, ValueError, ArithmeticError):
        return None  # outside the sizing curve's validity range


def analyze_absorbance(
    wavelengths_nm: Any,
    absorbance: Any,
    material: str,
    *,
    smooth_nm: float = 21.0,
    smooth_mev: float = _ABS_SMOOTH_MEV,
    search_nm: tuple[float, float] | None = None,
) -> AbsorbanceFigures:
    """Band edge, diameter and yield absorbance of one absorbance spectrum.

    ``wavelengths_nm`` and ``absorbance`` are 1-D arrays of the same length (nm, OD).
    ``search_nm`` limits where the exciton is looked for (default: the material's emission range
    widened by 80 nm to the blue and 20 nm to the red, clipped to the data). ``smooth_nm`` smooths the
    OD read at the yield and excitation wavelengths, ``smooth_mev`` the exciton search (meV).

    Returns ``abs_peak_nm`` (nm or None), ``diameter_nm`` (nm or None), ``abs_at_yield`` (OD at the
    material's yield wavelength, or None), ``abs_at_excitation`` (OD at the PL excitation wavelength,
    or None), ``abs_peak_od`` (smoothed OD at the peak, or None), ``abs_snr`` (the exciton's
    second-derivative depth over its local noise; the best seen when below :data:`MIN_ABS_SNR`, None
    without data) and ``failure`` (None or ``"no_particles"``).
    """
    wl, a, step = _uniform(wavelengths_nm, absorbance)
    out = _empty_absorbance()
    if wl.size < 15 or wl[0] <= 0:
        return out
    optics = _optics(material)
    smooth = _savgol(a, _window(smooth_nm, step, wl.size, 3), 3)
    out["abs_at_yield"] = _od_at(wl, smooth, float(optics.yield_wavelength_nm))
    out["abs_at_excitation"] = _od_at(wl, smooth, float(optics.excitation_nm))
    if search_nm is None:
        lo, hi = optics.emission_range_nm
        search_nm = (float(lo) - 80.0, float(hi) + 20.0)
    peak, snr, od = _exciton(wl, a, search_nm, smooth_mev)
    out["abs_snr"] = finite_or_none(snr)
    if peak is None:
        # A broad ensemble can wash the exciton out while the dots are plainly there (absorbance at the
        # yield wavelength): that is a measurement without a band edge, not a failed synthesis.
        if out["abs_at_yield"] is not None and out["abs_at_yield"] > _MIN_YIELD_ABSORBANCE:
            out["failure"] = None
        return out
    out["abs_peak_nm"] = peak
    out["abs_peak_od"] = od
    out["failure"] = None
    out["diameter_nm"] = _diameter(material, peak)
    return out


def _pl_baseline(c: np.ndarray, smooth: np.ndarray) -> tuple[float, float]:
    """(baseline, per-pixel noise sigma) of a PL spectrum: the median of both ends, or the lower end's
    where they differ beyond their noise (emission, or trap emission, reaching one end)."""
    ends = max(3, c.size // 20)
    sigma = _noise_sigma(c, smooth)
    blue, red = float(np.median(c[:ends])), float(np.median(c[-ends:]))
    if abs(blue - red) > 5.0 * sigma / np.sqrt(ends):  # emission (or trap emission) reaches one end
        return min(blue, red), sigma
    return float(np.median(np.concatenate([c[:ends], c[-ends:]]))), sigma


def _fwhm(wl: np.ndarray, y: np.ndarray, i: int, height: float) -> float | None:
    """Full width at half ``height`` of the line at ``i`` (linear interpolation of the crossings);
    None when a crossing lies outside the spectrum."""
    half = 0.5 * height
    left = i
    while left > 0 and y[left] > half:
        left -= 1
    right = i
    while right < len(y) - 1 and y[right] > half:
        right += 1
    if y[left] > half or y[right] > half:
        return None
    xl = wl[left] + (half - y[left]) * (wl[left + 1] - wl[left]) / (y[left + 1] - y[left])
    xr = wl[right - 1] + (half - y[right - 1]) * (wl[right] - wl[right - 1]) / (y[right] - y[right - 1])
    return finite_or_none(xr - xl)


def analyze_pl(
    wavelengths_nm: Any,
    pl_counts: Any,
    *,
    smooth_nm: float = 4.0,
    min_snr: float = MIN_PL_SNR,
    search_nm: tuple[float, float] | None = None,
) -> PLFigures:
    """Peak, FWHM and integral of one (dark-subtracted) PL spectrum.

    ``wavelengths_nm`` and ``pl_counts`` are 1-D arrays of the same length (nm, counts); ``search_nm``
    limits where the peak is looked for (e.g. the material's emission range; default everywhere).
    Returns ``pl_peak_nm`` (nm), ``pl_fwhm_nm`` (nm), ``pl_integrated_counts`` (counts x nm, after
    subtracting the baseline: the median of both ends of the spectrum, or the lower end's where
    they differ beyond their noise, so emission reaching one end does not raise it), ``pl_max_counts`` and ``pl_snr`` (the smoothed peak height over
    the per-pixel noise sigma; None without data). Peak and width are None when the peak stands less
    than ``min_snr`` sigmas above the baseline, and the width is None when a half-maximum crossing lies
    outside the spectrum.
    """
    wl, c, step = _uniform(wavelengths_nm, pl_counts)
    out: PLFigures = {
        "pl_peak_nm": None,
        "pl_fwhm_nm": None,
        "pl_integrated_counts": 0.0,
        "pl_max_counts": None,
        "pl_snr": None,
    }
    if wl.size < 15:
        return out
    smooth = _savgol(c, _window(smooth_nm, step, wl.size, 3), 3)
    baseline, sigma = _pl_baseline(c, smooth)
    y = smooth - baseline
    out["pl_integrated_counts"] = float(max(0.0, np.trapezoid(c - baseline, wl)))
    out["pl_max_counts"] = finite_or_none(np.max(c))
    inside = (
        np.ones(wl.size, dtype=bool) if search_nm is None else (wl >= search_nm[0]) & (wl <= search_nm[1])
    )
    if not np.any(inside):
        return out
    i = int(np.flatnonzero(inside)[np.argmax(y[inside])])
    height = float(y[i])
    out["pl_snr"] = finite_or_none(max(0.0, height) / sigma)
    if height < min_snr * sigma or height <= 0:
        return out
    peak, top = _top_fit(wl, c - baseline, y, i)
    out["pl_peak_nm"] = peak
    out["pl_fwhm_nm"] = _fwhm(wl, y, i, top if top is not None and top > 0 else height)
    return out


def _exciton_window(optics: Any, pl: PLFigures) -> tuple[float, float]:
    """Where the exciton is looked for (nm): the material's emission range widened by 80 nm to the blue
    and 20 nm to the red, and, when there is a PL peak, near it.

    The band edge lies a Stokes shift blue of the emission: within 3 typical shifts plus half the
    line's width in energy (broad ensembles), and red of it by at most a quarter width. A second-
    derivative dip outside is a higher transition, a shoulder or noise, not the first exciton."""
    lo, hi = optics.emission_range_nm
    search = (float(lo) - 80.0, float(hi) + 20.0)
    if pl["pl_peak_nm"] is None:
        return search
    e_pl = HC_EV_NM / pl["pl_peak_nm"]
    fwhm_ev = e_pl * (pl["pl_fwhm_nm"] or 0.0) / pl["pl_peak_nm"]
    e_hi = e_pl + 3e-3 * float(optics.stokes_shift_mev) + 0.5 * fwhm_ev
    e_lo = max(e_pl - 0.25 * fwhm_ev, 1e-3)
    return (max(search[0], HC_EV_NM / e_hi), min(search[1], HC_EV_NM / e_lo))


def _missing_figures(pl: PLFigures, ab: AbsorbanceFigures) -> list[str]:
    """The quality reasons for a missing PL peak or width, band edge or diameter."""
    reasons = []
    if pl["pl_peak_nm"] is None:
        reasons.append("no_pl_peak")
    elif pl["pl_fwhm_nm"] is None:
        reasons.append("no_pl_width")
    if ab["abs_peak_nm"] is None:
        reasons.append("no_abs_peak")
    elif ab["diameter_nm"] is None:
        reasons.append("no_diameter")
    return reasons


def _plqy(
    integrated: float, a_exc: float | None, integration_ms: float, reference_counts_per_ms: float
) -> float | None:
    """Relative quantum yield in [0, 1] (see :func:`figures_of_merit`); None without absorbance at the
    excitation wavelength, integration time or reference."""
    if a_exc is not None and integration_ms > 0 and reference_counts_per_ms > 0:
        absorbed = 1.0 - 10.0 ** (-max(a_exc, 0.0))
        if absorbed > 1e-6:
            q = integrated / (integration_ms * absorbed * reference_counts_per_ms)
            return finite_or_none(min(1.0, max(0.0, q)))
    return None


def _measurement(
    pl: PLFigures,
    ab: AbsorbanceFigures,
    saturated: bool,
    integration_ms: float,
    abs_integration_ms: float | None,
) -> FiguresOfMerit:
    """The figures of merit, all None but the signal-to-noise ratios, integration times and failure."""
    out = cast(FiguresOfMerit, dict.fromkeys(FIGURES_OF_MERIT))  # the one key list, in its order
    out["pl_snr"] = pl["pl_snr"]
    out["abs_snr"] = ab["abs_snr"]
    out["pl_integration_ms"] = finite_or_none(integration_ms)
    out["abs_integration_ms"] = finite_or_none(abs_integration_ms)
    out["failure"] = "saturated" if saturated else ab["failure"]
    return out


def _yield_fraction(a_y: float | None, denom: float) -> float | None:
    """Fraction of the limiting precursor in dots, A(yield) / ``denom``, in [0, 1]; None without either."""
    if a_y is not None and denom > 0:
        return finite_or_none(min(1.0, max(0.0, a_y / denom)))
    return None


def figures_of_merit(
    wl_abs: Any,
    absorbance: Any,
    wl_pl: Any,
    pl_counts: Any,
    *,
    material: str,
    integration_ms: float,
    plqy_reference_counts_per_ms: float,
    path_length_cm: float,
    limiting_mM: float,
    saturated: bool = False,
    abs_integration_ms: float | None = None,
) -> FiguresOfMerit:
    """The figures of merit of one measurement (keys :data:`FIGURES_OF_MERIT`).

    - ``abs_peak_nm``, ``diameter_nm``: band edge and sizing-curve diameter (nm).
    - ``pl_peak_nm``, ``pl_fwhm_nm``: emission peak and linewidth (nm), the peak looked for in the
      material's emission range.
    - ``plqy``: relative quantum yield, integrated PL / (``integration_ms`` (the PL channel's) x
      absorbed fraction at the excitation wavelength, 1 - 10^-A, x ``plqy_reference_counts_per_ms``),
      clipped to [0, 1]; without a PL peak it is what was integrated (near 0: below detection), and
      ``quality`` says ``no_pl_peak``.
    - ``yield``: A(yield wavelength) / (``path_length_cm`` x absorbance_per_mM_cm x ``limiting_mM``),
      the fraction of the limiting precursor turned into dots, clipped to [0, 1].
    - ``failure``: None, ``"no_particles"`` (no excitonic feature or negligible absorbance) or
      ``"saturated"`` (the caller's detector-saturation flag; figures are still reported but are not
      to be trusted).
    - ``pl_snr``, ``abs_snr``: signal-to-noise of the PL peak and of the exciton; ``quality``: ``"ok"``
      or the reasons (:data:`QUALITY_REASONS`) joined by ``","``; ``pl_integration_ms`` and
      ``abs_integration_ms``: the integration times (ms) the spectra were taken with.

    Figures that do not exist are None; nothing is NaN.
    """
    optics = _optics(material)
    lo, hi = optics.emission_range_nm
    pl = analyze_pl(wl_pl, pl_counts, search_nm=(float(lo), float(hi)))
    ab = analyze_absorbance(wl_abs, absorbance, material, search_nm=_exciton_window(optics, pl))
    out = _measurement(pl, ab, saturated, integration_ms, abs_integration_ms)
    if ab["failure"] == "no_particles" and not saturated:
        out["quality"] = "no_particles"
        return out
    for key in ("abs_peak_nm", "diameter_nm"):
        out[key] = ab[key]
    for key in ("pl_peak_nm", "pl_fwhm_nm"):
        out[key] = pl[key]
    reasons = (["saturated"] if saturated else []) + _missing_figures(pl, ab)
    out["plqy"] = _plqy(
        pl["pl_integrated_counts"], ab["abs_at_excitation"], integration_ms, plqy_reference_counts_per_ms
    )
    if out["plqy"] is None:
        reasons.append("no_plqy")
    denom = path_length_cm * float(optics.absorbance_per_mM_cm) * limiting_mM
    out["yield"] = _yield_fraction(ab["abs_at_yield"], denom)
    out["quality"] = ",".join(reasons) or "ok"
    return out
