"""Noise-free steady state of the flow reactor: conditions -> particles -> figures of merit.

``evaluate_many`` is vectorised over conditions (one population-balance integration for all of them);
``evaluate_true`` is the single-condition convenience. Both are deterministic and noise-free.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.errors import ConfigurationError
from simulators.chemistry.kinetics import KineticArrays, TimeGrid, integrate_batch, make_time_grid
from simulators.chemistry.optics import figures_of_merit, size_bins, smooth_hist
from simulators.chemistry.parameters import MaterialParams, load_params
from simulators.chemistry.quality import ligand_coverage, quality_params, surface_sites_mM
from simulators.chemistry.quality import plqy as plqy_model
from simulators.chemistry.reactor import ReactorGeometry

__all__ = ["clog_risk", "describe", "evaluate_true", "evaluate_many", "steady_state_arrays", "FIGURES"]

_R = 8.314462618
_KB = 1.380649e-23
_NA = 6.02214076e23

FIGURES = (
    "residence_time_s",
    "diameter_nm",
    "size_rsd",
    "abs_peak_nm",
    "pl_peak_nm",
    "pl_fwhm_nm",
    "plqy",
    "yield",
)

_DEFAULT_REACTOR = ReactorGeometry()


def describe(material: str) -> list[dict[str, Any]]:
    """The settable conditions of ``material``: name, unit, low, high, default, kind."""
    p = load_params(material)
    out = [
        {
            "name": "temperature",
            "unit": "degC",
            "low": p.temperature_low_c,
            "high": p.temperature_high_c,
            "default": p.temperature_default_c,
            "kind": "temperature",
        }
    ]
    for s in p.streams:
        out.append(
            {
                "name": f"flow_{s.name}",
                "unit": "uL/min",
                "low": s.low,
                "high": s.high,
                "default": s.default,
                "kind": "flow",
            }
        )
    return out


def _as_arrays(
    p: MaterialParams, conditions: Mapping[str, Any] | Sequence[Mapping[str, Any]]
) -> dict[str, np.ndarray]:
    names = [d["name"] for d in describe(p.name)]
    defaults = {d["name"]: d["default"] for d in describe(p.name)}
    if isinstance(conditions, Mapping):
        n = max((np.size(v) for v in conditions.values()), default=1)
        cols = {}
        for k in names:
            v = conditions.get(k, defaults[k])
            v = np.asarray(defaults[k] if v is None else v, dtype=float)
            cols[k] = np.broadcast_to(v, (n,)).astype(float) if v.ndim <= 1 else None
            if cols[k] is None:
                raise ConfigurationError(f"condition {k!r} must be a scalar or 1-d array")
    else:
        rows = list(conditions)
        cols = {
            k: np.array([float(r.get(k, defaults[k]) if r.get(k) is not None else defaults[k]) for r in rows])
            for k in names
        }
    for k, v in cols.items():
        if not np.all(np.isfinite(v)):
            raise ConfigurationError(f"condition {k!r} must be finite, got {v[~np.isfinite(v)][0]}")
    return cols


_N_OUTPUT_STEPS = 150  # log-theta output points at resolution 1


@functools.lru_cache(maxsize=16)
def _grid(n_tanks: float, resolution: float = 1.0) -> TimeGrid:
    return make_time_grid(n_tanks, n_steps=int(round(_N_OUTPUT_STEPS * resolution)))


def _arrh(ref: float, e_kj: float, t_k: np.ndarray, t_ref_k: float) -> np.ndarray:
    return ref * np.exp(-e_kj * 1e3 / _R * (1.0 / t_k - 1.0 / t_ref_k))


def _mix(
    p: MaterialParams, cols: Mapping[str, np.ndarray], reactor: ReactorGeometry, stocks: Mapping[str, float]
):
    """Total flow (uL/min), residence time (s), limiting precursor (mM), metal:partner ratio, T (degC),
    and the inlet concentration (mM) of each precursor role."""
    flows = {s.name: np.maximum(cols[f"flow_{s.name}"], 0.0) for s in p.streams}
    q_tot = sum(flows.values())
    q_safe = np.maximum(q_tot, 1e-6)
    tau = reactor.reactor_volume_ul / q_safe * 60.0
    metal, partner = p.stream("metal"), p.stream("chalcogen")
    c_m = stocks[metal.name] * flows[metal.name] / q_safe
    c_x = stocks[partner.name] * flows[partner.name] / q_safe
    p0 = np.minimum(c_m, c_x)
    ratio = np.where(c_x > 0, c_m / np.maximum(c_x, 1e-12), 1e6)
    t_c = np.clip(cols["temperature"], -50.0, 600.0)
    return q_tot, tau, p0, ratio, t_c, {"metal": c_m, "chalcogen": c_x}


def _risk(p: MaterialParams, p0: np.ndarray, t_c: np.ndarray, tau: np.ndarray) -> np.ndarray:
    cl = p.clog
    return (p0 / cl["conc_mM"]) ** 2 * np.exp((t_c - cl["temp_c"]) / 10.0) * np.sqrt(tau / cl["tau_s"])


def clog_risk(
    material: str,
    conditions: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    reactor: ReactorGeometry | None = None,
    stocks_mM: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Clog risk (> 1 clogs) of conditions: (c_lim / c0)^2 exp((T - T0) / 10 K) sqrt(tau / tau0). Cheap."""
    p = load_params(material)
    _, tau, p0, _, t_c, _ = _mix(
        p, _as_arrays(p, conditions), reactor or _DEFAULT_REACTOR, p.stocks_mM(stocks_mM)
    )
    return _risk(p, p0, t_c, tau)


