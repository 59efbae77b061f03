"""Validate the simulated reactor from its public outputs: ranges, mass, the Yang 2009 flow data,
convergence and smoothness (REFERENCE.md sections 3, 7 and 8).

Run: PYTHONPATH=$PWD .venv/bin/python scripts/validate_simulator.py [--json] [--write PATH] [--n 256]

Parts (each a function returning plain data, so tests and scripts/simulator_doc.py reuse them):

a. ``figure_ranges``: per material, over scrambled-Sobol conditions of ``describe()`` bounds: PL span,
   narrowest FWHM, FWHM and PLQY near a characteristic wavelength, PLQY range, failure fractions,
   beside Table 1 of the Nature Reviews Methods Primers 2025 review (REFERENCE.md section 3).
b. ``mass_balance``: particle material computed from the outputs alone, as a user of ``qdlab simulate``
   would (dots_uM x (pi/6) <d^3> x rho / M x N_A), over the converted precursor (limiting_mM x
   converted), on fuzzed conditions down to the pumps' slowest flows; ``cli_mass_check`` repeats it
   through ``qdlab simulate --input file.csv --json``.
c. ``yang_comparison``: CdSe at 8-10 s residence on the rig of ``lab/examples/sim-cdse-yang.toml``
   (loaded as ``qdlab run --lab`` loads a lab) beside Yang et al., Cryst. Growth Des. 9, 1569 (2009).
d. ``convergence``: the default time grid against a 4x finer one.
e. ``smoothness``: 0.5 degC temperature scan and residence-time scan in the hot, slow corner.

<d^3> from the number-mean diameter d and size_rsd s: for a symmetric (normal) distribution
<d^3> = d^3 (1 + 3 s^2) exactly; a log-normal one gives d^3 (1 + s^2)^3 = d^3 (1 + 3 s^2 + 3 s^4 + s^6).
The two differ by < 1 % for s < 0.15. We use d^3 (1 + 3 s^2) and, where the histogram is available
(``steady_state_arrays(..., with_hist=True)``), also report the exact moment.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import inspect
import json
import math
import os
import pathlib
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import qmc

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import simulators  # noqa: E402
import simulators.chemistry  # noqa: E402
from models.materials import MATERIALS  # noqa: E402
from simulators.chemistry import steady as _steady  # noqa: E402

N_A = 6.02214076e23
PUMP_MIN_UL_MIN = 0.5  # the slowest rate the lab files' pumps allow (lab/examples/sim-*.toml min_rate)
YANG_LAB = ROOT / "lab" / "examples" / "sim-cdse-yang.toml"

# Table 1 of the Nature Reviews Methods Primers 2025 review (REFERENCE.md section 3). Each entry:
# emission range (nm), FWHM (nm), PLQY (fraction), the characteristic wavelength for "near" figures.
LITERATURE: dict[str, dict[str, Any]] = {
    "CdSe": {
        "row": "CdSe QDs",
        "emission_nm": (430, 650),
        "fwhm_nm": (20, 30),
        "fwhm_text": "20-30",
        "plqy_text": "~100 (surface-chemistry dependent)",
        "near_nm": 525.0,
    },
    "PbS": {
        "row": "PbS",
        "emission_nm": (600, 3000),
        "fwhm_nm": (150, 150),
        "fwhm_text": "~150 at 1500",
        "plqy_text": "40-80 at 1500",
        "plqy": (0.40, 0.80),
        "near_nm": 1500.0,
    },
    "InP": {
        "row": "InP/ZnSe/ZnS",
        "emission_nm": (480, 700),
        "fwhm_nm": (35, 50),
        "fwhm_text": "35-50",
        "plqy_text": "90-100 (core/shell)",
        "near_nm": 620.0,
    },
    "CsPbBr3": {
        "row": "CsPbBr3",
        "emission_nm": (440, 520),
        "fwhm_nm": (15, 25),
        "fwhm_text": "15-25",
        "plqy_text": "~100",
        "near_nm": 515.0,
    },
}
NEAR_WINDOW = 0.05  # "near" a wavelength: within +-5 %

# Yang et al., Cryst. Growth Des. 9(3), 1569-1574 (2009): CdSe in a microchannel, 8-10 s residence.
YANG = {
    "tau_s": (8.0, 10.0),
    "diameter_nm": (2.1, 4.0),
    "pl_peak_nm": (483.0, 600.0),
    "pl_fwhm_nm": (27.0, 35.0),
    "plqy": (0.12, 0.50),
}


# ----------------------------------------------------------------------------------------------
# conditions


def sobol_conditions(material: str, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``n`` scrambled-Sobol conditions over ``describe(material)``'s bounds (dict of arrays)."""
    table = simulators.describe(material)
    unit = qmc.Sobol(len(table), scramble=True, seed=seed).random(n)
    return {d["name"]: d["low"] + unit[:, i] * (d["high"] - d["low"]) for i, d in enumerate(table)}


