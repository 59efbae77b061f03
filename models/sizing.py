"""Sizing curves: band-edge (first excitonic absorption) wavelength <-> particle diameter.

Published empirical curves (REFERENCE.md section 2), each used only inside the range it was fitted on:

- CdSe: Yu, Qu, Guo, Peng, Chem. Mater. 15, 2854 (2003), d(lambda) polynomial (default), and
  Jasieniak, Smith, van Embden, Mulvaney, Califano, J. Phys. Chem. C 113, 19468 (2009) (``curve="jasieniak"``).
- PbS: Moreels et al., ACS Nano 3, 3023 (2009): E0 = 0.41 + 1 / (0.0252 d^2 + 0.283 d) eV. Its valid
  range is 2-15 nm; ``extrapolate`` continues the closed form itself (it tends to the bulk gap for large
  d and stays finite-slope for small d), not the 1/d^2 law used for the fitted polynomials, which
  overstates the gap of sub-2 nm PbS by 10-25 %. Sections below ~2 nm are clusters in the simulator.
- InP: Almeida et al., Nano Lett. 23, 8697 (2023): E_1s = 1.33 + 1.219 V^-0.251 eV, V in nm^3. The
  published fit is for tetrahedra; here ``diameter`` is the volume-equivalent sphere diameter
  (V = pi d^3 / 6). The curve is uncertain by ~0.1 eV (see REFERENCE.md).
- CsPbBr3: no agreed sizing polynomial. We use an effective-mass (Brus-type) model in the weak /
  intermediate confinement regime (exciton centre-of-mass confinement in a sphere):
  E = Eg + hbar^2 pi^2 / (2 M R^2), Eg = 2.36 eV (optical gap, ~525 nm), M = m_e + m_h = 0.15 + 0.14 m0
  (Protesescu et al., Nano Lett. 15, 3692 (2015)), R = d / 2. It reproduces their 4-12 nm sizes to
  ~10 nm of wavelength; treat it as a model, not data.

E (eV) = 1239.84 / lambda (nm). Diameters in nm, wavelengths in nm; functions accept floats or arrays
and return the same shape. numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from models.errors import QdlabError
from models.materials import HC_EV_NM, canonical_material  # re-exported: sizing's callers use them

__all__ = [
    "HC_EV_NM",
    "SizingRangeError",
    "band_edge_nm",
    "band_edge_ev",
    "diameter_nm",
    "valid_diameter_range_nm",
    "valid_band_edge_range_nm",
    "sizing_slope_ev_per_nm",
    "canonical_material",
]


OutOfRange = Literal["raise", "clamp", "extrapolate"]


class SizingRangeError(QdlabError, ValueError):
    """A diameter or wavelength lies outside the range a sizing curve was fitted on."""


@dataclass(frozen=True)
class _Curve:
    """A monotonic sizing curve tabulated for inversion. energy_ev(d) decreases with d."""

    energy_ev: Callable[[np.ndarray], np.ndarray]
    d_min: float
    d_max: float
    bulk_ev: float
    closed_form: bool = False
    """The curve is a physical closed form (not a fitted polynomial): ``extrapolate`` continues the formula
    itself instead of a 1/d^2 confinement law."""


def _yu(wl: np.ndarray) -> np.ndarray:
    return 1.6122e-9 * wl**4 - 2.6575e-6 * wl**3 + 1.6242e-3 * wl**2 - 0.4277 * wl + 41.57


def _jasieniak(wl: np.ndarray) -> np.ndarray:
    return 59.60816 - 0.54736 * wl + 1.8873e-3 * wl**2 - 2.85743e-6 * wl**3 + 1.62974e-9 * wl**4


def _poly_curve(d_of_lambda: Callable[[np.ndarray], np.ndarray], lam_lo: float, lam_hi: float):
    """Tabulate a d(lambda) polynomial on its monotonic fitted range; return E(d) by interpolation."""
    lam = np.linspace(lam_lo, lam_hi, 4001)
    d = d_of_lambda(lam)
    e = HC_EV_NM / lam

    def energy(dd: np.ndarray) -> np.ndarray:
        return np.interp(dd, d, e)

    return energy, float(d[0]), float(d[-1])


_cdse_yu_e, _yu_lo, _yu_hi = _poly_curve(_yu, 395.0, 655.0)  # d ~ 1.51 .. 8.2 nm
_cdse_ja_e, _ja_lo, _ja_hi = _poly_curve(_jasieniak, 410.0, 655.0)  # d ~ 1.56 .. 7.8 nm


def _pbs_e(d: np.ndarray) -> np.ndarray:
    return 0.41 + 1.0 / (0.0252 * d**2 + 0.283 * d)


def _inp_e(d: np.ndarray) -> np.ndarray:
    v = np.pi * d**3 / 6.0
    return 1.33 + 1.219 * v**-0.251


_HBAR2PI2_2M0_EV_NM2 = 0.37603  # hbar^2 pi^2 / (2 m0) in eV nm^2


def _cspbbr3_e(d: np.ndarray) -> np.ndarray:
    r = d / 2.0
    return 2.36 + _HBAR2PI2_2M0_EV_NM2 / (0.29 * r**2)


_CURVES: dict[str, _Curve] = {
    "CdSe": _Curve(_cdse_yu_e, _yu_lo, _yu_hi, HC_EV_NM / 715.0),
    "CdSe/jasieniak": _Curve(_cdse_ja_e, _ja_lo, _ja_hi, HC_EV_NM / 715.0),
    "PbS": _Curve(_pbs_e, 2.0, 15.0, 0.41, closed_form=True),
    "InP": _Curve(_inp_e, 1.0, 8.0, 1.33),
    "CsPbBr3": _Curve(_cspbbr3_e, 2.5, 20.0, 2.36),
}


def _curve(material: str, curve: str | None) -> _Curve:
    name = canonical_material(material)
    if curve is None or curve.lower() in ("default", "yu", "moreels", "almeida", "brus"):
        return _CURVES[name]
    if name == "CdSe" and curve.lower() == "jasieniak":
        return _CURVES["CdSe/jasieniak"]
    raise QdlabError(f"no sizing curve {curve!r} for {name}")


def valid_diameter_range_nm(material: str, curve: str | None = None) -> tuple[float, float]:
    """(d_min, d_max) in nm over which the sizing curve is used without extrapolation."""
    c = _curve(material, curve)
    return c.d_min, c.d_max


def valid_band_edge_range_nm(material: str, curve: str | None = None) -> tuple[float, float]:
    """(lambda_min, lambda_max) in nm of the band edge over the valid diameter range."""
    c = _curve(material, curve)
    e = c.energy_ev(np.array([c.d_min, c.d_max], dtype=float))
    return float(HC_EV_NM / e[0]), float(HC_EV_NM / e[1])


def _energy(c: _Curve, d: np.ndarray, out_of_range: OutOfRange, what: str) -> np.ndarray:
    if out_of_range == "raise":
        bad = (d < c.d_min * (1 - 1e-9)) | (d > c.d_max * (1 + 1e-9)) | ~np.isfinite(d)
        if np.any(bad):
            raise SizingRangeError(
                f"{what}: diameter {np.asarray(d)[bad].ravel()[0]:.3g} nm outside the sizing curve's "
                f"range {c.d_min:.2f}-{c.d_max:.2f} nm; pass out_of_range='clamp' or 'extrapolate'"
            )
    if out_of_range == "clamp":
        return c.energy_ev(np.clip(d, c.d_min, c.d_max))
    if out_of_range == "extrapolate" and c.closed_form:
        return c.energy_ev(np.maximum(d, 1e-3))
    dc = np.clip(d, c.d_min, c.d_max)
    e = c.energy_ev(dc)
    if out_of_range == "extrapolate":
        # Smooth continuation: confinement energy above bulk scales as 1/d^2 beyond either end.
        e_lo = c.energy_ev(np.array(c.d_min))
        e_hi = c.energy_ev(np.array(c.d_max))
        small = d < c.d_min
        large = d > c.d_max
        dsafe = np.maximum(d, 1e-3)
        e = np.where(small, c.bulk_ev + (e_lo - c.bulk_ev) * (c.d_min / dsafe) ** 2, e)
        e = np.where(large, c.bulk_ev + (e_hi - c.bulk_ev) * (c.d_max / dsafe) ** 2, e)
    return e


def band_edge_ev(
    material: str,
    diameter_nm: np.ndarray | float,
    *,
    curve: str | None = None,
    out_of_range: OutOfRange = "clamp",
) -> np.ndarray | float:
    """Band-edge (1S) energy in eV of particles of ``diameter_nm`` (nm)."""
    d = np.asarray(diameter_nm, dtype=float)
    e = _energy(_curve(material, curve), d, out_of_range, "band_edge_ev")
    return float(e) if np.ndim(e) == 0 else e


def band_edge_nm(
    material: str,
    diameter_nm: np.ndarray | float,
    *,
    curve: str | None = None,
    out_of_range: OutOfRange = "clamp",
) -> np.ndarray | float:
    """First excitonic absorption wavelength (nm) of particles of ``diameter_nm`` (nm).

    Outside the curve's fitted range: ``"clamp"`` (default) uses the nearest end, ``"raise"`` raises
    ``SizingRangeError``, ``"extrapolate"`` continues with a 1/d^2 confinement law (PbS: Moreels' closed
    form itself).
    """
    d = np.asarray(diameter_nm, dtype=float)
    e = _energy(_curve(material, curve), d, out_of_range, "band_edge_nm")
    lam = HC_EV_NM / e
    return float(lam) if np.ndim(lam) == 0 else lam


def diameter_nm(
    material: str,
    band_edge_nm: np.ndarray | float,
    *,
    curve: str | None = None,
    out_of_range: Literal["raise", "clamp"] = "clamp",
) -> np.ndarray | float:
    """Diameter (nm) whose band edge is ``band_edge_nm`` (nm), by numerical inversion of the curve.

    Outside the curve's range: ``"clamp"`` (default) returns the nearest end diameter, ``"raise"``
    raises ``SizingRangeError``.
    """
    c = _curve(material, curve)
    lam = np.asarray(band_edge_nm, dtype=float)
    d_tab = np.geomspace(c.d_min, c.d_max, 4001)
    lam_tab = HC_EV_NM / c.energy_ev(d_tab)  # increasing with d
    if out_of_range == "raise":
        bad = (lam < lam_tab[0] - 1e-6) | (lam > lam_tab[-1] + 1e-6) | ~np.isfinite(lam)
        if np.any(bad):
            raise SizingRangeError(
                f"band edge {np.asarray(lam)[bad].ravel()[0]:.4g} nm outside the {canonical_material(material)} "
                f"sizing curve's range {lam_tab[0]:.1f}-{lam_tab[-1]:.1f} nm"
            )
    d = np.interp(lam, lam_tab, d_tab)
    return float(d) if np.ndim(d) == 0 else d


def sizing_slope_ev_per_nm(material: str, diameter_nm: np.ndarray | float) -> np.ndarray | float:
    """|dE/dd| (eV/nm) of the sizing curve at ``diameter_nm`` (extrapolated outside the range)."""
    d = np.asarray(diameter_nm, dtype=float)
    h = 1e-3 * np.maximum(d, 0.1)
    c = _curve(material, None)
    s = np.abs(_energy(c, d + h, "extrapolate", "") - _energy(c, d - h, "extrapolate", "")) / (2 * h)
    return float(s) if np.ndim(s) == 0 else s
