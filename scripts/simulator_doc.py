"""Regenerate the generated parts of docs/simulator.md, its validation figures and numbers.

Run: PYTHONPATH=$PWD .venv/bin/python scripts/simulator_doc.py [--no-existing-figures] [--n 256]

Ownership: the generator owns only the blocks between ``<!-- generated: NAME ... -->`` and
``<!-- end generated: NAME -->`` in docs/simulator.md and rewrites them from the model; every line
outside those blocks is hand-written and kept as it is (headings, prose, a hand-written section such
as "Quality (PLQY)", with or without ``<!-- hand-written: ... -->`` markers). A block missing from the
doc is appended at its end (and reported). Writes:

- docs/simulator.md (blocks ``calibration``, ``validation``, ``numerics``),
- docs/simulator-validation.json (the numbers now; docs/simulator-before.json is the frozen "before"
  run of scripts/validate_simulator.py --write, shown beside them),
- docs/img/sim_mass_balance.png, sim_convergence.png, sim_scans.png, and (unless
  ``--no-existing-figures``) the figures of scripts/plot_simulator.py.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys
import tomllib
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import validate_simulator as vs  # noqa: E402
from simulators.chemistry.parameters import _FILES  # noqa: E402

DOC = ROOT / "docs" / "simulator.md"
IMG = ROOT / "docs" / "img"
BEFORE = ROOT / "docs" / "simulator-before.json"
NOW = ROOT / "docs" / "simulator-validation.json"
DATA = ROOT / "simulators" / "chemistry" / "data"
FILES = _FILES  # the calibration file of each material (simulators.chemistry.parameters)
DPI = 100

CITATIONS = {
    "table1": "Nature Reviews Methods Primers 2025, Table 1 (REFERENCE.md section 3)",
    "yang": "Yang et al., Cryst. Growth Des. 9, 1569 (2009)",
    "yu": "Yu, Qu, Guo, Peng, Chem. Mater. 15, 2854 (2003)",
    "moreels": "Moreels et al., ACS Nano 3, 3023 (2009)",
    "almeida": "Almeida et al., Nano Lett. 23, 8697 (2023)",
    "protesescu": "Protesescu et al., Nano Lett. 15, 3692 (2015)",
    "segets": "Wang & Segets, React. Chem. Eng. 2023",
    "commphys": "Commun. Phys. 2023 (bulk-like lead-bromide perovskite NCs, REFERENCE.md section 8)",
}

# ----------------------------------------------------------------------------------------------
# calibration tables from the toml files

_UNITS = {"k_conv_ref_s": "1/s", "nucleation_a": "1/(m3 s)", "plqy_t_width_c": "K", "tau_s": "s"}
_SUFFIX = (
    ("_mev_nm2", "meV nm2"),
    ("_kj_mol", "kJ/mol"),
    ("_j_m2", "J/m2"),
    ("_m2_s", "m2/s"),
    ("_m_s", "m/s"),
    ("_g_mol", "g/mol"),
    ("_g_cm3", "g/cm3"),
    ("_mev", "meV"),
    ("_mM", "mM"),
    ("_nm", "nm"),
    ("_c", "degC"),
    ("_s", "s"),
)
_CITED = re.compile(r"CRC handbook|[A-Z][A-Za-z&]+(?: et al\.)?,? (?:19|20)\d\d")
_SECTION_SOURCE = {
    "material": "handbook",
    "kinetics": "calibrated",
    "optics": "calibrated",
    "clog": "model choice",
    "temperature": "search space",
    "spectrometer": "instrument grid",
}


def unit_of(key: str) -> str:
    if key in _UNITS:
        return _UNITS[key]
    for suffix, unit in _SUFFIX:
        if key.endswith(suffix):
            return unit
    return "-"


def toml_comments(text: str) -> dict[str, str]:
    """``section.key`` -> the comment on its line (``# ...``), for one-line assignments."""
    section, out = "", {}
    for line in text.splitlines():
        m = re.match(r"\s*\[([^\]]+)\]", line)
        if m:
            section = m.group(1).strip()
            continue
        m = re.match(r"\s*([A-Za-z0-9_]+)\s*=\s*[^#]*?(?:#\s*(.*))?$", line)
        if m and m.group(2):
            out[f"{section}.{m.group(1)}"] = m.group(2).strip()
    return out


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def calibration_table(material: str) -> str:
    text = (DATA / FILES[material]).read_text()
    raw, comments = tomllib.loads(text), toml_comments(text)
    lines = [
        f"**{material}** (`simulators/chemistry/data/{FILES[material]}`)",
        "",
        "| parameter | value | unit | comment (from the toml) | source |",
        "|---|---|---|---|---|",
    ]
    for name, s in raw.get("streams", {}).items():
        lines.append(
            f"| streams.{name} | {_value(s.get('stock_mM'))} mM stock, {s.get('low'):g}-{s.get('high'):g} "
            f"uL/min (default {s.get('default'):g}) | mM, uL/min | role: {s.get('role')} | search space |"
        )
    for section, table in raw.items():
        if section == "streams" or not isinstance(table, dict):
            continue
        for key, v in table.items():
            if key in ("sources", "name"):
                continue
            comment = comments.get(f"{section}.{key}", "")
            cited = _CITED.search(comment)
            if "calibrated" in comment:
                source = "calibrated"
            elif cited:
                source = cited.group(0)
            else:
                source = _SECTION_SOURCE.get(section, "-")
            lines.append(
                f"| {section}.{key} | {_value(v)} | {unit_of(key)} | {comment.replace('|', '/')} | {source} |"
            )
    srcs = raw.get("material", {}).get("sources", [])
    if srcs:
        lines += ["", "Sources listed in the file: " + "; ".join(srcs) + "."]
    return "\n".join(lines)


def calibration_block() -> str:
    intro = (
        "Every constant of `simulators/chemistry/data/<material>.toml`, with the comment on its line. "
        'Source: the reference the comment names ("calibrated" where the comment says so); otherwise the role of the '
        "section: *calibrated* (kinetics, optics: fitted so the outputs land in REFERENCE.md section 3), "
        "*handbook*, *search space* (pump and heater bounds of `describe()`), *model choice*, *instrument grid*."
    )
    return "\n\n".join([intro, *(calibration_table(m) for m in vs.MATERIALS)])


# ----------------------------------------------------------------------------------------------
# validation against the literature, before and now


def _span_txt(s: Any, fmt: str = "{:.0f}", scale: float = 1.0) -> str:
    return vs._fmt_span(tuple(s) if s else None, fmt, scale)


def _by(rows: list[dict[str, Any]] | None, material: str) -> dict[str, Any] | None:
    return next((r for r in rows or [] if r.get("material") == material), None)


def _sizing_rows() -> list[list[str]]:
    """The model's band edge at a few sizes against the published formulas (computed here from the
    papers' expressions, REFERENCE.md section 2), plus the band-gap extinction exponent."""
    from models.sizing import band_edge_nm

    def yu_d(lam: float) -> float:
        return 1.6122e-9 * lam**4 - 2.6575e-6 * lam**3 + 1.6242e-3 * lam**2 - 0.4277 * lam + 41.57

    rows = []
    for d in (2.5, 4.0):
        lam = float(band_edge_nm("CdSe", d))
        rows.append(
            [
                "CdSe sizing",
                CITATIONS["yu"],
                f"d = {d} nm",
                f"band edge {lam:.0f} nm -> Yu d = {yu_d(lam):.2f} nm",
            ]
        )
    for d in (3.0, 6.0):
        e = 0.41 + 1.0 / (0.0252 * d**2 + 0.283 * d)
        rows.append(
            [
                "PbS sizing",
                CITATIONS["moreels"],
                f"d = {d} nm: {1239.84 / e:.0f} nm",
                f"{float(band_edge_nm('PbS', d)):.0f} nm",
            ]
        )
    for d in (3.0,):
        e = 1.33 + 1.219 * (np.pi * d**3 / 6.0) ** -0.251
        rows.append(
            [
                "InP sizing (volume-equivalent sphere)",
                CITATIONS["almeida"],
                f"d = {d} nm: {1239.84 / e:.0f} nm",
                f"{float(band_edge_nm('InP', d)):.0f} nm",
            ]
        )
    rows.append(
        [
            "CsPbBr3 sizing",
            CITATIONS["protesescu"] + " (effective-mass model, no agreed curve)",
            "bulk gap ~525 nm",
            f"d = 8 nm: {float(band_edge_nm('CsPbBr3', 8.0)):.0f} nm",
        ]
    )
    for m, lit, cite in (
        ("CdSe", "eps_1S ~ d^2.65", "yu"),
        ("PbS", "eps at the band gap ~ d^1.3", "moreels"),
    ):
        p = tomllib.loads((DATA / FILES[m]).read_text())
        rows.append(
            [
                f"{m} band-edge extinction",
                CITATIONS[cite],
                lit,
                f"optics.eps_exponent = {p['optics']['eps_exponent']:g}",
            ]
        )
    return rows


def literature_rows(res: dict[str, Any], label: str) -> dict[str, str]:
    """Key -> the model's figure for the literature table, from one validation result (public form)."""
    out: dict[str, str] = {}
    for r in res.get("ranges", []):
        m = r["material"]
        out[f"{m}.emission"] = f"{_span_txt(r['pl_span_nm'])} ({100 * r['emission_coverage']:.0f} % covered)"
        out[f"{m}.fwhm"] = (
            f"narrowest {vs._fmt(r['fwhm_min_nm'])}; near {r['near_nm']:.0f}: median "
            f"{vs._fmt(r['fwhm_near_median_nm'])}"
        )
        out[f"{m}.plqy"] = (
            f"{_span_txt(r['plqy_span'], scale=100)}; near {r['near_nm']:.0f}: {_span_txt(r['plqy_near_span'], scale=100)}"
        )
        out[f"{m}.rsd"] = vs._fmt(
            None if r.get("size_rsd_min") is None else 100 * r["size_rsd_min"], "{:.1f} %"
        )
    y = res.get("yang", {})
    if "spans" in y:
        s = y["spans"]
        out["yang"] = (
            f"{_span_txt(s['diameter_nm'], '{:.1f}')} nm, PL {_span_txt(s['pl_peak_nm'])}, FWHM "
            f"{_span_txt(s['pl_fwhm_nm'])}, PLQY {_span_txt(s['plqy'], scale=100)} %; hotter redder: "
            f"{'yes' if y['hotter_redder'] else 'no'}"
        )
    elif y:
        out["yang"] = "not run: " + y.get("skipped", "?")
    return out


def literature_table(now: dict[str, Any], before: dict[str, Any] | None) -> str:
    b = literature_rows(before, "before") if before else {}
    n = literature_rows(now, "now")
    spec = [
        ("CdSe emission (nm)", "table1", "430-650", "CdSe.emission"),
        ("CdSe PL FWHM (nm)", "table1", "20-30", "CdSe.fwhm"),
        ("CdSe PLQY (%)", "table1", "~100", "CdSe.plqy"),
        (
            "CdSe flow, 8-10 s",
            "yang",
            "2.1-4.0 nm, PL 483-600, FWHM 27-35, PLQY 12-50 %; hotter redder",
            "yang",
        ),
        ("PbS emission (nm)", "table1", "600-3000", "PbS.emission"),
        ("PbS PL FWHM (nm)", "table1", "~150 at 1500", "PbS.fwhm"),
        ("PbS PLQY (%)", "table1", "40-80 at 1500", "PbS.plqy"),
        ("InP/ZnSe/ZnS emission (nm)", "table1", "480-700", "InP.emission"),
        ("InP PL FWHM (nm)", "table1", "35-50", "InP.fwhm"),
        ("InP PLQY (%)", "table1", "90-100 (core/shell; the model is core-only)", "InP.plqy"),
        ("InP smallest size RSD", "segets", "7.7 %", "InP.rsd"),
        ("CsPbBr3 emission (nm)", "table1", "440-520", "CsPbBr3.emission"),
        ("CsPbBr3 PL FWHM (nm)", "commphys", "15-25; 22-25 near 525", "CsPbBr3.fwhm"),
        ("CsPbBr3 PLQY (%)", "table1", "~100", "CsPbBr3.plqy"),
    ]
    lines = ["| anchor | source | literature | model before | model now |", "|---|---|---|---|---|"]
    for label, cite, lit, key in spec:
        lines.append(f"| {label} | {CITATIONS[cite]} | {lit} | {b.get(key, '-')} | {n.get(key, '-')} |")
    lines += [
        "",
        "Sizing and extinction as implemented (`models.sizing`, the toml) against the published "
        "expressions, evaluated here:",
        "",
        "| check | source | literature | model |",
        "|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in _sizing_rows()]
    return "\n".join(lines)


def summary_table(now: dict[str, Any], before: dict[str, Any] | None) -> str:
    """Headline numerics per material, before and now."""

    def cells(res: dict[str, Any] | None, m: str) -> list[str]:
        if not res:
            return ["-"] * 4
        mb, cv, sm = _by(res.get("mass"), m), _by(res.get("convergence"), m), _by(res.get("smoothness"), m)
        return [
            "-"
            if not mb
            else f"{vs._g(None if mb['frac_above'] is None else 100 * mb['frac_above'], '{:.1f} %')} / {vs._g(mb['max_ratio'])}",
            "-"
            if not cv
            else f"{vs._g(cv['d_pl_nm']['median'], '{:.2f}')} / {vs._g(cv['d_pl_nm']['max'], '{:.1f}')}",
            "-"
            if not sm
            else f"{vs._g(sm['temperature_scan']['max_step_nm'], '{:.1f}')} / {sm['temperature_scan']['reversals']}",
            "-"
            if not sm
            else f"{vs._g(sm['tau_scan']['max_step_nm'], '{:.1f}')} / {sm['tau_scan']['reversals']}",
        ]

    head = [
        "material",
        "run",
        "mass ratio > 1.1 / max",
        "4x grid: median / max abs dPL (nm)",
        "0.5 degC scan: max abs dPL (nm) / reversals",
        "tau scan: max abs dPL (nm) / reversals",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in vs.MATERIALS:
        if before:
            lines.append("| " + " | ".join([m, "before", *cells(before, m)]) + " |")
        lines.append("| " + " | ".join([m, "now", *cells(now, m)]) + " |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# figures


def _save(fig: Any, name: str) -> str:
    """Lay out, write docs/img/NAME and close ``fig``; returns NAME."""
    fig.tight_layout()
    fig.savefig(IMG / name, dpi=DPI)
    plt.close(fig)
    return name


def fig_mass(res: dict[str, Any]) -> str:
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4), sharey=True)
    for ax, r in zip(axes, res["mass"]):
        ratio, tau = r["_ratio"], r["_tau"]
        ok = np.isfinite(ratio)
        low = ok & (ratio < 1e-2)  # a few dots from a large converted pool: drawn on the bottom edge
        ax.scatter(tau[ok], np.maximum(ratio[ok], 1e-2), s=6, alpha=0.6)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.axhline(r["threshold"], color="C3", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("residence time (s)")
        ax.set_ylim(0.8e-2, max(2.0, float(np.nanmax(ratio)) * 1.5) if ok.any() else 2.0)
        ax.set_title(
            f"{r['material']}: {vs._g(100 * (r['frac_above'] or 0), '{:.0f}')} % > {r['threshold']}"
            f" ({int(low.sum())} below 0.01 on the edge)",
            fontsize=9,
        )
    axes[0].set_ylabel("particle material / converted precursor")
    fig.suptitle(
        "Mass from the outputs: dots x (pi/6) d^3 (1 + 3 RSD^2) x rho / M, fuzzed conditions", fontsize=10
    )
    return _save(fig, "sim_mass_balance.png")


def fig_convergence(res: dict[str, Any]) -> str:
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    for ax, r in zip(axes, res["convergence"]):
        a, b = r["_pl_base"], r["_pl_fine"]
        ok = np.isfinite(a) & np.isfinite(b)
        ax.scatter(a[ok], b[ok], s=6, alpha=0.6)
        if ok.any():
            lo, hi = float(min(a[ok].min(), b[ok].min())), float(max(a[ok].max(), b[ok].max()))
            ax.plot([lo, hi], [lo, hi], "k", lw=0.8)
        ax.set_xlabel("PL peak, default grid (nm)")
        ax.set_title(f"{r['material']}: max abs dPL {vs._g(r['d_pl_nm']['max'], '{:.1f}')} nm", fontsize=10)
    axes[0].set_ylabel(f"PL peak, {res['convergence'][0]['factor']}x finer grid (nm)")
    return _save(fig, "sim_convergence.png")


def fig_scans(res: dict[str, Any]) -> str:
    fig, axes = plt.subplots(2, 4, figsize=(14, 6))
    for j, r in enumerate(res["smoothness"]):
        ax = axes[0, j]
        ax.plot(r["_t"], r["_t_pl"], ".-", ms=3, lw=0.7)
        ax.set_xlabel("temperature (degC)")
        ax.set_title(
            f"{r['material']}: {r['corner']['q_total']:.1f} uL/min, tau {r['tau_s']:.0f} s", fontsize=10
        )
        ax = axes[1, j]
        ax.plot(r["_tau"], r["_tau_pl"], ".-", ms=3, lw=0.7)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel("residence time (s)")
        ax.set_title(f"{r['material']}: {r['corner']['temperature_c']:.0f} degC", fontsize=10)
    axes[0, 0].set_ylabel("PL peak (nm), 0.5 degC steps")
    axes[1, 0].set_ylabel("PL peak (nm)")
    return _save(fig, "sim_scans.png")


# ----------------------------------------------------------------------------------------------
# the document


def _open(name: str) -> str:
    return f"<!-- generated: {name} (scripts/simulator_doc.py; edits inside are overwritten) -->"


def _close(name: str) -> str:
    return f"<!-- end generated: {name} -->"


def replace_blocks(doc: str, blocks: dict[str, str]) -> tuple[str, list[str]]:
    """Replace each generated block's body; everything outside the blocks is kept. Blocks not in the
    doc are appended at its end; returns the new text and the names appended."""
    appended = []
    for name, body in blocks.items():
        pat = re.compile(
            r"<!-- generated: "
            + re.escape(name)
            + r"\b.*?-->.*?<!-- end generated: "
            + re.escape(name)
            + r" -->",
            re.S,
        )
        new = f"{_open(name)}\n{body.strip()}\n{_close(name)}"
        if pat.search(doc):
            doc = pat.sub(lambda _m: new, doc, count=1)
        else:
            doc = doc.rstrip("\n") + "\n\n" + new + "\n"
            appended.append(name)
    return doc, appended


def blocks(res: dict[str, Any], before: dict[str, Any] | None, figures: list[str]) -> dict[str, str]:
    now = vs.public(res)

    def when(r: dict[str, Any] | None) -> str:
        m = (r or {}).get("meta", {})
        return f"commit {m.get('commit', '?')}, {m.get('date', '?')}"

    stamp = (
        f'"Before" is docs/simulator-before.json ({when(before)}: the simulator before the mass-balance and '
        f'convergence rewrite); "now" is this run ({when(now)}).'
        if before
        else f"No docs/simulator-before.json: only this run ({when(now)}) is shown."
    )
    validation = "\n\n".join(
        [
            f"{stamp} Conditions: {now['ranges'][0]['n']} scrambled-Sobol points of `describe()` per material "
            f"(a, d); {now['mass'][0]['n']} fuzzed points per material down to {vs.PUMP_MIN_UL_MIN} uL/min per stream (b). "
            "Regenerate the numbers alone with `scripts/validate_simulator.py [--json]`.",
            "**Against the literature**",
            literature_table(now, before),
            "**Ranges over Sobol conditions** (now)",
            vs.ranges_table(now["ranges"]),
            "**Yang 2009 comparison** (now)",
            vs.yang_table(now["yang"]),
        ]
    )
    numerics = "\n\n".join(
        [
            "Checked from the outputs alone (REFERENCE.md section 7). Mass: particle material = dots_uM x (pi/6) "
            "<d^3> x rho / M x N_A with <d^3> = d^3 (1 + 3 RSD^2) (exact for a symmetric distribution; a log-normal "
            "one gives (1 + RSD^2)^3, < 1 % apart for RSD < 0.15), over limiting_mM x converted; the column "
            '"exact <d^3>" sums the outlet histogram instead (clusters included). Convergence: the default time '
            "grid against a 4x finer one. Smoothness: PL peak along a 0.5 degC scan and a residence-time scan at "
            "the hottest temperature and slowest flow that does not clog.",
            "**Before and now**",
            summary_table(now, before),
            "**Mass** (now)",
            vs.mass_table(now["mass"], now.get("mass_cli", [])),
            "**Convergence** (now)",
            vs.convergence_table(now["convergence"]),
            "**Smoothness** (now)",
            vs.smoothness_table(now["smoothness"]),
            *(f"![{f[4:-4].replace('_', ' ')}](img/{f})" for f in figures),
        ]
    )
    return {"calibration": calibration_block(), "validation": validation, "numerics": numerics}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--n-fuzz", type=int, default=512)
    ap.add_argument(
        "--no-existing-figures", action="store_true", help="skip scripts/plot_simulator.py's figures"
    )
    args = ap.parse_args(argv)
    IMG.mkdir(parents=True, exist_ok=True)
    res = vs.run_all(args.n, args.n_fuzz)
    before = json.loads(BEFORE.read_text()) if BEFORE.is_file() else None
    figures = [fig_mass(res), fig_convergence(res), fig_scans(res)]
    if not args.no_existing_figures:
        import plot_simulator

        plot_simulator.main()
    NOW.write_text(json.dumps(vs.public(res), indent=1) + "\n")
    doc, appended = replace_blocks(DOC.read_text(), blocks(res, before, figures))
    DOC.write_text(doc)
    print(f"wrote {DOC.relative_to(ROOT)}, {NOW.relative_to(ROOT)}, docs/img/{{{', '.join(figures)}}}")
    if appended:
        print(f"note: block(s) {', '.join(appended)} were not in the doc and were appended at its end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