def fuzz_conditions(
    material: str, n: int, seed: int = 0, *, min_flow: float = PUMP_MIN_UL_MIN
) -> dict[str, np.ndarray]:
    """Fuzzed conditions reaching the longest residence times the pumps allow.

    ``n`` random points (temperature uniform in bounds, each flow log-uniform in [min_flow, high],
    the solvent off in a fifth of them), every corner (temperature low/high x each flow at min_flow or
    high) and the slowest flow (every stream at ``min_flow``) at nine temperatures. With three streams
    of 0.5 uL/min in a 250 uL coil that is tau = 10,000 s.
    """
    table = simulators.describe(material)
    rng = np.random.default_rng(seed)
    cols: dict[str, list[float]] = {d["name"]: [] for d in table}
    flows = [d for d in table if d["kind"] == "flow"]
    temp = next(d for d in table if d["kind"] == "temperature")
    for _ in range(n):
        cols[temp["name"]].append(rng.uniform(temp["low"], temp["high"]))
        for d in flows:
            v = math.exp(rng.uniform(math.log(min_flow), math.log(d["high"])))
            if d["name"] == "flow_solvent" and rng.random() < 0.2:
                v = 0.0
            cols[d["name"]].append(v)
    for t in (temp["low"], temp["high"]):
        for mask in range(2 ** len(flows)):
            cols[temp["name"]].append(t)
            for i, d in enumerate(flows):
                cols[d["name"]].append(d["high"] if mask >> i & 1 else min_flow)
    for t in np.linspace(temp["low"], temp["high"], 9):
        cols[temp["name"]].append(float(t))
        for d in flows:
            cols[d["name"]].append(min_flow)
    return {k: np.asarray(v, dtype=float) for k, v in cols.items()}


def _finite(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x)]


def _span(x: np.ndarray) -> tuple[float, float] | None:
    f = _finite(x)
    return (float(f.min()), float(f.max())) if f.size else None


# ----------------------------------------------------------------------------------------------
# a. ranges against Table 1


def figure_ranges(material: str, n: int = 256, seed: int = 0) -> dict[str, Any]:
    """PL span, FWHM, PLQY and failures over ``n`` Sobol conditions of ``material``."""
    out = simulators.evaluate_many(material, sobol_conditions(material, n, seed))
    fail = out["failure"]
    pl, fwhm, plqy = out["pl_peak_nm"], out["pl_fwhm_nm"], out["plqy"]
    lit = LITERATURE[material]
    lo, hi = lit["emission_nm"]
    span = _span(pl)
    cover = 0.0 if span is None else max(0.0, min(span[1], hi) - max(span[0], lo)) / (hi - lo)
    near = lit["near_nm"]
    sel = np.isfinite(pl) & (np.abs(pl - near) <= NEAR_WINDOW * near)
    return {
        "material": material,
        "n": int(n),
        "pl_span_nm": span,
        "emission_coverage": cover,
        "fwhm_min_nm": float(np.nanmin(fwhm)) if np.isfinite(fwhm).any() else None,
        "near_nm": near,
        "near_count": int(sel.sum()),
        "fwhm_near_median_nm": float(np.median(fwhm[sel])) if sel.any() else None,
        "fwhm_near_min_nm": float(np.min(fwhm[sel])) if sel.any() else None,
        "plqy_near_span": _span(plqy[sel]) if sel.any() else None,
        "plqy_span": _span(plqy),
        "diameter_span_nm": _span(out["diameter_nm"]),
        "size_rsd_min": float(np.nanmin(out["size_rsd"])) if np.isfinite(out["size_rsd"]).any() else None,
        "fail_no_particles": float(np.mean(fail == "no_particles")),
        "fail_clog": float(np.mean(fail == "clog")),
    }


def _fmt_span(s: tuple[float, float] | None, fmt: str = "{:.0f}", scale: float = 1.0) -> str:
    if s is None:
        return "-"
    return f"{fmt.format(s[0] * scale)}-{fmt.format(s[1] * scale)}"


def _fmt(x: float | None, fmt: str = "{:.0f}") -> str:
    return "-" if x is None else fmt.format(x)


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table: ``head``, the rule under it, then a line a row of cells."""
    return [_md_row(head), "|" + "---|" * len(head), *map(_md_row, rows)]


RANGE_COLUMNS = (
    "material",
    "PL span (nm)",
    "Table 1 emission (nm)",
    "coverage",
    "narrowest FWHM (nm)",
    "FWHM near (nm): median / min (n)",
    "Table 1 FWHM (nm)",
    "PLQY (%)",
    "PLQY near (%)",
    "Table 1 PLQY (%)",
    "no particles",
    "clog",
)


def ranges_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table of ``figure_ranges`` rows beside Table 1."""
    body = []
    for r in rows:
        lit = LITERATURE[r["material"]]
        near = (
            f"{_fmt(r['fwhm_near_median_nm'])} / {_fmt(r['fwhm_near_min_nm'])} ({r['near_count']}) "
            f"at {r['near_nm']:.0f}+-{NEAR_WINDOW * 100:.0f} %"
        )
        cells = [
            r["material"],
            _fmt_span(r["pl_span_nm"]),
            "{}-{}".format(*lit["emission_nm"]),
            f"{100 * r['emission_coverage']:.0f} %",
            _fmt(r["fwhm_min_nm"]),
            near,
            lit["fwhm_text"],
            _fmt_span(r["plqy_span"], scale=100),
            _fmt_span(r["plqy_near_span"], scale=100),
            lit["plqy_text"],
            f"{100 * r['fail_no_particles']:.1f} %",
            f"{100 * r['fail_clog']:.1f} %",
        ]
        body.append(cells)
    return "\n".join(_md_table(RANGE_COLUMNS, body))