def steady_state_arrays(
    material: str,
    conditions: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    reactor: ReactorGeometry | None = None,
    stocks_mM: Mapping[str, float] | None = None,
    reactivity_factor: float = 1.0,
    temperature_offset_c: float = 0.0,
    with_hist: bool = False,
    resolution: float = 1.0,
) -> dict[str, np.ndarray]:
    """Vectorised steady state; figures as float arrays (NaN where they do not exist) and ``failure``.

    ``reactivity_factor`` scales the conversion rate (precursor lot); ``temperature_offset_c`` shifts
    the reactor temperature the chemistry sees (fouled walls). With ``with_hist`` the smoothed outlet
    size histogram (N, n_bins) is returned under ``hist``. ``resolution`` refines the time grid (output
    points and sub-step tolerances, ``integrate_batch``); 4 is the convergence reference.

    Besides the figures, the population balance's outlet diagnostics are returned for every condition
    (defined also where a figure is not): ``converted``, ``yield`` (particle material / limiting
    precursor, NaN only for a clog), ``mass_error``, ``supersat_out``, ``growth_nm_s``,
    ``shrinking_mass_frac``, ``dissolved_frac`` (``ripened``), ``overflow_frac``, ``limiting_mM`` and
    ``dots_uM`` (0 for ``no_particles``) - see ``integrate_batch`` for their definitions.
    """
    p = load_params(material)
    reactor = reactor or _DEFAULT_REACTOR
    cols = _as_arrays(p, conditions)
    stocks = p.stocks_mM(stocks_mM)
    q_tot, tau, p0, ratio, t_c, inlet = _mix(p, cols, reactor, stocks)
    t_c = t_c + temperature_offset_c
    t_k = t_c + 273.15

    kin = p.kinetics
    t_ref = kin["t_ref_c"] + 273.15
    excess = np.maximum(ratio, 1.0 / np.maximum(ratio, 1e-12))
    k_conv = (
        _arrh(kin["k_conv_ref_s"], kin["ea_conv_kj_mol"], t_k, t_ref)
        * np.minimum(excess, 20.0) ** kin["ratio_exponent"]
    )
    k_conv = k_conv * reactivity_factor
    c_inf = _arrh(kin["c_inf_ref_mM"], kin["dh_sol_kj_mol"], t_k, t_ref)
    d_eff = _arrh(kin["d_eff_ref_m2_s"], kin["e_d_kj_mol"], t_k, t_ref)
    k_g = _arrh(kin["k_g_ref_m_s"], kin["e_kg_kj_mol"], t_k, t_ref)
    vm = p.vm_m3_mol
    gamma = kin["gamma_j_m2"]
    karr = KineticArrays(
        tau_s=tau,
        p0=p0,
        k_conv=k_conv,
        c_inf=c_inf,
        growth_g0=d_eff * 1e18 * vm * c_inf,
        delta_nm=d_eff / k_g * 1e9,
        r_cap_nm=2.0 * gamma * vm / (_R * t_k) * 1e9,
        nuc_b=16.0
        * np.pi
        * kin.get("gamma_nucleation_j_m2", gamma) ** 3
        * (vm / _NA) ** 2
        / (3.0 * (_KB * t_k) ** 3),
        nuc_a=np.full_like(tau, kin["nucleation_a"]),
        vm_m3_mol=vm,
    )
    res = integrate_batch(
        karr,
        _grid(float(reactor.n_tanks), float(resolution)),
        size_bins(p.name).edges_nm,
        resolution=resolution,
    )
    hist = smooth_hist(p.name, res["hist"])
    fom = figures_of_merit(p.name, hist)

    # PLQY from the kinetics (quality.py): surface-to-volume from the histogram, growth rate at the
    # quench, ripened / etched mass, and ligand coverage by the passivant left over at the outlet
    # (fed minus what the converted monomer consumed, one per formula unit).
    b = size_bins(p.name)
    qp = quality_params(p.quality, p.optics["plqy_max"])
    free_mM = np.maximum(inlet[qp.passivant_role] - p0 * res["converted"], 0.0)
    sites_mM = surface_sites_mM(hist, b.d_nm, qp.site_density_nm2)
    theta = ligand_coverage(free_mM, sites_mM, qp.k_ads_per_mM)
    qual = plqy_model(
        qp,
        d_nm=b.d_nm,
        emitter_weight=np.where(b.is_dot[None, :], hist, 0.0) * b.vol_nm3,
        coverage=theta,
        growth_nm_s=res["growth_nm_s"],
        shrinking_mass_frac=res["shrinking_mass_frac"],
        dissolved_frac=res["dissolved_frac"],
    )
    plqy = np.clip(qual["plqy"], 0.0, 1.0)

    risk = _risk(p, p0, t_c - temperature_offset_c, tau)
    no_dots = (fom["n_dots"] <= 0) | (res["yield"] < 1e-4) | ~np.isfinite(fom["pl_peak_nm"])
    failure = np.full(tau.shape, None, dtype=object)
    failure[no_dots] = "no_particles"
    failure[risk > 1.0] = "clog"

    out: dict[str, np.ndarray] = {k: cols[k] for k in cols}
    out["residence_time_s"] = tau
    out["clog_risk"] = risk
    good = failure == None  # noqa: E711 - elementwise on an object array
    for k in ("diameter_nm", "size_rsd", "abs_peak_nm", "pl_peak_nm", "pl_fwhm_nm"):
        out[k] = np.where(good, fom[k], np.nan)
    out["plqy"] = np.where(good, plqy, np.nan)
    out["yield"] = np.where(failure == "clog", np.nan, res["yield"])
    for key in (
        "converted",
        "ripened",
        "dissolved_frac",
        "mass_error",
        "supersat_out",
        "growth_nm_s",
        "shrinking_mass_frac",
        "overflow_frac",
        "substeps",
    ):
        out[key] = res[key]
    out["ligand_coverage"] = theta
    out["free_passivant_mM"] = free_mM
    out["limiting_mM"] = p0
    # number of dots (uM); a no-particles condition says 0 (or the few it has), not NaN
    out["dots_uM"] = np.where(failure == "clog", np.nan, fom["n_dots"] / _NA * 1e3)
    out["failure"] = failure
    if with_hist:
        out["hist"] = hist
        out["plqy_surface"] = plqy  # defined even without dots (used for trap emission)
    return out


