"""Nucleation and growth of quantum dots in a batch element, for many conditions at once.

Model (REFERENCE.md section 1):

- Precursor -> monomer, first order: dP/dt = -k P, k Arrhenius (exact solution used).
- Classical nucleation: J = A exp(-B / ln(S)^2), B = 16 pi gamma^3 v_m^2 / (3 (k_B T)^3),
  nuclei are born just above the critical radius r* = 2 gamma V_m / (R T ln S).
- Talapin et al. (J. Phys. Chem. B 105, 12278, 2001) growth with Gibbs-Thomson solubility:
  dr/dt = D V_m C_inf (S - exp(r_cap / r)) / (r + D / k_g), r_cap = 2 gamma V_m / (R T).
- Monomer mass balance: monomer = converted precursor - formula units in particles.

The size distribution is resolved as a sectional population balance with moving sections (the method
of characteristics): nuclei born at nearly the same radius share a section, every section's radius
follows the growth law. There is no numerical diffusion, so burst nucleation, size focusing
(diffusion-limited growth), defocusing and Ostwald ripening (sections below the critical size shrink
and dissolve, returning monomer) emerge from the equations.

Numerics (REFERENCE.md section 7):

- Exact mass balance. Each sub-step freezes the rate coefficients a_i = g0 / (r_i + delta) and
  b_i = exp(r_cap / r_i), so r_i'(S) = max(r_i + dt a_i (S - b_i), 0), and solves
  S C_inf = c + supply - sum_i n_i (4 pi / 3) (r_i'^3 - r_i^3) for S with the *exact* volume change
  of every section. The right-hand side is convex and increasing in S, so Newton's method converges
  monotonically (``kinetics_kernel._solve``). The monomer is then taken from the balance itself, so a
  section that dissolves within a step returns exactly what it held, whatever the solver tolerance.
  The coefficients are first taken at the step start, where one Newton step from the last S is the
  predictor (accumulated in the same pass over the sections), then (second order) at the mid radius
  of that predictor; the corrected balance takes one Newton step from the predictor in that pass,
  which stands when Newton's quadratic convergence puts the next correction (f'' / 2f' times its
  square) below the tolerance, and is iterated to it otherwise. Nuclei take their monomer from the same balance (at most
  half of the monomer above saturation per step, so monomer stays >= 0); nuclei too few for a
  section of their own are held as a count until they are, so the number nucleated does not depend
  on the step. particles + monomer - converted is tracked and returned (``mass_error``).
- Adaptive sub-steps, per condition, between the shared log-theta output points that carry outlet
  fluid: the next step follows from the last one's largest relative radius change (each section
  weighted by its share of the number or material, so a collapsing or freshly nucleated trickle does
  not set the step of the whole population), its change of ln(S + 0.1) and, while nucleation
  matters, its change of ln J; a step far beyond the tolerances is repeated shorter. ``resolution``
  divides all tolerances (the caller makes the output grid finer too).
- Sections: nuclei join the newest open section when their radius is within 1 % of it (number and
  volume conserved); every 32 steps sections holding a negligible number are pruned (their monomer
  returned), sections within 0.125 % in radius merged (number and volume conserved), and the live
  sections compacted, sorted by radius. Consolidating closes the open section, so the interval also
  sets how long one section collects nuclei: every 8 steps was as close to the 4x-finer reference on
  the convergence tests and further from it elsewhere (9 nm PL on a broad, Cd-poor CdSe line that 32
  puts within 5 nm), at 15 % more time.
- Compiled: the arithmetic lives in ``kinetics_kernel`` (numba, machine code cached on disk), one
  scalar loop per condition whose loops over sections are branch-free and free of library calls
  (exp and ln by polynomials exact to 1e-13), so the compiler vectorises them. A condition's result
  does not depend on the batch it is evaluated in. This module checks and packs the inputs.
- Outlet histogram: each section is deposited into the two neighbouring bins in ln d (cloud in cell,
  number conserving), so the histogram moves smoothly with the sizes; particles above the top edge
  are counted as overflow.

The flow reactor is treated as segregated flow: a fluid element that spends theta residence times in
the reactor is a batch reactor of age theta * tau, and the outlet distribution is the batch
distribution averaged over the residence-time distribution (tanks in series). The output grid is
logarithmic in theta, so every condition shares it and the RTD weights.

Units: radius nm, time s, concentration mol/m3 (= mM), number density 1/m3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammainc

__all__ = ["KineticArrays", "TimeGrid", "make_time_grid", "integrate_batch"]

_R = 8.314462618
_KB = 1.380649e-23
_NA = 6.02214076e23

# Per-step tolerances at resolution 1 (divided by ``resolution``).
_TOL_R = 0.035  # relative radius change (relative to max(r, half the volume-mean radius))
_TOL_S = 0.08  # change of ln(S + 0.1)
_TOL_J = 0.25  # change of ln J while the step's nuclei are > 1e-3 of all nuclei
_TOL_MERGE = 0.01  # nuclei join the open section if their radius is within this fraction of it
_EPS_MERGE = (
    0.00125  # sections whose ln r fall in the same cell of this width are merged (number and volume kept)
)
_CONSOLIDATE_EVERY = 32
_REJECT = 2.5  # a step whose tolerance ratio exceeds this is repeated with a shorter step
_SHRINK_SHARE = 0.05
_GROW_SHARE = 0.02
_W_MIN = 1e-8  # output points with a smaller RTD weight are not visited
# Newton on S: the monomer is taken from the balance itself, so mass is exact at any tolerance; S only
# sets the growth rates of the step.
_NEWTON_MAX = 30
_NEWTON_RTOL = 1e-8
_PRUNE_REL = 1e-10  # a section whose n (4 pi/3) (1 nm)^3 is below this fraction of the precursor is pruned


@dataclass(frozen=True)
class TimeGrid:
    """Shared dimensionless time grid (theta = t / tau) and RTD weights at each grid point."""

    theta: np.ndarray  # (M+1,), theta[0] = 0
    rtd_weight: np.ndarray  # (M+1,), sums to 1: fraction of outlet fluid with age ~ theta[j]
    n_tanks: float


def make_time_grid(n_tanks: float, n_steps: int = 150, theta_min: float = 2e-4) -> TimeGrid:
    """A log-spaced theta grid reaching far enough into the tanks-in-series RTD tail."""
    n = float(n_tanks)
    theta_max = 1.0 + 6.0 / np.sqrt(n)
    theta = np.concatenate([[0.0], np.geomspace(theta_min, theta_max, n_steps)])
    # Fraction of outlet fluid with age between the geometric midpoints around each grid point
    # (tanks in series: gamma distribution of shape n and mean 1).
    edges = np.concatenate([[0.0], np.sqrt(theta[1:-1] * theta[2:]), [np.inf]])
    cdf = np.ones_like(edges)
    fin = np.isfinite(edges)
    cdf[fin] = gammainc(n, n * edges[fin])
    w = np.concatenate([[0.0], np.diff(cdf)])
    w = np.maximum(w, 0.0)
    w /= w.sum()
    return TimeGrid(theta=theta, rtd_weight=w, n_tanks=n)


@dataclass
class KineticArrays:
    """Per-condition kinetic constants, each shape (N,)."""

    tau_s: np.ndarray
    p0: np.ndarray  # limiting precursor, formula units, mol/m3
    k_conv: np.ndarray  # 1/s
    c_inf: np.ndarray  # bulk solubility, mol/m3
    growth_g0: np.ndarray  # D V_m C_inf, nm^2/s
    delta_nm: np.ndarray  # D / k_g, nm
    r_cap_nm: np.ndarray  # 2 gamma V_m / (R T), nm
    nuc_b: np.ndarray  # classical nucleation barrier coefficient B (dimensionless)
    nuc_a: np.ndarray  # nucleation prefactor A, 1/(m3 s)
    vm_m3_mol: float


def integrate_batch(
    k: KineticArrays,
    grid: TimeGrid,
    hist_edges_nm: np.ndarray,
    *,
    r_min_nm: float = 0.15,
    resolution: float = 1.0,
) -> dict[str, np.ndarray]:
    """Integrate every condition over the theta grid; return the RTD-averaged outlet state.

    ``resolution`` divides the per-step tolerances (pass a grid with ``resolution`` times the output
    points as well); 1 is the default, 4 the convergence reference.

    Returns, each (N,) unless said, averaged over the outlet's residence-time distribution:

    - ``hist`` (N, n_bins): number density (1/m3) of particles per diameter bin (two-bin deposition in
      ln d); ``overflow``: number density above the top edge; ``overflow_frac``: its fraction of all
      particles.
    - ``yield``: formula units in particles / limiting precursor (not clipped; with exact mass balance
      it cannot exceed ``converted``); ``converted``: converted precursor / limiting precursor;
      ``monomer``: dissolved monomer / limiting precursor.
    - ``mass_error``: |particles + monomer - converted| / limiting precursor (the balance, tracked).
    - ``supersat_out``: supersaturation S = c / C_inf.
    - ``growth_nm_s``: volume-weighted mean dr/dt (nm/s) of the particles at the outlet, signed:
      negative means the ensemble is etching / ripening.
    - ``shrinking_mass_frac``: fraction of the particle material in sections shrinking at outlet age.
    - ``dissolved_frac``: fraction of nucleated particles that dissolved again (``ripened``: alias).
    - ``nucleated``: nuclei formed (1/m3).
    - ``substeps``: sub-steps taken (max over the conditions, as a float array of one value per row).
    """
    from simulators.chemistry import kinetics_kernel as kk  # numba: loaded on the first integration only

    n_cond = k.tau_s.size
    w_rtd = grid.rtd_weight
    mol_per_nm3 = 1e-27 / k.vm_m3_mol  # mol of formula units per nm3 of particle
    kv = 4.0 * np.pi / 3.0 * mol_per_nm3  # (mol/m3) per (1/m3 * nm3)
    res = max(float(resolution), 1e-3)
    edges = np.asarray(hist_edges_nm, dtype=float)
    n_bins = edges.size - 1
    ln_lo, ln_hi = np.log(edges[0]), np.log(edges[-1])
    ctl = np.zeros(kk.N_CTL)
    ctl[[kk.C_TOL_R, kk.C_TOL_S, kk.C_TOL_J, kk.C_TOL_MERGE, kk.C_EPS_MERGE]] = (
        np.array([_TOL_R, _TOL_S, _TOL_J, _TOL_MERGE, _EPS_MERGE]) / res
    )
    ctl[kk.C_R_MIN], ctl[kk.C_KV] = r_min_nm, kv
    ctl[kk.C_REJECT], ctl[kk.C_SHRINK_SHARE], ctl[kk.C_GROW_SHARE] = _REJECT, _SHRINK_SHARE, _GROW_SHARE
    ctl[kk.C_NEWTON_MAX], ctl[kk.C_RTOL] = _NEWTON_MAX, _NEWTON_RTOL
    ctl[kk.C_EVERY] = _CONSOLIDATE_EVERY
    ctl[kk.C_LN_LO], ctl[kk.C_LN_HI], ctl[kk.C_INV_DLN] = ln_lo, ln_hi, n_bins / (ln_hi - ln_lo)
    # output points: those of the grid that carry outlet fluid (the early log-theta points of a
    # tanks-in-series RTD carry none; the sub-steps there are set by the dynamics alone)
    keep_out = np.flatnonzero(w_rtd > _W_MIN)
    t_out, w_out = grid.theta[keep_out], w_rtd[keep_out]

    p0 = np.asarray(k.p0, dtype=float)

    def col(x):
        return np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=float), (n_cond,)))

    hist = np.zeros((n_cond, n_bins))
    out = np.zeros((n_cond, kk.N_ACC))
    kk.integrate_all(
        col(k.tau_s),
        col(p0),
        col(k.k_conv),
        col(k.c_inf),
        col(k.growth_g0),
        col(k.delta_nm),
        col(k.r_cap_nm),
        col(k.nuc_b),
        col(k.nuc_a),
        col(_PRUNE_REL * p0 / kv),
        t_out,
        w_out,
        ctl,
        hist,
        out,
    )
    acc = {
        name: out[:, i]
        for name, i in (
            ("vol", kk.A_VOL),
            ("conv", kk.A_CONV),
            ("mono", kk.A_MONO),
            ("s", kk.A_S),
            ("err", kk.A_ERR),
            ("gnum", kk.A_GNUM),
            ("shrink", kk.A_SHRINK),
            ("nuc", kk.A_NUC),
            ("dis", kk.A_DIS),
            ("over", kk.A_OVER),
            ("num", kk.A_NUM),
        )
    }
    steps_taken = out[:, kk.A_STEPS]

    p0s = np.where(p0 > 0, p0, 1.0)
    vol = acc["vol"]
    volsafe = np.where(vol > 0, vol, 1.0)
    dissolved_frac = np.where(acc["nuc"] > 0, acc["dis"] / np.where(acc["nuc"] > 0, acc["nuc"], 1.0), 0.0)
    return {
        "hist": hist,
        "overflow": acc["over"],
        "overflow_frac": np.where(
            acc["num"] > 0, acc["over"] / np.where(acc["num"] > 0, acc["num"], 1.0), 0.0
        ),
        "yield": np.where(p0 > 0, vol / p0s, 0.0),
        "converted": np.where(p0 > 0, acc["conv"] / p0s, 0.0),
        "monomer": np.where(p0 > 0, acc["mono"] / p0s, 0.0),
        "mass_error": np.where(p0 > 0, acc["err"] / p0s, 0.0),
        "supersat_out": acc["s"],
        "growth_nm_s": np.where(vol > 0, acc["gnum"] / volsafe, 0.0),
        "shrinking_mass_frac": np.where(vol > 0, acc["shrink"] / volsafe, 0.0),
        "dissolved_frac": dissolved_frac,
        "ripened": dissolved_frac,
        "nucleated": acc["nuc"],
        "substeps": steps_taken,
    }
