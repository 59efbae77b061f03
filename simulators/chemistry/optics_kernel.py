"""The compiled peak and half-maximum width of noise-free spectra (``optics.spectral_peak_fwhm``).

One scalar pass per spectrum: the maximum pixel, a parabola through it and its neighbours, and a walk
outwards from the maximum to the first pixel at or below half of it on either side (numpy needs whole
(N, pixels) masks for the same). Imported lazily, like ``kinetics_kernel``: ``import simulators`` does
not load numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, error_model="numpy")
def peak_fwhm(wl, spectra, peak, fwhm):
    """Fill ``peak`` and ``fwhm`` (N,) from ``spectra`` (N, m) on pixels ``wl`` (m,): NaN where a
    spectrum is zero (both) or a half-maximum crossing lies outside the pixels (the width)."""
    n, m = spectra.shape
    for k in range(n):
        y = spectra[k]
        i = 0
        top = y[0]
        for p in range(1, m):
            if y[p] > top:
                top = y[p]
                i = p
        if not top > 0.0:
            peak[k] = np.nan
            fwhm[k] = np.nan
            continue
        j = min(max(i, 1), m - 2)
        y0, y1, y2 = y[j - 1], y[j], y[j + 1]
        den = y0 - 2.0 * y1 + y2
        shift = min(max(0.5 * (y0 - y2) / den, -1.0), 1.0) if den < 0.0 else 0.0
        peak[k] = wl[j] + shift * (wl[j + 1] - wl[j])
        half = 0.5 * top
        left = i - 1
        while left >= 0 and y[left] > half:
            left -= 1
        right = i + 1
        while right < m and y[right] > half:
            right += 1
        if left < 0 or right >= m:
            fwhm[k] = np.nan
            continue
        yl0, yl1 = y[left], y[left + 1]
        yr0, yr1 = y[right - 1], y[right]
        xl = wl[left] + (half - yl0) * (wl[left + 1] - wl[left]) / (yl1 - yl0 if yl1 != yl0 else 1.0)
        xr = wl[right - 1] + (half - yr0) * (wl[right] - wl[right - 1]) / (yr1 - yr0 if yr1 != yr0 else 1.0)
        fwhm[k] = xr - xl


@njit(cache=True, error_model="numpy")
def banded_spectra(weights, basis, lo, hi, out):
    """``out`` (N, m) = ``weights`` (N, n_bins) @ ``basis`` (n_bins, m), where row b of the basis is
    taken as zero outside pixels lo[b]:hi[b] (a section emits over a band of the pixels): a quarter of
    the dense product's work."""
    n, n_bins = weights.shape
    out[:] = 0.0
    for k in range(n):
        o = out[k]
        for b in range(n_bins):
            w = weights[k, b]
            if w == 0.0:
                continue
            row = basis[b]
            for p in range(lo[b], hi[b]):
                o[p] += w * row[p]