# ----------------------------------------------------------------------------------------------
# b. mass


def formula_units_per_dot(material: str, diameter_nm: np.ndarray, size_rsd: np.ndarray) -> np.ndarray:
    """Formula units in a dot of number-mean diameter d and RSD s: (pi/6) d^3 (1 + 3 s^2) rho / M N_A."""
    p = simulators.chemistry.load_params(material)
    d = np.asarray(diameter_nm, dtype=float)
    s = np.nan_to_num(np.asarray(size_rsd, dtype=float), nan=0.0)
    d3 = d**3 * (1.0 + 3.0 * s**2)  # <d^3>, nm^3 (exact for a symmetric distribution)
    return np.pi / 6.0 * d3 * 1e-21 * p.density_g_cm3 / p.molar_mass_g_mol * N_A  # nm3 -> cm3


def particle_mM(material: str, out: Mapping[str, np.ndarray]) -> np.ndarray:
    """Formula units in dots (mM) from ``dots_uM``, ``diameter_nm`` and ``size_rsd`` alone."""
    return (
        np.asarray(out["dots_uM"], dtype=float)
        * 1e-3
        * formula_units_per_dot(material, out["diameter_nm"], out["size_rsd"])
    )


def mass_ratio(material: str, out: Mapping[str, np.ndarray]) -> np.ndarray:
    """Particle material / converted precursor (limiting_mM x converted); NaN where either is absent."""
    conv = np.asarray(out["limiting_mM"], dtype=float) * np.asarray(out["converted"], dtype=float)
    part = particle_mM(material, out)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(conv > 0, part / conv, np.nan)
    return np.where(np.isfinite(part), r, np.nan)


def _hist_bins(material: str) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres (nm) of the histogram ``steady_state_arrays(with_hist=True)`` returns and which bins
    count as dots (not public API: ``simulators.chemistry.optics.size_bins``)."""
    from simulators.chemistry.optics import size_bins

    b = size_bins(material)
    return b.d_nm, b.is_dot


def d3_correction_error(material: str, out: Mapping[str, np.ndarray]) -> np.ndarray:
    """|d^3 (1 + 3 s^2) / <d^3> - 1| with <d^3> the dots' exact moment from ``out["hist"]``."""
    d, is_dot = _hist_bins(material)
    h = np.where(is_dot[None, :], out["hist"], 0.0)
    n = h.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(n > 0, (h * d**3).sum(axis=1) / n, np.nan)
        est = np.asarray(out["diameter_nm"]) ** 3 * (1.0 + 3.0 * np.asarray(out["size_rsd"]) ** 2)
        return np.abs(est / exact - 1.0)


