"""Optical facts per quantum-dot material that spectrum analysis and the simulator share.

Ranges are from Nature Reviews Methods Primers 2025, Table 1 (REFERENCE.md section 3). The
volume-scaling absorbance (``absorbance_per_mM_cm``) is per mM of *formula units* in particles at
``yield_wavelength_nm``, where absorbance is nearly size-independent per unit volume:

- CdSe at 350 nm: intrinsic absorption coefficient ~1.5e5 cm^-1 (natural-log basis) and molar volume
  32.9 cm^3/mol give ~2.1 mM^-1 cm^-1 (consistent with Yu 2003 / Jasieniak 2009 extinction ratios).
- PbS at 400 nm: Moreels et al. 2009, eps_400 = 0.0233 d^3 uM^-1 cm^-1 per particle with
  10.0 d^3 formula units per particle (rho 7.6 g/cm3) -> 2.33 mM^-1 cm^-1.
- InP at 350 nm: ~2.0 mM^-1 cm^-1 (order of magnitude from the bulk absorption coefficient; uncertain).
- CsPbBr3 at 350 nm: ~8 mM^-1 cm^-1 (bulk absorption ~1.5e5 cm^-1, molar volume 127 cm^3/mol; uncertain).

So analysis computes yield = A(yield_wavelength) / (path_cm * absorbance_per_mM_cm * limiting_mM).
``excitation_nm`` is the PL excitation wavelength the simulated (and typical real) rig uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.errors import QdlabError

__all__ = ["MaterialOptics", "MATERIALS", "HC_EV_NM", "canonical_material", "get_optics"]

MATERIALS: tuple[str, ...] = ("CdSe", "PbS", "InP", "CsPbBr3")
"""The materials qdlab knows, in its one home (sizing curves, optics, simulator calibrations, the CLI)."""

HC_EV_NM = 1239.84193
"""h c in eV nm: E (eV) = HC_EV_NM / lambda (nm)."""


def canonical_material(material: str) -> str:
    """'cdse' -> 'CdSe' etc. Raises ``QdlabError`` for an unknown material."""
    key = str(material).strip().lower()
    for name in MATERIALS:
        if name.lower() == key:
            return name
    raise QdlabError(
        f"unknown material {material!r}: choose one of {', '.join(MATERIALS)} (case-insensitive)"
    )


@dataclass(frozen=True)
class MaterialOptics:
    """What spectrum analysis needs to know about a material. Wavelengths in nm."""

    name: str
    emission_range_nm: tuple[float, float]
    """PL peak range real syntheses reach (REFERENCE.md section 3)."""
    fwhm_range_nm: tuple[float, float]
    """PL FWHM range of good syntheses (REFERENCE.md section 3)."""
    bulk_gap_nm: float
    bulk_gap_ev: float
    yield_wavelength_nm: float
    """High-energy wavelength where absorbance scales with particle volume."""
    absorbance_per_mM_cm: float
    """Decadic absorbance per cm per mM of formula units in particles, at ``yield_wavelength_nm``."""
    stokes_shift_mev: float
    """Typical PL Stokes shift (band edge minus PL peak) in meV; larger for smaller dots."""
    excitation_nm: float
    """PL excitation wavelength."""
    strong_confinement_below_nm: float
    typical_plqy_max: float

    @property
    def emission_range_ev(self) -> tuple[float, float]:
        lo, hi = self.emission_range_nm
        return HC_EV_NM / hi, HC_EV_NM / lo


_OPTICS = {
    "CdSe": MaterialOptics(
        name="CdSe",
        emission_range_nm=(430.0, 650.0),
        fwhm_range_nm=(20.0, 30.0),
        bulk_gap_nm=715.0,
        bulk_gap_ev=HC_EV_NM / 715.0,
        yield_wavelength_nm=350.0,
        absorbance_per_mM_cm=2.1,
        stokes_shift_mev=50.0,
        excitation_nm=365.0,
        strong_confinement_below_nm=6.0,
        typical_plqy_max=0.9,
    ),
    "PbS": MaterialOptics(
        name="PbS",
        emission_range_nm=(600.0, 3000.0),
        fwhm_range_nm=(100.0, 200.0),
        bulk_gap_nm=3000.0,
        bulk_gap_ev=0.41,
        yield_wavelength_nm=400.0,
        absorbance_per_mM_cm=2.33,
        stokes_shift_mev=90.0,
        excitation_nm=405.0,
        strong_confinement_below_nm=45.0,
        typical_plqy_max=0.8,
    ),
    "InP": MaterialOptics(
        name="InP",
        emission_range_nm=(480.0, 700.0),
        fwhm_range_nm=(35.0, 50.0),
        bulk_gap_nm=915.0,
        bulk_gap_ev=HC_EV_NM / 915.0,
        yield_wavelength_nm=350.0,
        absorbance_per_mM_cm=2.0,
        stokes_shift_mev=80.0,
        excitation_nm=365.0,
        strong_confinement_below_nm=14.0,
        typical_plqy_max=0.9,
    ),
    "CsPbBr3": MaterialOptics(
        name="CsPbBr3",
        emission_range_nm=(440.0, 520.0),
        fwhm_range_nm=(15.0, 25.0),
        bulk_gap_nm=525.0,
        bulk_gap_ev=2.36,
        yield_wavelength_nm=350.0,
        absorbance_per_mM_cm=8.0,
        stokes_shift_mev=30.0,
        excitation_nm=365.0,
        strong_confinement_below_nm=6.0,
        typical_plqy_max=0.95,
    ),
}


def get_optics(material: str) -> MaterialOptics:
    """The optical facts of ``material`` (case-insensitive: 'cdse', 'CdSe', ...)."""
    return _OPTICS[canonical_material(material)]
