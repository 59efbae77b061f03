"""Calibration check of the simulated chemistry (issue 13): per material over 256 scrambled-Sobol
conditions of describe()'s bounds, the PL span, narrowest FWHM and PLQY range beside REFERENCE.md
Table 1; the Yang et al. 2009 flow anchor on lab/examples/sim-cdse-yang.toml; and the fraction of the
cdse-green campaign's search space (4096 Sobol points) that reaches its target.

Run: PYTHONPATH=. .venv/bin/python scripts/materials_table.py [--quick]
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import numpy as np
from scipy.stats import qmc

import simulators
from models.materials import MATERIALS, get_optics

ROOT = Path(__file__).resolve().parents[1]


def sobol(material: str, n: int = 256, seed: int = 0) -> dict[str, np.ndarray]:
    ds = simulators.describe(material)
    x = qmc.Sobol(len(ds), seed=seed).random(n)
    return {d["name"]: d["low"] + x[:, i] * (d["high"] - d["low"]) for i, d in enumerate(ds)}


def material_row(material: str) -> dict:
    out = simulators.evaluate_many(material, sobol(material))
    pl, fw, q = out["pl_peak_nm"], out["pl_fwhm_nm"], out["plqy"]
    ok = np.isfinite(pl)
    row = {
        "material": material,
        "pl_min": np.nanmin(pl),
        "pl_max": np.nanmax(pl),
        "fwhm_min": np.nanmin(fw),
        "fwhm_med": np.nanmedian(fw),
        "plqy_min": np.nanmin(q),
        "plqy_max": np.nanmax(q),
        "plqy_med": np.nanmedian(q),
        "fail": float(np.mean(~ok)),
        "clog": float(np.mean(out["failure"] == "clog")),
        "table": get_optics(material),
    }
    if material == "PbS":
        near = ok & (pl > 1350) & (pl < 1650)
        row["below_600"] = float(np.mean(pl[ok] < 600))
        row["n_near_1500"] = int(near.sum())
        row["fwhm_near_1500"] = float(np.nanmin(fw[near])) if near.any() else np.nan
        row["plqy_near_1500"] = float(np.nanmax(q[near])) if near.any() else np.nan
    return row


YANG_FRACTIONS = ((0.5, 0.5), (0.6, 0.4), (0.4, 0.6), (0.3, 0.3), (0.25, 0.5), (0.2, 0.2))


def yang(
    temps: tuple[float, ...] = (240.0, 260.0, 280.0, 300.0, 320.0),
    taus: tuple[float, ...] = (8.0, 9.0, 10.0),
    fractions: tuple[tuple[float, float], ...] = YANG_FRACTIONS,
) -> dict:
    """CdSe on lab/examples/sim-cdse-yang.toml at each residence time ``taus`` (s), temperature ``temps``
    (degC) and Cd / Se share of the flow ``fractions`` (solvent the rest): the conditions and what the
    simulator gives. A residence time the pumps cannot reach is refused (ValueError)."""
    from lab.config.files import load_lab

    lab = load_lab(ROOT / "lab" / "examples" / "sim-cdse-yang.toml")
    stocks = {p.reagent: p.stock for p in lab.pumps.values()}
    max_rate = min(p.max_rate for p in lab.pumps.values())
    rows = []
    for tau in taus:
        q = lab.reactor.volume / (tau / 60.0)
        if q > max_rate:
            raise ValueError(f"a {tau} s residence time needs {q} uL/min, above the pumps' {max_rate}")
        for t in temps:
            for f_cd, f_se in fractions:
                rows.append(
                    {
                        "temperature": t,
                        "flow_cd": f_cd * q,
                        "flow_se": f_se * q,
                        "flow_solvent": (1 - f_cd - f_se) * q,
                    }
                )
    out = simulators.evaluate_many("CdSe", rows, reactor=lab.reactor.geometry(), stocks_mM=stocks)
    return {"rows": rows, "out": out}


def green_fraction(n: int = 4096, campaign: str = "cdse-green", lab_file: str = "sim-cdse.toml") -> float:
    from campaigns.conditions import to_setpoints
    from lab.config.files import load_lab

    spec = tomllib.loads((ROOT / "campaigns" / "examples" / f"{campaign}.toml").read_text())
    lab = load_lab(ROOT / "lab" / "examples" / lab_file)
    stocks = {p.reagent: p.stock for p in lab.pumps.values()}
    params = spec["search"]["parameters"]

    def num(v):
        return float(str(v).split()[0]) * (60.0 if str(v).endswith("min") else 1.0)

    x = qmc.Sobol(len(params), seed=0).random(n)
    conds, ok = [], []
    for row in x:
        vals = {}
        for i, p in enumerate(params):
            lo, hi = num(p["low"]), num(p["high"])
            vals[p["name"]] = (
                np.exp(np.log(lo) + row[i] * np.log(hi / lo)) if p.get("log") else lo + row[i] * (hi - lo)
            )
        try:
            sp = to_setpoints(vals, kind="chemical", reactor_volume_ul=lab.reactor.volume, stocks_mM=stocks)
        except ValueError:
            ok.append(False)
            conds.append(None)
            continue
        ok.append(True)
        conds.append(
            {"temperature": sp.temperature_c, **{f"flow_{r}": f for r, f in sp.flows_ul_min.items()}}
        )
    good = [c for c in conds if c is not None]
    out = simulators.evaluate_many(
        spec["material"],
        good,
        reactor=simulators.ReactorGeometry(reactor_volume_ul=lab.reactor.volume),
        stocks_mM=stocks,
    )
    reach = spec["objective"]["reached"]
    hit = np.ones(len(good), bool)
    for k, (lo, hi) in reach.items():
        v = out[k]
        hit &= np.isfinite(v) & (v >= lo) & (v <= hi)
    return float(hit.sum()) / n, out


def main() -> None:
    quick = "--quick" in sys.argv
    print(
        f"{'material':8s} {'PL span nm':>14s} {'Table':>10s} {'min FWHM':>8s} {'med':>5s} {'Table':>7s} "
        f"{'PLQY range':>11s} {'med':>5s} {'fail':>5s}"
    )
    for m in MATERIALS:
        r = material_row(m)
        t = r["table"]
        print(
            f"{m:8s} {r['pl_min']:6.0f}-{r['pl_max']:<6.0f} {t.emission_range_nm[0]:4.0f}-{t.emission_range_nm[1]:<4.0f} "
            f"{r['fwhm_min']:8.1f} {r['fwhm_med']:5.0f} {t.fwhm_range_nm[0]:3.0f}-{t.fwhm_range_nm[1]:<3.0f} "
            f"{r['plqy_min']:5.2f}-{r['plqy_max']:<5.2f} {r['plqy_med']:5.2f} {r['fail']:5.1%}"
        )
        if m == "PbS":
            print(
                f"   PbS: below 600 nm {r['below_600']:.1%}; {r['n_near_1500']} points at 1350-1650 nm: narrowest "
                f"FWHM {r['fwhm_near_1500']:.0f} nm, best PLQY {r['plqy_near_1500']:.2f}"
            )
    y = yang()
    o = y["out"]
    ok = np.isfinite(o["pl_peak_nm"])
    print(
        f"Yang (8-10 s): d {np.nanmin(o['diameter_nm']):.2f}-{np.nanmax(o['diameter_nm']):.2f} nm, PL "
        f"{np.nanmin(o['pl_peak_nm']):.0f}-{np.nanmax(o['pl_peak_nm']):.0f}, FWHM {np.nanmin(o['pl_fwhm_nm']):.0f}-"
        f"{np.nanmax(o['pl_fwhm_nm']):.0f}, PLQY {np.nanmin(o['plqy']):.2f}-{np.nanmax(o['plqy']):.2f}, failures {np.mean(~ok):.0%}"
    )
    if not quick:
        frac, _ = green_fraction()
        print(f"cdse-green target reached at {frac:.2%} of 4096 Sobol points")
        frac, _ = green_fraction(1024, "pbs-swir", "sim-pbs.toml")
        print(f"pbs-swir target reached at {frac:.2%} of 1024 Sobol points")


if __name__ == "__main__":
    main()
