"""The compiled core of ``integrate_batch``: every condition integrated on its own, in one loop.

The method (exact monomer balance, midpoint step, adaptive sub-steps, moving sections, two-bin
outlet deposition) is documented in ``simulators.chemistry.kinetics``; this module holds only its
arithmetic, compiled with numba (``cache=True``: the machine code is kept under ``__pycache__``, so
only the first call on a machine pays the compilation). A condition is one scalar loop over its
own live sections, so nothing is padded to the largest section count of a batch and nothing
depends on which other conditions share the call.

Imported lazily by ``integrate_batch``: ``import simulators`` does not load numba.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# Accumulator columns of ``acc`` (RTD-weighted sums over a condition's output points).
A_VOL, A_CONV, A_MONO, A_S, A_ERR, A_GNUM, A_SHRINK, A_NUC, A_DIS, A_OVER, A_NUM, A_STEPS = range(12)
N_ACC = 12

# Control constants, passed as one float array ``ctl`` (tolerances already divided by resolution).
C_TOL_R, C_TOL_S, C_TOL_J, C_TOL_MERGE, C_EPS_MERGE, C_R_MIN, C_KV = range(7)
C_REJECT, C_SHRINK_SHARE, C_GROW_SHARE, C_NEWTON_MAX, C_RTOL, C_EVERY = range(7, 13)
C_LN_LO, C_LN_HI, C_INV_DLN = range(13, 16)
N_CTL = 16

_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(inline="always", fastmath=_FAST, error_model="numpy")
def _exp(x):
    """exp(x) for 0 <= x <= 50 without a library call, so loops over sections vectorise: the Taylor
    polynomial of degree 12 at x / 128, squared 7 times (relative error < 1e-13 on [0, 50])."""
    y = x * 0.0078125
    p = 2.08767569878681e-09
    p = p * y + 2.505210838544172e-08
    p = p * y + 2.755731922398589e-07
    p = p * y + 2.7557319223985893e-06
    p = p * y + 2.48015873015873e-05
    p = p * y + 0.0001984126984126984
    p = p * y + 0.001388888888888889
    p = p * y + 0.008333333333333333
    p = p * y + 0.041666666666666664
    p = p * y + 0.16666666666666666
    p = p * y + 0.5
    p = p * y + 1.0
    p = p * y + 1.0
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    p = p * p
    return p * p


@njit(inline="always", fastmath=_FAST, error_model="numpy")
def _log(x):
    """ln x for 2^-63 < x < 2^63 without a library call (vectorises): x scaled by powers of two into
    [1/sqrt 2, sqrt 2], then 2 atanh((x - 1) / (x + 1)) as its series (relative error < 1e-15)."""
    k = 0.0
    big = x >= 4294967296.0
    x = x * 2.3283064365386963e-10 if big else x
    k += 32.0 if big else 0.0
    big = x >= 65536.0
    x = x * 1.52587890625e-05 if big else x
    k += 16.0 if big else 0.0
    big = x >= 256.0
    x = x * 0.00390625 if big else x
    k += 8.0 if big else 0.0
    big = x >= 16.0
    x = x * 0.0625 if big else x
    k += 4.0 if big else 0.0
    big = x >= 4.0
    x = x * 0.25 if big else x
    k += 2.0 if big else 0.0
    big = x >= 2.0
    x = x * 0.5 if big else x
    k += 1.0 if big else 0.0
    small = x < 2.3283064365386963e-10
    x = x * 4294967296.0 if small else x
    k -= 32.0 if small else 0.0
    small = x < 1.52587890625e-05
    x = x * 65536.0 if small else x
    k -= 16.0 if small else 0.0
    small = x < 0.00390625
    x = x * 256.0 if small else x
    k -= 8.0 if small else 0.0
    small = x < 0.0625
    x = x * 16.0 if small else x
    k -= 4.0 if small else 0.0
    small = x < 0.25
    x = x * 4.0 if small else x
    k -= 2.0 if small else 0.0
    small = x < 0.5
    x = x * 2.0 if small else x
    k -= 1.0 if small else 0.0
    big = x > 1.4142135623730951
    x = x * 0.5 if big else x
    k += 1.0 if big else 0.0
    z = (x - 1.0) / (x + 1.0)
    z2 = z * z
    q = 0.05263157894736842
    q = q * z2 + 0.05263157894736842
    q = q * z2 + 0.058823529411764705
    q = q * z2 + 0.06666666666666667
    q = q * z2 + 0.07692307692307693
    q = q * z2 + 0.09090909090909091
    q = q * z2 + 0.1111111111111111
    q = q * z2 + 0.14285714285714285
    q = q * z2 + 0.2
    q = q * z2 + 0.3333333333333333
    q = q * z2 + 1.0
    return k * 0.6931471805599453 + 2.0 * z * q


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _solve(nk, nk3dta, dta, u, cnt, cinf, rhs, s, newton_max, rtol):
    """S >= 0 solving S cinf + sum_i nk_i max(u_i + dta_i S, 0)^3 = rhs (convex, increasing: Newton
    converges monotonically after at most one overshoot), from ``s``."""
    for _ in range(newton_max):
        f = s * cinf - rhs
        fp = cinf
        for i in range(cnt):
            rp = max(u[i] + dta[i] * s, 0.0)
            rp2 = rp * rp
            f += nk[i] * rp2 * rp
            fp += nk3dta[i] * rp2
        s_new = max(s - f / fp, 0.0)
        done = abs(s_new - s) <= rtol * max(s, 1e-300)
        s = s_new
        if done:
            break
    return s


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _consolidate(r, num, cnt, c, n_floor, kv, eps, key, order, n_new, v_new, r_new):
    """Prune sections below ``n_floor`` (their monomer back to the solution), merge those whose
    ln r share a cell of width ``eps`` (number and volume kept), compact them sorted by radius.
    ``key`` .. ``r_new`` are scratch arrays of at least ``cnt``. Returns (new count, new monomer)."""
    for i in range(cnt):
        tiny = num[i] > 0.0 and num[i] < n_floor
        c += num[i] * kv * r[i] ** 3 if tiny else 0.0
        num[i] = 0.0 if tiny else num[i]
    for i in range(cnt):
        key[i] = math.floor(_log(r[i]) / eps)
    for i in range(cnt):
        key[i] = key[i] if num[i] > 0.0 else np.inf
    # stable insertion sort: the sections were left sorted by the last consolidation and new ones
    # are appended, so the keys are nearly sorted and this is ~linear
    for j in range(cnt):
        kj = key[j]
        m = j
        while m > 0 and key[order[m - 1]] > kj:
            order[m] = order[m - 1]
            m -= 1
        order[m] = j
    g = -1
    last = np.nan
    for j in range(cnt):
        i = order[j]
        if num[i] <= 0.0:
            break  # dead sections sort last (key inf)
        if g < 0 or key[i] != last:
            g += 1
            last = key[i]
            n_new[g] = num[i]
            v_new[g] = num[i] * r[i] ** 3
            r_new[g] = r[i]  # a section merged with none keeps its radius exactly
        else:
            n_new[g] += num[i]
            v_new[g] += num[i] * r[i] ** 3
            r_new[g] = -1.0
    ng = g + 1
    for j in range(ng):
        num[j] = n_new[j]
        r[j] = r_new[j] if r_new[j] > 0.0 else np.cbrt(v_new[j] / n_new[j])
    for j in range(ng, cnt):
        num[j] = 0.0
        r[j] = 1.0
    return ng, c


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def _grow(a, n, fill):
    out = np.full(n, fill)
    out[: a.size] = a
    return out


@njit(cache=True, fastmath=_FAST, error_model="numpy")
def integrate_all(
    tau, p0, kc, cinf_a, g0_a, delta_a, rcap_a, nb_a, na_a, n_floor_a, t_out, w_out, ctl, hist, acc
):
    """Integrate every condition i (arrays of shape (N,)) over the output points ``t_out`` (theta)
    with RTD weights ``w_out``; add each condition's weighted outlet sums into ``hist[i]`` and
    ``acc[i]`` (columns ``A_*``). Conditions with p0 <= 0 or tau <= 0 are left untouched."""
    tol_r, tol_s, tol_j = ctl[C_TOL_R], ctl[C_TOL_S], ctl[C_TOL_J]
    tol_merge, eps, r_min, kv = ctl[C_TOL_MERGE], ctl[C_EPS_MERGE], ctl[C_R_MIN], ctl[C_KV]
    reject, shrink_share, grow_share = ctl[C_REJECT], ctl[C_SHRINK_SHARE], ctl[C_GROW_SHARE]
    newton_max, rtol = int(ctl[C_NEWTON_MAX]), ctl[C_RTOL]
    every = int(ctl[C_EVERY])
    ln_lo, ln_hi, inv_dln = ctl[C_LN_LO], ctl[C_LN_HI], ctl[C_INV_DLN]
    n_bins = hist.shape[1]
    n_out = t_out.size
    cap0 = 64
    for ic in range(tau.size):
        if not (p0[ic] > 0.0 and tau[ic] > 0.0):
            continue
        tau_i, p0_i, kc_i, cinf = tau[ic], p0[ic], kc[ic], cinf_a[ic]
        g0, delta, rcap, nb, na, n_floor = (
            g0_a[ic],
            delta_a[ic],
            rcap_a[ic],
            nb_a[ic],
            na_a[ic],
            n_floor_a[ic],
        )
        cap = cap0
        r = np.ones(cap)
        num = np.zeros(cap)
        rp = np.ones(cap)
        nump = np.zeros(cap)
        nk = np.zeros(cap)
        dta = np.zeros(cap)
        nk3dta = np.zeros(cap)
        u = np.zeros(cap)
        v0 = np.zeros(cap)
        order = np.zeros(cap, dtype=np.int64)
        pend = 0.0
        c = 0.0
        t = 0.0
        conv = 0.0
        nucleated = 0.0
        dissolved = 0.0
        jnext = 0
        dt_ctrl = 1e-3 * tau_i
        open_ = -1
        cnt = 0
        it = 0
        steps = 0.0
        while jnext < n_out:
            if cnt >= cap:  # room for one new section
                cap = cap + max(8, cap // 2)
                r = _grow(r, cap, 1.0)
                rp = _grow(rp, cap, 1.0)
                num = _grow(num, cap, 0.0)
                nump = np.zeros(cap)
                nk = np.zeros(cap)
                dta = np.zeros(cap)
                nk3dta = np.zeros(cap)
                u = np.zeros(cap)
                v0 = np.zeros(cap)
                order = np.zeros(cap, dtype=np.int64)
            t_next = t_out[jnext] * tau_i
            rem = t_next - t
            dt = rem if rem <= 1.25 * dt_ctrl else min(dt_ctrl, 0.5 * rem)
            reached = dt >= rem
            t_new = t_next if reached else t + dt
            conv_new = p0_i * -math.expm1(-kc_i * t_new)
            supply = conv_new - conv

            # pass 1: coefficients at the step start, and the balance f(S) = S cinf - rhs + sum nk r'^3
            # with its slope at the last supersaturation: one Newton step from there is the predictor
            c_old = c
            s_old = c_old / cinf
            base = c_old + supply
            v0sum = 0.0
            v0rsum = 0.0
            n0sum = 0.0
            f = s_old * cinf - base
            fp = cinf
            for i in range(cnt):
                ri = r[i]
                nki = num[i] * kv
                dti = dt * g0 / (ri + delta)
                ui = ri - dti * _exp(min(rcap / ri, 50.0))
                dta[i] = dti
                u[i] = ui
                v0i = nki * ri * ri * ri
                v0[i] = v0i
                v0sum += v0i
                v0rsum += v0i * ri
                n0sum += num[i]
                rpi = max(ui + dti * s_old, 0.0)
                rp2 = rpi * rpi
                f += nki * (rp2 * rpi - ri * ri * ri)
                fp += 3.0 * nki * dti * rp2
            s = max(s_old - f / fp, 0.0)
            # pass 2 (second order): coefficients at the mid radius of the predictor, and one Newton
            # step of the corrected balance from the predictor
            half_rmin = 0.5 * r_min
            f = s * cinf - base - v0sum
            fp = cinf
            fpp = 0.0
            for i in range(cnt):
                ri = r[i]
                nki = num[i] * kv
                rm = max(0.5 * (ri + max(u[i] + dta[i] * s, 0.0)), half_rmin) if num[i] > 0.0 else 1.0
                dti = dt * g0 / (rm + delta)
                ui = ri - dti * _exp(min(rcap / rm, 50.0))
                dta[i] = dti
                nk[i] = nki
                nk3dta[i] = 3.0 * nki * dti
                u[i] = ui
                rpi = max(ui + dti * s, 0.0)
                rp2 = rpi * rpi
                f += nki * rp2 * rpi
                fp += 3.0 * nki * dti * rp2
                fpp += 6.0 * nki * dti * dti * rpi
            s_new = max(s - f / fp, 0.0)
            # Newton converges quadratically: the next correction is about f'' / (2 f') times the square
            # of this one; below rtol this step's result stands, else iterate to rtol
            ds = s_new - s
            if 0.5 * fpp / fp * ds * ds > rtol * max(s_new, 1e-300):
                s = _solve(nk, nk3dta, dta, u, cnt, cinf, v0sum + base, s_new, newton_max, rtol)
            else:
                s = s_new
            # pass 3: the new radii, the balance, and the step-size control (each section counts in
            # proportion to its share of the number or material at the step start; see kinetics)
            vpsum = 0.0
            numsum = 0.0
            vgone = 0.0
            n_dis = 0.0
            ratio_r = 0.0
            half_mean = 0.5 * (v0rsum / v0sum if v0sum > 0.0 else 1.0)
            inv_v0s = 1.0 / (max(v0sum, 1e-300) * shrink_share)
            inv_ng = 1.0 / (max(n0sum, 1e-300) * grow_share)
            inv_vg = 1.0 / (max(v0sum, 1e-300) * grow_share)
            for i in range(cnt):
                ri = r[i]
                rpi = max(u[i] + dta[i] * s, 0.0)
                vp = nk[i] * rpi * rpi * rpi
                gone = rpi < r_min
                lv = num[i] > 0.0 and not gone
                vpsum += vp  # every section's new volume (a dead one holds nk = 0)
                vgone += vp if gone else 0.0  # a dissolved section returns exactly what it holds
                n_dis += num[i] if gone else 0.0
                numsum += num[i] if lv else 0.0
                nump[i] = num[i] if lv else 0.0
                rp[i] = rpi if lv else 1.0
                share = (
                    min(v0[i] * inv_v0s, 1.0) if rpi < ri else min(max(v0[i] * inv_vg, num[i] * inv_ng), 1.0)
                )
                x = abs(rpi - ri) * share / max(ri, half_mean)
                ratio_r = max(ratio_r, x if lv else 0.0)
            any_live = numsum > 0.0
            c = max(base + v0sum - vpsum + vgone, 0.0)
            dis_new = dissolved + n_dis

            # nucleation at the new supersaturation, from the same balance
            ln_s = math.log(max(s, 1.0 + 1e-12))
            expo = min(nb / (ln_s * ln_s), 700.0)
            jrate = na * math.exp(-expo) if s > 1.0 + 1e-9 else 0.0
            r_nuc = max(1.15 * rcap / ln_s, 1.5 * r_min)
            vn = kv * r_nuc**3
            dn_want = jrate * dt
            capn = 0.5 * max(c - cinf, 0.0) / vn
            dn = min(dn_want, capn)
            limit_ratio = 3.0 * dn_want / max(capn, 1e-300) if dn_want > capn * 1.0000001 else 0.0
            pend_new = pend + dn
            ratio_j = 0.0
            nuc_new = nucleated
            open_new = open_
            cnt_new = cnt
            if pend_new > n_floor:
                dn = min(pend_new, capn)
                pend_new = 0.0
                ln_s0 = math.log(max(s_old, 1.0 + 1e-12))
                expo0 = min(nb / (ln_s0 * ln_s0), 700.0) if s_old > 1.0 + 1e-9 else 700.0
                if dn > 1e-3 * (nucleated + dn):
                    ratio_j = abs(expo - expo0)
                c = c - dn * vn
                nuc_new = nucleated + dn
                merged = False
                if open_ >= 0:
                    n_o = nump[open_]
                    r_o = rp[open_]
                    if n_o > 0.0 and abs(r_o - r_nuc) <= tol_merge * r_nuc:
                        n_m = n_o + dn
                        nump[open_] = n_m
                        rp[open_] = np.cbrt((n_o * r_o**3 + dn * r_nuc**3) / n_m)
                        merged = True
                if not merged:
                    nump[cnt] = dn
                    rp[cnt] = r_nuc
                    open_new = cnt
                    cnt_new = cnt + 1
            c = max(c, 0.0)
            s_end = c / cinf
            ratio_s = abs(math.log((s_end + 0.1) / (s_old + 0.1))) if any_live else 0.0
            fac = max(max(ratio_r / tol_r, ratio_s / tol_s), max(ratio_j / tol_j, limit_ratio))
            accept = fac <= reject or dt <= 1e-9 * tau_i
            grow_cap = 2.0 * max(dt, dt_ctrl)
            dtc = min(0.8 * dt / max(fac, 1e-12), grow_cap)
            dt_ctrl = max(dtc, (0.2 if accept else 0.05) * dt)
            steps += 1.0
            if accept:
                r, rp = rp, r
                num, nump = nump, num
                t, conv, nucleated, pend, dissolved = t_new, conv_new, nuc_new, pend_new, dis_new
                open_, cnt = open_new, cnt_new
            else:
                c = c_old
                reached = False

            if reached:  # outlet: deposit this output point
                wj = w_out[jnext]
                ci = c / cinf
                vol = 0.0
                gnum = 0.0
                shrink = 0.0
                over = 0.0
                ntot = 0.0
                for i in range(cnt):  # (dead sections: num = 0, r = 1) vectorised
                    nn = num[i]
                    rr = r[i]
                    nkr = nn * kv * rr * rr * rr
                    vol += nkr
                    drdt = g0 / (rr + delta) * (ci - _exp(min(rcap / rr, 50.0)))
                    gnum += nkr * drdt
                    shrink += nkr if drdt < 0.0 else 0.0
                    ln_d = _log(2.0 * rr)
                    wn = nn * wj
                    ntot += wn
                    over += wn if ln_d > ln_hi else 0.0
                    v0[i] = (ln_d - ln_lo) * inv_dln - 0.5 if ln_d <= ln_hi else np.inf  # bin position
                for i in range(cnt):  # two-bin (cloud-in-cell) deposition in ln d
                    x = v0[i]
                    if num[i] <= 0.0 or x == np.inf:
                        continue
                    wn = num[i] * wj
                    i0f = math.floor(x)
                    f = x - i0f
                    i0 = int(i0f)
                    if i0 < 0 or i0 >= n_bins - 1:
                        f = 0.0
                    i0 = min(max(i0, 0), n_bins - 1)
                    i1 = min(i0 + 1, n_bins - 1)
                    hist[ic, i0] += wn * (1.0 - f)
                    hist[ic, i1] += wn * f
                acc[ic, A_VOL] += wj * vol
                acc[ic, A_CONV] += wj * conv
                acc[ic, A_MONO] += wj * c
                acc[ic, A_S] += wj * ci
                acc[ic, A_ERR] += wj * abs(vol + c - conv)
                acc[ic, A_NUC] += wj * nucleated
                acc[ic, A_DIS] += wj * dissolved
                acc[ic, A_GNUM] += wj * gnum
                acc[ic, A_SHRINK] += wj * shrink
                acc[ic, A_OVER] += over
                acc[ic, A_NUM] += ntot
                jnext += 1
            it += 1
            if it % every == 0:
                cnt, c = _consolidate(r, num, cnt, c, n_floor, kv, eps, nk, order, dta, u, v0)
                open_ = -1
        acc[ic, A_STEPS] = steps