def mass_balance(material: str, n: int = 512, seed: int = 0, *, threshold: float = 1.1) -> dict[str, Any]:
    """Mass ratio over fuzzed conditions (``fuzz_conditions``) from the outputs alone, plus the exact
    histogram moment for comparison (``with_hist``)."""
    cond = fuzz_conditions(material, n, seed)
    out = _steady.steady_state_arrays(material, cond, with_hist=True)
    ratio = mass_ratio(material, out)
    ok = np.isfinite(ratio)
    # exact: all particles in the histogram (clusters included) and dots only, in mM
    d, _ = _hist_bins(material)
    p = simulators.chemistry.load_params(material)
    per_nm3 = 1e-21 * p.density_g_cm3 / p.molar_mass_g_mol * N_A  # formula units per nm3
    hist = out["hist"]  # number density, 1/m3, per bin
    all_mM = (hist * (np.pi / 6.0 * d**3)).sum(axis=1) * per_nm3 / N_A  # mol/m3 = mM
    conv = out["limiting_mM"] * out["converted"]
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.where(conv > 0, all_mM / conv, np.nan)
        yield_ratio = np.where(conv > 0, out["yield"] * out["limiting_mM"] / conv, np.nan)
    d3_err = d3_correction_error(material, out)
    mass_error = out.get("mass_error")  # absent before the kinetics rewrite adds it
    tau = out["residence_time_s"]
    r_ok = ratio[ok]
    bounds = simulators.describe(material)
    inside = ok & np.all([(cond[d["name"]] >= d["low"]) | (cond[d["name"]] == 0) for d in bounds], axis=0)
    worst = int(np.nanargmax(np.where(ok, ratio, -np.inf))) if ok.any() else None
    return {
        "material": material,
        "n": int(ratio.size),
        "n_with_dots": int(ok.sum()),
        "tau_max_s": float(np.max(tau)),
        "frac_above": float(np.mean(r_ok > threshold)) if ok.any() else None,
        "threshold": threshold,
        "max_ratio": float(r_ok.max()) if ok.any() else None,
        "n_in_bounds": int(inside.sum()),
        "frac_above_in_bounds": float(np.mean(ratio[inside] > threshold)) if inside.any() else None,
        "max_ratio_in_bounds": float(ratio[inside].max()) if inside.any() else None,
        "median_ratio": float(np.median(r_ok)) if ok.any() else None,
        "max_ratio_exact_hist": float(np.nanmax(exact)) if np.isfinite(exact).any() else None,
        "frac_above_exact_hist": float(np.mean(exact[np.isfinite(exact)] > threshold))
        if np.isfinite(exact).any()
        else None,
        "d3_correction_max_rel_err": float(np.nanmax(d3_err)) if np.isfinite(d3_err).any() else None,
        "d3_correction_median_rel_err": float(np.nanmedian(d3_err)) if np.isfinite(d3_err).any() else None,
        "max_yield_over_converted": float(np.nanmax(yield_ratio)) if np.isfinite(yield_ratio).any() else None,
        "max_abs_mass_error": (float(np.nanmax(np.abs(mass_error))) if mass_error is not None else None),
        "worst": None
        if worst is None
        else {
            **{k: float(cond[k][worst]) for k in cond},
            "residence_time_s": float(tau[worst]),
            "ratio": float(ratio[worst]),
            "diameter_nm": float(out["diameter_nm"][worst]),
            "converted": float(out["converted"][worst]),
        },
        "_ratio": ratio,
        "_tau": tau,  # for the figure; dropped from JSON
    }


