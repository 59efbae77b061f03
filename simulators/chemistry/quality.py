"""PLQY from the mechanisms the kinetic model resolves: a radiative / non-radiative rate competition.

Each dot section i (diameter d_i) has a quantum yield

    q_i = k_r / (k_r + k_0 + k_trap,i + k_grow + k_diss)            (sections not shrinking)

with k_r = 1 (rates are relative to the radiative rate) and

- ``k_0 = 1 / plqy_max - 1``: intrinsic non-radiative decay of a perfect dot (the material's ceiling).
- ``k_trap,i = k_surf (d_ref / d_i) (1 - theta)``: dangling-bond surface traps. Their number per exciton
  scales with the surface-to-volume ratio 6 / d; a fraction ``theta`` of the surface sites is passivated
  by the free metal (Z-type metal-carboxylate) ligand left in solution at the outlet, so chalcogen-rich
  surfaces without free metal are dim and metal-rich ones are bright (saturating, no optimum).
- ``theta``: Langmuir adsorption with ligand depletion. Free passivant c (mM) binds surface sites of
  concentration sigma (mM, from the size histogram: particle surface area x ``site_density_nm2``):
  theta / (1 - theta) = K (c - theta sigma). When the ligand is scarce (c < sigma) coverage is limited by
  stoichiometry; when it is in excess, theta -> K c / (1 + K c).
- ``k_grow = k_growth * max(g, 0) / g_ref``: dots still growing fast at the quench have disordered,
  defect-rich surfaces (adatoms, stacking faults). g is the volume-weighted mean dr/dt at the outlet.
- Sections shrinking at the outlet (Ostwald ripening, etching) have etched surfaces: a mass fraction
  ``f_shrink`` of the emitters gets the extra rate ``k_etch``.
- ``k_diss = k_dissolved * f_dissolved``: an ensemble whose population partly re-dissolved went through
  an etching phase (fraction of nucleated particles that re-dissolved).

Together the last two reproduce the "bright point" of Talapin et al. (J. Phys. Chem. B 106, 12659, 2002):
PLQY is highest when growth has slowed but ripening has not started, low during fast growth and low once
the ensemble ripens. Nothing here reads the temperature, the flows or the metal:chalcogen ratio: they act
through the chemistry (conversion, growth rate, ripening, free ligand, size).

The ensemble PLQY is the mean of q_i weighted by the light each section absorbs at the excitation
wavelength (~ its volume), the same weighting as the PL spectrum.

Calibration functions (named as such in docs/simulator.md): the rate constants ``k_surf``, ``k_growth``,
``k_etch``, ``k_dissolved`` and the Langmuir constant ``k_ads_per_mM`` are chosen per material so that
PLQY lands in REFERENCE.md section 3 ranges; their functional forms are the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["QualityParams", "quality_params", "ligand_coverage", "surface_sites_mM", "plqy"]

_NA = 6.02214076e23


@dataclass(frozen=True)
class QualityParams:
    """Per-material constants of the PLQY model (``[quality]`` in the material's toml)."""

    plqy_max: float  # ceiling k_r / (k_r + k_0)
    passivant_role: (
        str  # stream role whose excess passivates the surface ("metal", or "chalcogen" for CsPbBr3's PbBr2)
    )
    site_density_nm2: float  # ligand binding sites per nm2 of particle surface
    k_ads_per_mM: float  # Langmuir constant K (1/mM)
    k_surf: float  # trap rate of a bare surface at d_ref, relative to k_r
    d_ref_nm: float
    k_growth: float  # rate at growth g_ref, relative to k_r
    g_ref_nm_s: float
    k_etch: float  # extra rate on sections shrinking at the outlet
    k_dissolved: float  # rate per fraction of nucleated particles that re-dissolved

    @property
    def k0(self) -> float:
        return 1.0 / self.plqy_max - 1.0


def quality_params(raw: Mapping[str, float | str], plqy_max: float) -> QualityParams:
    return QualityParams(
        plqy_max=float(plqy_max),
        passivant_role=str(raw.get("passivant_role", "metal")),
        site_density_nm2=float(raw["site_density_nm2"]),
        k_ads_per_mM=float(raw["k_ads_per_mM"]),
        k_surf=float(raw["k_surf"]),
        d_ref_nm=float(raw["d_ref_nm"]),
        k_growth=float(raw["k_growth"]),
        g_ref_nm_s=float(raw["g_ref_nm_s"]),
        k_etch=float(raw["k_etch"]),
        k_dissolved=float(raw["k_dissolved"]),
    )


def surface_sites_mM(hist: np.ndarray, d_nm: np.ndarray, site_density_nm2: float) -> np.ndarray:
    """Surface binding sites (mol/m3 = mM) of particles: hist (N, n_bins) number density 1/m3 per bin."""
    area_nm2_per_m3 = hist @ (np.pi * d_nm**2)
    return area_nm2_per_m3 * site_density_nm2 / _NA


def ligand_coverage(free_mM: np.ndarray, sites_mM: np.ndarray, k_ads_per_mM: float) -> np.ndarray:
    """Langmuir coverage with ligand depletion: theta / (1 - theta) = K (c - theta sigma), 0 <= theta <= 1.

    Root of K sigma theta^2 - (1 + K c + K sigma) theta + K c = 0 in [0, min(1, c / sigma)], in the form
    that stays accurate as sigma -> 0 (plain Langmuir K c / (1 + K c))."""
    c = np.maximum(np.asarray(free_mM, dtype=float), 0.0)
    s = np.maximum(np.asarray(sites_mM, dtype=float), 0.0)
    k = float(k_ads_per_mM)
    b = 1.0 + k * c + k * s
    disc = np.maximum(b * b - 4.0 * k * k * c * s, 0.0)
    return np.clip(2.0 * k * c / (b + np.sqrt(disc)), 0.0, 1.0)


def plqy(
    q: QualityParams,
    *,
    d_nm: np.ndarray,
    emitter_weight: np.ndarray,
    coverage: np.ndarray,
    growth_nm_s: np.ndarray,
    shrinking_mass_frac: np.ndarray,
    dissolved_frac: np.ndarray,
) -> dict[str, np.ndarray]:
    """Ensemble PLQY (N,) and its rate terms.

    ``d_nm`` (n_bins,) section diameters; ``emitter_weight`` (N, n_bins) light absorbed per section (dots
    only, ~ number x volume); ``coverage`` (N,) passivated fraction of surface sites; ``growth_nm_s``,
    ``shrinking_mass_frac``, ``dissolved_frac`` (N,) from the kinetics (RTD-weighted outlet values).
    Returns ``plqy`` and the ensemble-mean rates ``k_trap``, ``k_grow``, ``k_etch`` (relative to k_r).
    """
    w = np.asarray(emitter_weight, dtype=float)
    theta = np.asarray(coverage, dtype=float)[:, None]
    k_trap = q.k_surf * (q.d_ref_nm / np.asarray(d_nm, dtype=float))[None, :] * (1.0 - theta)  # (N, n_bins)
    k_grow = q.k_growth * np.maximum(np.nan_to_num(np.asarray(growth_nm_s, dtype=float)), 0.0) / q.g_ref_nm_s
    k_diss = q.k_dissolved * np.clip(np.nan_to_num(np.asarray(dissolved_frac, dtype=float)), 0.0, 1.0)
    f_s = np.clip(np.nan_to_num(np.asarray(shrinking_mass_frac, dtype=float)), 0.0, 1.0)[:, None]
    base = 1.0 + q.k0 + k_trap + (k_grow + k_diss)[:, None]
    q_i = (1.0 - f_s) / base + f_s / (base + q.k_etch)
    w_s = w.sum(axis=1)
    ok = w_s > 0
    w_n = np.where(ok, w_s, 1.0)
    return {
        "plqy": np.where(ok, (w * q_i).sum(axis=1) / w_n, 0.0),
        "k_trap": np.where(ok, (w * k_trap).sum(axis=1) / w_n, np.nan),
        "k_grow": k_grow,
        "k_etch": q.k_etch * f_s[:, 0],
    }
