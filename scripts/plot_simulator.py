"""Plots for docs/simulator.md: size vs temperature and residence time, example spectra, a transient.

Run: .venv/bin/python scripts/plot_simulator.py  (writes docs/img/sim_*.png); scripts/simulator_doc.py
calls ``main`` when it regenerates docs/simulator.md.
"""

from __future__ import annotations

import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import simulators  # noqa: E402
from devices.clock import SimClock  # noqa: E402
from models.materials import MATERIALS, get_optics  # noqa: E402
from simulators import SimHeater, SimPump, SimSpectrometer, SimWorld  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parents[1] / "docs" / "img"


def size_map() -> None:
    temps = np.linspace(200, 320, 61)
    totals = np.geomspace(15, 450, 61)
    tt, qq = np.meshgrid(temps, totals)
    out = simulators.evaluate_many(
        "CdSe",
        {
            "temperature": tt.ravel(),
            "flow_cd": 0.4 * qq.ravel(),
            "flow_se": 0.4 * qq.ravel(),
            "flow_solvent": 0.2 * qq.ravel(),
        },
    )
    tau = out["residence_time_s"].reshape(tt.shape)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, key, label in zip(
        axes, ("diameter_nm", "pl_fwhm_nm", "plqy"), ("diameter (nm)", "PL FWHM (nm)", "PLQY")
    ):
        z = out[key].reshape(tt.shape)
        im = ax.pcolormesh(tt, tau, z, shading="auto", cmap="viridis")
        fig.colorbar(im, ax=ax, label=label)
        cs = ax.contour(
            tt,
            tau,
            out["pl_peak_nm"].reshape(tt.shape),
            levels=[480, 500, 525, 550, 575, 600],
            colors="w",
            linewidths=0.8,
        )
        ax.clabel(cs, fmt="%d nm", fontsize=7)
        ax.set_yscale("log")
        ax.set_xlabel("temperature (degC)")
        ax.set_ylabel("residence time (s)")
        ax.set_title(f"CdSe, Cd:Se 1:1, 8 mM: {label}")
    fig.tight_layout()
    fig.savefig(OUT / "sim_cdse_size_map.png", dpi=100)
    plt.close(fig)


def size_vs_tau() -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    q = np.geomspace(8, 600, 60)
    for t in (230, 260, 290, 320):
        out = simulators.evaluate_many(
            "CdSe", {"temperature": t, "flow_cd": 0.4 * q, "flow_se": 0.4 * q, "flow_solvent": 0.2 * q}
        )
        ax.plot(out["residence_time_s"], out["diameter_nm"], label=f"{t} degC")
    ax.set_xscale("log")
    ax.set_xlabel("residence time (s)")
    ax.set_ylabel("mean diameter (nm)")
    ax.set_title("CdSe: growth, then ripening at long residence times")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / "sim_cdse_size_vs_tau.png", dpi=100)
    plt.close(fig)


def spectra() -> None:
    fig, axes = plt.subplots(2, 2, figsize=(12, 7))
    for ax, material in zip(axes.ravel(), MATERIALS):
        clock = SimClock()
        world = SimWorld(material, clock=clock, seed=0, drift=False)
        pumps = {s: SimPump(world, s) for s in world.streams}
        heater, spec = SimHeater(world), SimSpectrometer(world)
        for d in (*pumps.values(), heater, spec):
            d.connect()
        dark_a = spec.acquire("absorbance", source_on=False)
        ref = spec.acquire("absorbance", source_on=True)
        defaults = {d["name"]: d["default"] for d in simulators.describe(material)}
        heater.set_setpoint_c(defaults["temperature"])
        for s in world.streams:
            pumps[s].set_flow_ul_min(defaults[f"flow_{s}"])
        clock.advance(2400)
        wl = spec.wavelengths_nm("absorbance")
        a = -np.log10(np.clip(spec.acquire("absorbance", source_on=True) - dark_a, 1, None) / (ref - dark_a))
        pl = spec.acquire("pl", source_on=True) - spec.acquire("pl", source_on=False)
        ax.plot(wl, a, label="absorbance")
        ax.set_ylabel("absorbance (0.1 cm)")
        ax2 = ax.twinx()
        ax2.plot(wl, pl, color="C3", label="PL")
        ax2.set_ylabel("PL counts")
        truth = world.evaluate_true(defaults)
        ax.set_title(
            f"{material}: d = {truth['diameter_nm']:.2f} nm, PL {truth['pl_peak_nm']:.0f} nm, FWHM {truth['pl_fwhm_nm']:.0f} nm"
        )
        lo, hi = get_optics(material).emission_range_nm
        ax.set_xlim(wl[0], min(wl[-1], hi + 300))
        ax.set_xlabel("wavelength (nm)")
    fig.tight_layout()
    fig.savefig(OUT / "sim_spectra.png", dpi=100)
    plt.close(fig)


def transient() -> None:
    clock = SimClock()
    world = SimWorld("CdSe", clock=clock, seed=0, drift=False)
    pumps = {s: SimPump(world, s) for s in world.streams}
    heater, spec = SimHeater(world), SimSpectrometer(world)
    for d in (*pumps.values(), heater, spec):
        d.connect()
    heater.set_setpoint_c(300)
    for s, f in {"cd": 20, "se": 20, "solvent": 0}.items():
        pumps[s].set_flow_ul_min(f)
    clock.advance(2500)
    new = {"cd": 150, "se": 90, "solvent": 100}
    for s, f in new.items():
        pumps[s].set_flow_ul_min(f)
    tau = 250 / sum(new.values()) * 60
    wl = spec.wavelengths_nm("pl")
    fig, ax = plt.subplots(figsize=(7, 4))
    t_last = 0.0
    for k in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):
        t = 50 / sum(new.values()) * 60 + k * tau
        clock.advance(t - t_last)
        t_last = t
        pl = spec.acquire("pl", source_on=True) - spec.acquire("pl", source_on=False)
        ax.plot(wl, pl, label=f"dead time + {k:.1f} tau")
    ax.set_xlim(420, 680)
    ax.set_xlabel("wavelength (nm)")
    ax.set_ylabel("PL counts")
    ax.set_title("CdSe: PL after a flow change (tau = %.0f s)" % tau)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / "sim_transient.png", dpi=100)
    plt.close(fig)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    size_map()
    size_vs_tau()
    spectra()
    transient()
    print("wrote", sorted(p.name for p in OUT.glob("sim_*.png")))


if __name__ == "__main__":
    main()