def cli_mass_check(material: str, n: int = 8, seed: int = 1, python: str | None = None) -> dict[str, Any]:
    """The mass ratio through ``qdlab simulate --input file.csv --json`` vs ``evaluate_many``.

    The CLI accepts only conditions inside ``describe()``'s bounds (flows may be 0), so the sample is
    ``n`` Sobol points plus the slowest in-bounds corner at the hottest and coolest temperature.
    """
    table = simulators.describe(material)
    cond = {k: list(v) for k, v in sobol_conditions(material, n, seed).items()}
    for t in ("high", "low"):
        for d in table:
            cond[d["name"]].append(d[t] if d["kind"] == "temperature" else d["low"])
    names = [d["name"] for d in table]
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "conditions.csv"
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(names)
            for i in range(len(cond[names[0]])):
                w.writerow([repr(float(cond[k][i])) for k in names])
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.run(
            [
                python or sys.executable,
                "-m",
                "lab.cli",
                "simulate",
                "--material",
                material,
                "--input",
                str(path),
                "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"qdlab simulate failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    keys = ("dots_uM", "diameter_nm", "size_rsd", "limiting_mM", "converted")
    cli = {k: np.array([np.nan if r.get(k) is None else r[k] for r in rows], dtype=float) for k in keys}
    api = simulators.evaluate_many(material, {k: np.asarray(v) for k, v in cond.items()})
    r_cli, r_api = mass_ratio(material, cli), mass_ratio(material, api)
    both = np.isfinite(r_cli) & np.isfinite(r_api)
    same_nan = bool(np.array_equal(np.isfinite(r_cli), np.isfinite(r_api)))
    return {
        "material": material,
        "n": len(rows),
        "n_with_dots": int(both.sum()),
        "max_ratio_cli": float(np.nanmax(r_cli)) if both.any() else None,
        "max_abs_diff_cli_vs_api": float(np.max(np.abs(r_cli[both] - r_api[both]))) if both.any() else None,
        "same_missing": same_nan,
    }


# ----------------------------------------------------------------------------------------------
# c. Yang 2009


def load_lab_rig(path: pathlib.Path) -> dict[str, Any]:
    """Reactor, stocks, pump and heater limits of a lab file, loaded as ``qdlab run --lab`` loads it
    (``lab.config.files.load_lab``; the reactor as ``lab.run.rig_builder.build_rig`` builds it)."""
    from lab.config.files import load_lab

    lab = load_lab(path)
    return {
        "name": lab.name,
        "reactor": lab.reactor.geometry(),
        "stocks_mM": {p.reagent: p.stock for p in lab.pumps.values()},
        "rates_ul_min": {p.reagent: (p.min_rate, p.max_rate) for p in lab.pumps.values()},
        "temperature_c": (lab.heater.min_temperature, lab.heater.max_temperature),
    }


def yang_conditions(
    material: str, rig: Mapping[str, Any], n: int, seed: int = 0, tau_s: tuple[float, float] = YANG["tau_s"]
) -> dict[str, np.ndarray]:
    """Conditions at residence ``tau_s`` over the rig's pump and heater ranges and the stream fractions
    (which set the concentrations and the metal:partner ratio); points a pump cannot deliver are dropped."""
    table = simulators.describe(material)
    temp = next(d for d in table if d["kind"] == "temperature")
    t_lo, t_hi = max(temp["low"], rig["temperature_c"][0]), min(temp["high"], rig["temperature_c"][1])
    flows = [d["name"][len("flow_") :] for d in table if d["kind"] == "flow"]
    u = qmc.Sobol(2 + len(flows), scramble=True, seed=seed).random(n)
    tau = tau_s[0] + u[:, 0] * (tau_s[1] - tau_s[0])
    q_tot = rig["reactor"].reactor_volume_ul / tau * 60.0
    w = -np.log(np.maximum(u[:, 2:], 1e-12))  # flat Dirichlet over the stream fractions
    frac = w / w.sum(axis=1, keepdims=True)
    cond = {temp["name"]: t_lo + u[:, 1] * (t_hi - t_lo)}
    keep = np.ones(n, dtype=bool)
    for i, s in enumerate(flows):
        q = q_tot * frac[:, i]
        lo, hi = rig["rates_ul_min"].get(s, (0.0, np.inf))
        keep &= ((q >= lo) | (q == 0)) & (q <= hi)
        cond[f"flow_{s}"] = q
    return {k: v[keep] for k, v in cond.items()}


def yang_comparison(path: pathlib.Path = YANG_LAB, n: int = 512, seed: int = 0) -> dict[str, Any]:
    """CdSe at 8-10 s on the Yang lab's rig beside Yang 2009; PL peak vs temperature at 9 s."""
    if not path.is_file():
        return {"skipped": f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} does not exist"}
    rig = load_lab_rig(path)
    kw = {"reactor": rig["reactor"], "stocks_mM": rig["stocks_mM"]}
    cond = yang_conditions("CdSe", rig, n, seed)
    out = simulators.evaluate_many("CdSe", cond, **kw)
    spans = {k: _span(out[k]) for k in ("diameter_nm", "pl_peak_nm", "pl_fwhm_nm", "plqy")}
    # hotter gives redder at fixed short residence: 9 s, the describe() defaults' stream fractions
    table = simulators.describe("CdSe")
    temp = next(d for d in table if d["kind"] == "temperature")
    t = np.linspace(max(temp["low"], rig["temperature_c"][0]), min(temp["high"], rig["temperature_c"][1]), 25)
    defaults = {d["name"]: d["default"] for d in table if d["kind"] == "flow"}
    q9 = rig["reactor"].reactor_volume_ul / 9.0 * 60.0
    scale = q9 / sum(defaults.values())
    scan = simulators.evaluate_many(
        "CdSe", {"temperature": t, **{k: v * scale for k, v in defaults.items()}}, **kw
    )
    pl = scan["pl_peak_nm"]
    f = np.isfinite(pl)
    dpl = np.diff(pl[f])
    return {
        "lab": rig["name"],
        "reactor_volume_ul": rig["reactor"].reactor_volume_ul,
        "n": int(out["residence_time_s"].size),
        "n_ok": int(np.sum(out["failure"] == None)),  # noqa: E711
        "spans": spans,
        "paper": {k: YANG[k] for k in spans},
        "scan_temperature_c": t.tolist(),
        "scan_pl_peak_nm": [None if not np.isfinite(x) else float(x) for x in pl],
        "scan_flows_ul_min": {k: v * scale for k, v in defaults.items()},
        "hotter_redder": bool(f.sum() >= 2 and np.all(dpl >= 0)),
        "pl_change_over_scan_nm": float(pl[f][-1] - pl[f][0]) if f.sum() >= 2 else None,
    }


# ----------------------------------------------------------------------------------------------
# d. convergence


def _default_steps() -> int:
    from simulators.chemistry.kinetics import make_time_grid

    return int(inspect.signature(make_time_grid).parameters["n_steps"].default)


@contextlib.contextmanager
def refined(factor: int) -> Iterator[dict[str, Any]]:
    """Evaluate with a ``factor`` x finer time grid: ``steady_state_arrays(resolution=...)`` if the
    simulator offers it, else by replacing ``steady._grid`` with ``make_time_grid(n, n_steps=factor x
    default)``. Yields the keyword arguments to pass (empty for the patch)."""
    params = inspect.signature(_steady.steady_state_arrays).parameters
    if "resolution" in params:
        default = params["resolution"].default
        if not isinstance(default, (int, float)) or isinstance(default, bool):
            raise RuntimeError(
                f"steady_state_arrays(resolution=...) has default {default!r}: "
                "don't know how to make it 4x finer"
            )
        yield {"resolution": type(default)(default * factor)}
        return
    if not hasattr(_steady, "_grid"):
        raise RuntimeError("no resolution keyword and no steady._grid to refine: cannot check convergence")
    from simulators.chemistry.kinetics import make_time_grid

    original = _steady._grid
    steps = _default_steps() * factor
    _steady._grid = lambda n_tanks, *_, **__: make_time_grid(n_tanks, n_steps=steps)
    try:
        yield {}
    finally:
        _steady._grid = original


def convergence(material: str, n: int = 256, seed: int = 0, factor: int = 4) -> dict[str, Any]:
    """Default grid vs ``factor`` x finer: |dPL|, |dFWHM| (nm) and relative particle number."""
    cond = sobol_conditions(material, n, seed)
    base = _steady.steady_state_arrays(material, cond)
    with refined(factor) as kw:
        fine = _steady.steady_state_arrays(material, cond, **kw)
    both = np.isfinite(base["pl_peak_nm"]) & np.isfinite(fine["pl_peak_nm"])
    d_pl = np.abs(fine["pl_peak_nm"] - base["pl_peak_nm"])[both]
    d_fw = np.abs(fine["pl_fwhm_nm"] - base["pl_fwhm_nm"])[both]
    d_n = np.abs(fine["dots_uM"] / base["dots_uM"] - 1.0)[both]
    changed = int(np.sum(np.isfinite(base["pl_peak_nm"]) != np.isfinite(fine["pl_peak_nm"])))

    def stats(x: np.ndarray) -> dict[str, float | None]:
        return {
            "median": float(np.median(x)) if x.size else None,
            "max": float(np.max(x)) if x.size else None,
        }

    return {
        "material": material,
        "n": int(n),
        "n_compared": int(both.sum()),
        "factor": factor,
        "method": "resolution keyword"
        if kw
        else f"patched steady._grid, n_steps {_default_steps()} -> {_default_steps() * factor}",
        "failure_changed": changed,
        "d_pl_nm": stats(d_pl),
        "d_fwhm_nm": stats(d_fw),
        "rel_dots": stats(d_n),
        "_pl_base": base["pl_peak_nm"],
        "_pl_fine": fine["pl_peak_nm"],
    }


# ----------------------------------------------------------------------------------------------
# e. smoothness


def hot_slow_corner(material: str, margin: float = 0.95) -> dict[str, Any]:
    """The hottest temperature and the slowest total flow (describe() defaults' stream fractions,
    every flow inside its bounds) whose clog risk stays below ``margin``."""
    table = simulators.describe(material)
    temp = next(d for d in table if d["kind"] == "temperature")
    flows = {d["name"]: d for d in table if d["kind"] == "flow"}
    frac = {k: d["default"] for k, d in flows.items()}
    total = sum(frac.values())
    frac = {k: v / total for k, v in frac.items()}
    q_lo = max(d["low"] / frac[k] for k, d in flows.items() if frac[k] > 0)
    q_hi = min(d["high"] / frac[k] for k, d in flows.items() if frac[k] > 0)
    q = np.geomspace(q_lo, q_hi, 400)
    cond = {temp["name"]: np.full_like(q, temp["high"]), **{k: q * f for k, f in frac.items()}}
    risk = simulators.chemistry.clog_risk(material, cond)
    ok = np.nonzero(risk < margin)[0]
    if ok.size == 0:
        raise RuntimeError(f"{material}: every flow clogs at {temp['high']} degC")
    return {
        "temperature_c": temp["high"],
        "t_low_c": temp["low"],
        "q_total": float(q[ok[0]]),
        "q_max": float(q_hi),
        "fractions": frac,
    }


def _reversals(y: np.ndarray, tol: float = 1e-3) -> int:
    """Sign changes of the slope, ignoring steps smaller than ``tol`` (nm)."""
    d = np.diff(_finite(y))
    s = np.sign(d[np.abs(d) > tol])
    return int(np.sum(s[1:] != s[:-1]))


def smoothness(
    material: str, t_span_c: float = 30.0, t_step_c: float = 0.5, n_tau: int = 161
) -> dict[str, Any]:
    """Temperature scan (``t_step_c`` steps over the top ``t_span_c``) at the slowest safe flow, and a
    residence-time scan (``n_tau`` log-spaced total flows up to 8x the slowest) at the hottest setting."""
    c = hot_slow_corner(material)
    t = np.arange(c["temperature_c"] - t_span_c, c["temperature_c"] + 1e-9, t_step_c)
    tscan = simulators.evaluate_many(
        material, {"temperature": t, **{k: c["q_total"] * f for k, f in c["fractions"].items()}}
    )
    q = np.geomspace(c["q_total"], min(8 * c["q_total"], c["q_max"]), n_tau)
    qscan = simulators.evaluate_many(
        material,
        {"temperature": np.full_like(q, c["temperature_c"]), **{k: q * f for k, f in c["fractions"].items()}},
    )

    def summary(y: np.ndarray) -> dict[str, Any]:
        d = np.abs(np.diff(y))
        return {
            "max_step_nm": float(np.nanmax(d)) if np.isfinite(d).any() else None,
            "reversals": _reversals(y),
            "n_missing": int(np.sum(~np.isfinite(y))),
        }

    return {
        "material": material,
        "corner": {k: c[k] for k in ("temperature_c", "q_total")},
        "tau_s": float(tscan["residence_time_s"][0]),
        "temperature_scan": {"t_c": (float(t[0]), float(t[-1]), t_step_c), **summary(tscan["pl_peak_nm"])},
        "tau_scan": {
            "tau_s": (float(qscan["residence_time_s"].min()), float(qscan["residence_time_s"].max())),
            **summary(qscan["pl_peak_nm"]),
        },
        "_t": t,
        "_t_pl": tscan["pl_peak_nm"],
        "_tau": qscan["residence_time_s"],
        "_tau_pl": qscan["pl_peak_nm"],
    }


# ----------------------------------------------------------------------------------------------
# report


def _meta() -> dict[str, Any]:
    """Which simulator produced the numbers: the last commit touching simulators/ or models/ (marked if
    they have uncommitted changes) and the date."""
    import datetime

    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else "?"

    dirty = git("status", "--porcelain", "--", "simulators", "models")
    return {
        "commit": git("log", "-1", "--format=%h", "--", "simulators", "models")
        + ("+uncommitted simulators/models" if dirty else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def run_all(
    n: int = 256, n_fuzz: int = 512, materials: tuple[str, ...] = MATERIALS, cli: bool = True
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "meta": _meta(),
        "ranges": [figure_ranges(m, n) for m in materials],
        "mass": [mass_balance(m, n_fuzz) for m in materials],
        "mass_cli": [cli_mass_check(m) for m in materials] if cli else [],
        "yang": yang_comparison(),
        "convergence": [convergence(m, n) for m in materials],
        "smoothness": [smoothness(m) for m in materials],
    }
    return res


def public(res: Any) -> Any:
    """``res`` without the arrays kept for figures (keys starting with '_'), JSON-ready."""
    if isinstance(res, dict):
        return {k: public(v) for k, v in res.items() if not k.startswith("_")}
    if isinstance(res, (list, tuple)):
        return [public(v) for v in res]
    if isinstance(res, float) and not math.isfinite(res):
        return None
    if isinstance(res, np.generic):
        return res.item()
    return res


def _g(x: float | None, fmt: str = "{:.3g}") -> str:
    return _fmt(x, fmt)


def mass_table(rows: list[dict[str, Any]], cli_rows: list[dict[str, Any]] = ()) -> str:
    cli = {r["material"]: r for r in cli_rows}
    head = [
        "material",
        "conditions (with dots)",
        "longest tau (s)",
        "median ratio",
        f"fraction > {rows[0]['threshold']} (of those with dots)",
        "max ratio",
        "in describe() bounds: fraction > 1.1 / max (n)",
        "max ratio, exact <d^3> incl. clusters",
        "error of d^3 (1 + 3 RSD^2) vs exact: median / max",
        "max yield/converted",
        "max abs mass_error",
        "CLI: max ratio (n) / max diff vs API",
    ]
    body = []
    for r in rows:
        c = cli.get(r["material"])
        c_txt = (
            "-"
            if c is None
            else f"{_g(c['max_ratio_cli'])} ({c['n_with_dots']}/{c['n']}) / {_g(c['max_abs_diff_cli_vs_api'], '{:.1e}')}"
        )
        body.append(
            [
                r["material"],
                f"{r['n']} ({r['n_with_dots']})",
                f"{r['tau_max_s']:.0f}",
                _g(r["median_ratio"]),
                _g(None if r["frac_above"] is None else 100 * r["frac_above"], "{:.1f} %"),
                _g(r["max_ratio"]),
                f"{_g(None if r['frac_above_in_bounds'] is None else 100 * r['frac_above_in_bounds'], '{:.1f} %')} / "
                f"{_g(r['max_ratio_in_bounds'])} ({r['n_in_bounds']})",
                _g(r["max_ratio_exact_hist"]),
                "-"
                if r["d3_correction_max_rel_err"] is None
                else f"{100 * r['d3_correction_median_rel_err']:.2f} % / {100 * r['d3_correction_max_rel_err']:.1f} %",
                _g(r["max_yield_over_converted"]),
                _g(r["max_abs_mass_error"]),
                c_txt,
            ]
        )
    return "\n".join(_md_table(head, body))


def yang_table(y: dict[str, Any]) -> str:
    if "skipped" in y:
        return f"Yang 2009 comparison skipped: {y['skipped']}."
    units = {
        "diameter_nm": ("diameter (nm)", "{:.2f}", 1),
        "pl_peak_nm": ("PL peak (nm)", "{:.0f}", 1),
        "pl_fwhm_nm": ("PL FWHM (nm)", "{:.0f}", 1),
        "plqy": ("PLQY (%)", "{:.0f}", 100),
    }
    lines = [
        f"Rig `{y['lab']}` ({y['reactor_volume_ul']:g} uL coil), {y['n']} conditions at 8-10 s, {y['n_ok']} with dots.",
        "",
        *_md_table(
            ["figure", "model span", "Yang 2009"],
            (
                [label, _fmt_span(y["spans"][k], fmt, sc), _fmt_span(y["paper"][k], fmt, sc)]
                for k, (label, fmt, sc) in units.items()
            ),
        ),
    ]
    pl = [p for p in y["scan_pl_peak_nm"] if p is not None]
    lines += [
        "",
        f"PL peak at 9 s vs temperature ({y['scan_temperature_c'][0]:.0f}-{y['scan_temperature_c'][-1]:.0f} degC): "
        f"{_g(pl[0] if pl else None, '{:.0f}')} -> {_g(pl[-1] if pl else None, '{:.0f}')} nm; "
        f"hotter gives redder (monotone): {'yes' if y['hotter_redder'] else 'no'}.",
    ]
    return "\n".join(lines)


def convergence_table(rows: list[dict[str, Any]]) -> str:
    head = [
        "material",
        "compared",
        "failure changed",
        "median / max abs dPL (nm)",
        "median / max abs dFWHM (nm)",
        "median / max abs dN/N",
        "method",
    ]
    body = []
    for r in rows:
        body.append(
            [
                r["material"],
                str(r["n_compared"]),
                str(r["failure_changed"]),
                f"{_g(r['d_pl_nm']['median'], '{:.2f}')} / {_g(r['d_pl_nm']['max'], '{:.1f}')}",
                f"{_g(r['d_fwhm_nm']['median'], '{:.2f}')} / {_g(r['d_fwhm_nm']['max'], '{:.1f}')}",
                f"{_g(r['rel_dots']['median'], '{:.3f}')} / {_g(r['rel_dots']['max'], '{:.2f}')}",
                r["method"],
            ]
        )
    return "\n".join(_md_table(head, body))


def _scan_steps(scan: dict[str, Any]) -> str:
    """A scan's largest PL step and its reversals (and how many points gave no PL, if any)."""
    missing = f" ({scan['n_missing']} missing)" if scan["n_missing"] else ""
    return f"{_g(scan['max_step_nm'], '{:.2f}')} / {scan['reversals']}{missing}"


def smoothness_table(rows: list[dict[str, Any]]) -> str:
    head = [
        "material",
        "corner (degC, uL/min total, tau s)",
        "T scan",
        "T scan: max abs dPL (nm) / reversals",
        "tau scan (s)",
        "tau scan: max abs dPL (nm) / reversals",
    ]
    body = []
    for r in rows:
        ts, qs = r["temperature_scan"], r["tau_scan"]
        body.append(
            [
                r["material"],
                f"{r['corner']['temperature_c']:.0f}, {r['corner']['q_total']:.1f}, {r['tau_s']:.0f}",
                f"{ts['t_c'][0]:.0f}-{ts['t_c'][1]:.0f} by {ts['t_c'][2]:g}",
                _scan_steps(ts),
                f"{qs['tau_s'][0]:.0f}-{qs['tau_s'][1]:.0f}",
                _scan_steps(qs),
            ]
        )
    return "\n".join(_md_table(head, body))


def markdown(res: dict[str, Any]) -> str:
    parts = [
        "### a. Ranges over Sobol conditions vs Table 1",
        ranges_table(res["ranges"]),
        "### b. Mass: particle material / converted precursor (from the outputs)",
        mass_table(res["mass"], res.get("mass_cli", [])),
        "### c. Yang 2009 (CdSe, 8-10 s)",
        yang_table(res["yang"]),
        "### d. Convergence: default vs 4x finer time grid",
        convergence_table(res["convergence"]),
        "### e. Smoothness in the hot, slow corner",
        smoothness_table(res["smoothness"]),
    ]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="JSON on stdout instead of markdown")
    ap.add_argument("--write", type=pathlib.Path, help="also write the JSON to this file")
    ap.add_argument("--n", type=int, default=256, help="Sobol conditions per material (a, d)")
    ap.add_argument("--n-fuzz", type=int, default=512, help="random fuzzed conditions per material (b)")
    ap.add_argument("--material", action="append", choices=MATERIALS, help="only these materials")
    ap.add_argument("--no-cli", action="store_true", help="skip the qdlab simulate CSV check")
    args = ap.parse_args(argv)
    res = run_all(args.n, args.n_fuzz, tuple(args.material or MATERIALS), cli=not args.no_cli)
    data = public(res)
    if args.write:
        args.write.write_text(json.dumps(data, indent=1) + "\n")
    if args.json:
        print(json.dumps(data, indent=1))
    else:
        print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