def evaluate_many(
    material: str,
    conditions: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    reactor: ReactorGeometry | None = None,
    stocks_mM: Mapping[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Noise-free steady state for many conditions at once.

    ``conditions`` is a list of dicts or a dict of equal-length arrays (scalars broadcast); missing
    conditions take defaults. Returns a dict of arrays of length N with the echoed conditions,
    ``residence_time_s``, ``diameter_nm``, ``size_rsd``, ``abs_peak_nm``, ``pl_peak_nm``, ``pl_fwhm_nm``,
    ``plqy``, ``yield`` (float, NaN where a figure does not exist because of a failure) and ``failure``
    (object array of None, "clog" or "no_particles"), plus diagnostics (``clog_risk``, ``converted``,
    ``ripened``, ``limiting_mM``).
    """
    return steady_state_arrays(material, conditions, reactor=reactor, stocks_mM=stocks_mM)


def evaluate_true(
    material: str,
    conditions: Mapping[str, Any],
    *,
    reactor: ReactorGeometry | None = None,
    stocks_mM: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Noise-free steady state at one condition; figures that do not exist are ``None``."""
    out = steady_state_arrays(material, [dict(conditions)], reactor=reactor, stocks_mM=stocks_mM)
    return _row(out, 0)


def _row(out: Mapping[str, np.ndarray], i: int) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for k, v in out.items():
        if k == "hist":
            continue
        x = v[i]
        if k == "failure":
            row[k] = x
        else:
            x = float(x)
            row[k] = None if not np.isfinite(x) else x
    return row
