"""Nucleation and growth of quantum dots in a batch element, vectorised over many conditions.

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
  monotonically (``_solve_step``). The monomer is then taken from the balance itself, so a section
  that dissolves within a step returns exactly what it held, whatever the solver tolerance. The
  coefficients are first taken at the step start, then (second order) at the mid radius of that
  first solve and the balance solved again. Nuclei take their monomer from the same balance (at most
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
  volume conserved); every few steps sections holding a negligible number are pruned (their monomer
  returned), sections within 0.125 % in radius merged (number and volume conserved), and the live
  sections compacted, padded to the largest count; finished conditions leave the working set.
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
_EPS_MERGE = 0.00125  # sections whose ln r fall in the same cell of this width are merged (number and volume kept)
_CONSOLIDATE_EVERY = 4
_REJECT = 2.5  # a step whose tolerance ratio exceeds this is repeated with a shorter step
_MIDPOINT = True
_SHRINK_SHARE = 0.05
_GROW_SHARE = 0.02
_W_MIN = 1e-12  # output points with a smaller RTD weight are not visited
# Newton on S: the monomer is taken from the balance itself, so mass is exact at any tolerance; S only
# sets the growth rates of the step.
_NEWTON_MAX = 30
_NEWTON_RTOL = 1e-8
_NEWTON_RTOL_PREDICT = 1e-4  # the first (predictor) solve only sets the mid radius
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


_ROW_CONST = ("tau", "p0", "kc", "cinf", "g0", "delta", "rcap", "nb", "na", "n_floor", "ids")
_ROW_STATE = ("pend", "c", "t", "conv", "nucleated", "dissolved", "jnext", "dt_ctrl", "open", "cnt", "r", "num")


class _Rows:
    """The working set: one row per unfinished condition (constants and state), compacted as
    conditions finish."""

    def __init__(self, **arrays: np.ndarray) -> None:
        self.__dict__.update(arrays)

    def keep(self, mask: np.ndarray) -> None:
        for name in _ROW_CONST + _ROW_STATE:
            setattr(self, name, getattr(self, name)[mask])


def _consolidate(rows: _Rows, kv: float, eps: float) -> None:
    """Prune sections holding a negligible number (their monomer goes back to the solution), merge
    the sections of each condition whose ln r fall into the same cell of width ``eps`` (number and
    particle volume conserved, so mass is exact), and compact the live sections to the left, sorted by
    radius. Closes the open nucleation section."""
    num, r = rows.num, rows.r
    tiny = (num > 0) & (num < rows.n_floor[:, None])
    if tiny.any():
        rows.c = rows.c + np.where(tiny, num * kv * r**3, 0.0).sum(axis=1)
        num = np.where(tiny, 0.0, num)
    live = num > 0
    nr, kw = num.shape
    key = np.where(live, np.floor(np.log(r) / eps), np.inf)
    order = np.argsort(key, axis=1, kind="stable")
    key = np.take_along_axis(key, order, axis=1)
    num = np.take_along_axis(num, order, axis=1)
    r = np.take_along_axis(r, order, axis=1)
    live = num > 0
    start = np.ones((nr, kw), dtype=bool)
    start[:, 1:] = key[:, 1:] != key[:, :-1]
    start &= live
    gi = np.cumsum(start, axis=1) - 1  # group of each live section
    ng = start.sum(axis=1)
    width = max(int(ng.max(initial=0)) + 2, 4)
    flat = (np.arange(nr)[:, None] * width + np.maximum(gi, 0))[live]
    n_new = np.bincount(flat, weights=num[live], minlength=nr * width).reshape(nr, width)
    v_new = np.bincount(flat, weights=(num * r**3)[live], minlength=nr * width).reshape(nr, width)
    ok = n_new > 0
    rows.num = n_new
    rows.r = np.where(ok, np.cbrt(v_new / np.where(ok, n_new, 1.0)), 1.0)
    rows.cnt = ng
    rows.open = np.full(nr, -1, dtype=np.int64)


def _regroup(groups: list[_Rows], rows_per_group: int = 192) -> list[_Rows]:
    """Pool the working sets (just after consolidation, so each row's sections are its first ``cnt``
    columns) and split them into groups of rows with similar section counts."""
    width = max(g.num.shape[1] for g in groups)
    parts = {}
    for name in _ROW_CONST + _ROW_STATE:
        vals = [getattr(g, name) for g in groups]
        if name in ("r", "num"):
            fill = 1.0 if name == "r" else 0.0
            vals = [np.pad(v, ((0, 0), (0, width - v.shape[1])), constant_values=fill) for v in vals]
        parts[name] = np.concatenate(vals)
    order = np.argsort(parts["cnt"], kind="stable")
    n = order.size
    n_groups = max(1, min(4, n // rows_per_group))
    out = []
    for chunk in np.array_split(order, n_groups):
        w = max(int(parts["cnt"][chunk].max(initial=0)) + 2, 4)
        fields = {name: parts[name][chunk] for name in parts}
        fields["r"] = fields["r"][:, :w]
        fields["num"] = fields["num"][:, :w]
        out.append(_Rows(**fields))
    return out


def _solve_step(r, nk, dta, b, cinf, base, v0sum, s_start=None, rtol=None):
    """Supersaturation S >= 0 of the exact monomer balance S cinf + g(S) = base, with
    g(S) = sum_i nk_i (max(r_i + dta_i (S - b_i), 0)^3 - r_i^3); returns S and the new radii.

    f(S) = S cinf + g(S) - base is convex and increasing, so Newton's method converges from any start
    (from the left it overshoots once, then descends monotonically); the linearised solution, used
    when no start is given, lies to the right of the root."""
    u = r - dta * b
    if s_start is None:
        w = 3.0 * nk * r * r * dta
        s = np.maximum((base + (w * b).sum(axis=1)) / (cinf + w.sum(axis=1)), 0.0)
    else:
        s = s_start
    nk3 = 3.0 * nk * dta
    rhs = v0sum + base
    done = np.zeros(s.shape, dtype=bool)
    for _ in range(_NEWTON_MAX):
        rp = np.maximum(u + dta * s[:, None], 0.0)
        rp2 = rp * rp
        f = s * cinf + (nk * rp2 * rp).sum(axis=1) - rhs
        fp = cinf + (nk3 * rp2).sum(axis=1)
        s_new = np.maximum(s - f / fp, 0.0)
        s_new = np.where(done, s, s_new)  # a converged row stays put: the result does not depend on the batch
        done = np.abs(s_new - s) <= (_NEWTON_RTOL if rtol is None else rtol) * np.maximum(s, 1e-300)
        s = s_new
        if done.all():
            break
    return s, np.maximum(u + dta * s[:, None], 0.0)


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
    n_cond = k.tau_s.size
    theta = grid.theta
    m = theta.size
    w_rtd = grid.rtd_weight
    mol_per_nm3 = 1e-27 / k.vm_m3_mol  # mol of formula units per nm3 of particle
    kv = 4.0 * np.pi / 3.0 * mol_per_nm3  # (mol/m3) per (1/m3 * nm3)
    res = max(float(resolution), 1e-3)
    tol_r, tol_s, tol_j, tol_merge = _TOL_R / res, _TOL_S / res, _TOL_J / res, _TOL_MERGE / res
    eps_merge = _EPS_MERGE / res

    edges = np.asarray(hist_edges_nm, dtype=float)
    n_bins = edges.size - 1
    ln_lo = np.log(edges[0])
    ln_hi = np.log(edges[-1])
    inv_dln = n_bins / (ln_hi - ln_lo)

    # outlet accumulators over all conditions
    hist_flat = np.zeros(n_cond * n_bins)
    acc = {name: np.zeros(n_cond) for name in
           ("vol", "conv", "mono", "s", "err", "gnum", "shrink", "nuc", "dis", "over", "num")}
    steps_taken = np.zeros(n_cond)
    # output points: those of the grid that carry outlet fluid (the early log-theta points of a
    # tanks-in-series RTD carry none; the sub-steps there are set by the dynamics alone)
    keep_out = np.flatnonzero(w_rtd > _W_MIN)
    t_out, w_out = theta[keep_out], w_rtd[keep_out]

    p0 = np.asarray(k.p0, dtype=float)
    go = (p0 > 0) & (k.tau_s > 0)
    idx = np.flatnonzero(go)
    k0 = 8
    rows = _Rows(
        tau=k.tau_s[idx].astype(float), p0=p0[idx], kc=k.k_conv[idx], cinf=k.c_inf[idx], g0=k.growth_g0[idx],
        delta=k.delta_nm[idx], rcap=k.r_cap_nm[idx], nb=k.nuc_b[idx], na=k.nuc_a[idx],
        n_floor=_PRUNE_REL * p0[idx] / kv, ids=idx,
        pend=np.zeros(idx.size), c=np.zeros(idx.size), t=np.zeros(idx.size), conv=np.zeros(idx.size), nucleated=np.zeros(idx.size),
        dissolved=np.zeros(idx.size), jnext=np.zeros(idx.size, dtype=np.int64),
        dt_ctrl=1e-3 * k.tau_s[idx].astype(float), open=np.full(idx.size, -1, dtype=np.int64),
        cnt=np.zeros(idx.size, dtype=np.int64), r=np.ones((idx.size, k0)), num=np.zeros((idx.size, k0)),
    )

    def advance(rows: _Rows) -> None:
        """One sub-step of every row of ``rows`` (a working set)."""
        nr = rows.ids.size
        ar = np.arange(nr)
        if rows.cnt.max(initial=0) >= rows.num.shape[1]:  # room for one new section per row
            extra = max(8, rows.num.shape[1] // 2)
            rows.num = np.concatenate([rows.num, np.zeros((nr, extra))], axis=1)
            rows.r = np.concatenate([rows.r, np.ones((nr, extra))], axis=1)
        t_next = t_out[rows.jnext] * rows.tau
        rem = t_next - rows.t
        dt = np.where(rem <= 1.25 * rows.dt_ctrl, rem, np.minimum(rows.dt_ctrl, 0.5 * rem))
        reached = dt >= rem
        t_new = np.where(reached, t_next, rows.t + dt)
        conv = rows.p0 * -np.expm1(-rows.kc * t_new)
        supply = conv - rows.conv

        r, num = rows.r, rows.num
        live = num > 0
        cinf = rows.cinf
        a = rows.g0[:, None] / (r + rows.delta[:, None])
        b = np.exp(np.minimum(rows.rcap[:, None] / r, 50.0))
        dta = dt[:, None] * a
        nk = num * kv
        v0 = nk * r**3
        v0sum = v0.sum(axis=1)
        c_old = rows.c
        s_old = c_old / cinf
        base = c_old + supply
        s, rp = _solve_step(r, nk, dta, b, cinf, base, v0sum, rtol=_NEWTON_RTOL_PREDICT)
        if _MIDPOINT:
            # second order: the coefficients at the step's mid radius, from the first solve
            r_mid = np.where(live, np.maximum(0.5 * (r + rp), 0.5 * r_min_nm), 1.0)
            a = rows.g0[:, None] / (r_mid + rows.delta[:, None])
            b = np.exp(np.minimum(rows.rcap[:, None] / r_mid, 50.0))
            dta = dt[:, None] * a
            s, rp = _solve_step(r, nk, dta, b, cinf, base, v0sum, s_start=s)
        rp = np.where(live, rp, 1.0)
        vp = nk * rp**3
        c = base - (vp.sum(axis=1) - v0sum)
        dissolved = rows.dissolved

        # sections that dissolved (or fell below the smallest radius) return exactly what they hold
        gone = live & (rp < r_min_nm)
        if gone.any():
            c = c + np.where(gone, vp, 0.0).sum(axis=1)
            dissolved = dissolved + np.where(gone, num, 0.0).sum(axis=1)
            num = np.where(gone, 0.0, num)
            rp = np.where(gone, 1.0, rp)
            vp = np.where(gone, 0.0, vp)
            live = live & ~gone
        c = np.maximum(c, 0.0)
        any_live = live.any(axis=1)

        # step-size control from this step's changes
        vsum = vp.sum(axis=1)
        r_mean = np.where(vsum > 0, (vp * rp).sum(axis=1) / np.where(vsum > 0, vsum, 1.0), 1.0)
        r_ref = np.maximum(r, 0.5 * r_mean[:, None])
        # a section counts in proportion to its share of the particles' number or material (up to
        # _SHARE): when a small one collapses, only the timing of the little monomer it returns is at
        # stake; a trickle of fresh nuclei does not set the step of the whole population
        vf = v0 * (1.0 / np.maximum(v0sum, 1e-300))[:, None]
        nf = num * (1.0 / np.maximum(num.sum(axis=1), 1e-300))[:, None]
        share = np.where(rp < r, np.minimum(vf * (1.0 / _SHRINK_SHARE), 1.0),
                         np.minimum(np.maximum(vf, nf) * (1.0 / _GROW_SHARE), 1.0))
        ratio_r = np.where(live, np.abs(rp - r) * share / r_ref, 0.0).max(axis=1)

        # nucleation at the new supersaturation, from the same balance
        ln_s = np.log(np.maximum(s, 1.0 + 1e-12))
        expo = np.minimum(rows.nb / (ln_s * ln_s), 700.0)
        jrate = np.where(s > 1.0 + 1e-9, rows.na * np.exp(-expo), 0.0)
        r_nuc = np.maximum(1.15 * rows.rcap / ln_s, 1.5 * r_min_nm)
        vn = kv * r_nuc**3
        dn_want = jrate * dt
        cap = 0.5 * np.maximum(c - cinf, 0.0) / vn
        dn = np.minimum(dn_want, cap)
        limit_ratio = np.where(dn_want > cap * 1.0000001, 3.0 * dn_want / np.maximum(cap, 1e-300), 0.0)
        # nuclei too few for a section of their own wait (as a count, their monomer not yet taken)
        # until they are: the number nucleated then does not depend on the step size
        pend = rows.pend + dn
        sig = pend > rows.n_floor
        dn = np.where(sig, np.minimum(pend, cap), 0.0)
        pend = np.where(sig, 0.0, pend)
        ratio_j = np.zeros(nr)
        nucleated, open_, cnt = rows.nucleated, rows.open, rows.cnt
        if sig.any():
            ln_s0 = np.log(np.maximum(s_old, 1.0 + 1e-12))
            expo0 = np.where(s_old > 1.0 + 1e-9, np.minimum(rows.nb / (ln_s0 * ln_s0), 700.0), 700.0)
            matters = sig & (dn > 1e-3 * (nucleated + dn))
            ratio_j = np.where(matters, np.abs(expo - expo0), 0.0)
            c = c - dn * vn
            nucleated = nucleated + dn
            num = num.copy()
            has_open = open_ >= 0
            oc = np.where(has_open, open_, 0)
            r_o = rp[ar, oc]
            n_o = num[ar, oc]
            merge = sig & has_open & (n_o > 0) & (np.abs(r_o - r_nuc) <= tol_merge * r_nuc)
            if merge.any():
                mi = np.flatnonzero(merge)
                n_m = n_o[mi] + dn[mi]
                num[mi, oc[mi]] = n_m
                rp[mi, oc[mi]] = np.cbrt((n_o[mi] * r_o[mi] ** 3 + dn[mi] * r_nuc[mi] ** 3) / n_m)
            newsec = sig & ~merge
            if newsec.any():
                ni = np.flatnonzero(newsec)
                col = cnt[ni]
                num[ni, col] = dn[ni]
                rp[ni, col] = r_nuc[ni]
                open_ = open_.copy()
                open_[ni] = col
                cnt = cnt.copy()
                cnt[ni] = col + 1
        c = np.maximum(c, 0.0)
        s_end = c / cinf
        # S matters through growth only where there are particles (before, nucleation is the control)
        ratio_s = np.where(any_live, np.abs(np.log((s_end + 0.1) / (s_old + 0.1))), 0.0)
        fac = np.maximum.reduce([ratio_r / tol_r, ratio_s / tol_s, ratio_j / tol_j, limit_ratio])
        # a step far beyond the tolerances is taken again, shorter
        accept = (fac <= _REJECT) | (dt <= 1e-9 * rows.tau)
        grow_cap = 2.0 * np.maximum(dt, rows.dt_ctrl)
        dt_ctrl = np.minimum(0.8 * dt / np.maximum(fac, 1e-12), grow_cap)
        rows.dt_ctrl = np.maximum(dt_ctrl, np.where(accept, 0.2, 0.05) * dt)
        steps_taken[rows.ids] += 1
        if not accept.all():
            keep = accept[:, None]
            rp = np.where(keep, rp, r)
            num = np.where(keep, num, rows.num)
            c = np.where(accept, c, c_old)
            t_new = np.where(accept, t_new, rows.t)
            conv = np.where(accept, conv, rows.conv)
            nucleated = np.where(accept, nucleated, rows.nucleated)
            pend = np.where(accept, pend, rows.pend)
            dissolved = np.where(accept, dissolved, rows.dissolved)
            open_ = np.where(accept, open_, rows.open)
            cnt = np.where(accept, cnt, rows.cnt)
            reached = reached & accept
        rows.r, rows.num, rows.c, rows.t, rows.conv = rp, num, c, t_new, conv
        rows.nucleated, rows.dissolved, rows.open, rows.cnt, rows.pend = nucleated, dissolved, open_, cnt, pend

        # outlet: deposit the conditions that reached an output point
        if reached.any():
            ri = np.flatnonzero(reached)
            wj = w_out[rows.jnext[ri]]
            ids = rows.ids[ri]
            rr, nn = rp[ri], num[ri]
            nkr = nn * kv * rr**3
            vol = nkr.sum(axis=1)
            cc, cv, ci = c[ri], conv[ri], cinf[ri]
            acc["vol"][ids] += wj * vol
            acc["conv"][ids] += wj * cv
            acc["mono"][ids] += wj * cc
            acc["s"][ids] += wj * cc / ci
            acc["err"][ids] += wj * np.abs(vol + cc - cv)
            acc["nuc"][ids] += wj * nucleated[ri]
            acc["dis"][ids] += wj * dissolved[ri]
            drdt = rows.g0[ri, None] / (rr + rows.delta[ri, None]) * (
                (cc / ci)[:, None] - np.exp(np.minimum(rows.rcap[ri, None] / rr, 50.0)))
            acc["gnum"][ids] += wj * (nkr * drdt).sum(axis=1)
            acc["shrink"][ids] += wj * np.where(drdt < 0, nkr, 0.0).sum(axis=1)
            # two-bin (cloud-in-cell) deposition in ln d, overflow above the top edge
            sel = nn > 0
            ln_d = np.log(2.0 * rr[sel])
            x = (ln_d - ln_lo) * inv_dln - 0.5
            i0 = np.floor(x)
            f = x - i0
            i0 = i0.astype(np.int64)
            f = np.where((i0 < 0) | (i0 >= n_bins - 1), 0.0, f)
            i0 = np.clip(i0, 0, n_bins - 1)
            i1 = np.minimum(i0 + 1, n_bins - 1)
            over = ln_d > ln_hi
            wn = (nn * wj[:, None])[sel]
            off = np.broadcast_to((ids * n_bins)[:, None], nn.shape)[sel]
            rowpos = np.broadcast_to(ri[:, None], nn.shape)[sel]
            wn_in = np.where(over, 0.0, wn)
            acc["over"][ids] += np.bincount(rowpos, weights=np.where(over, wn, 0.0), minlength=nr)[ri]
            acc["num"][ids] += np.bincount(rowpos, weights=wn, minlength=nr)[ri]
            hist_flat[:] += np.bincount(
                np.concatenate([i0 + off, i1 + off]),
                weights=np.concatenate([wn_in * (1.0 - f), wn_in * f]),
                minlength=n_cond * n_bins,
            )
            jn = rows.jnext.copy()
            jn[ri] += 1
            rows.jnext = jn

    # The working set is split into groups of rows with similar section counts (re-formed every few
    # consolidations), so the padding to the largest count of a group stays small. Each row's steps
    # do not depend on its group.
    groups = [rows]
    it = 0
    while groups:
        it += 1
        for g in groups:
            advance(g)
        if it % _CONSOLIDATE_EVERY == 0:
            for g in groups:
                _consolidate(g, kv, eps_merge)
        for g in groups:
            done = g.jnext >= t_out.size
            if done.any():
                g.keep(~done)
        groups = [g for g in groups if g.ids.size]
        if it % (4 * _CONSOLIDATE_EVERY) == 0 and groups:
            groups = _regroup(groups)

    p0s = np.where(p0 > 0, p0, 1.0)
    vol = acc["vol"]
    volsafe = np.where(vol > 0, vol, 1.0)
    dissolved_frac = np.where(acc["nuc"] > 0, acc["dis"] / np.where(acc["nuc"] > 0, acc["nuc"], 1.0), 0.0)
    return {
        "hist": hist_flat.reshape(n_cond, n_bins),
        "overflow": acc["over"],
        "overflow_frac": np.where(acc["num"] > 0, acc["over"] / np.where(acc["num"] > 0, acc["num"], 1.0), 0.0),
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
