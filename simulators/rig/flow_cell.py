"""What is in the flow cell at a time: the RTD-weighted mixture of steady-state products.

The element in the cell at t left the reactor a transfer volume ago (dead time) and spent theta
residence times in it, theta distributed as the tanks-in-series RTD (``n_tanks``); it is taken at 24
equal-probability quantiles of theta. Each quantile's product is the steady state of the inlet flows
at its entry and of the coil temperature mid-way through its stay, less the wall-fouling offset then
(temperature rounded to 0.5 degC, offset to 0.25 degC, flows to 0.001 uL/min, so that products repeat).
The products are cached (4096, oldest first out): after the first spectrum of a condition, a spectrum
costs a few array sums. So a spectrum taken 0.5 tau after a flow change is mostly the old product,
after 3 tau the new one.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.special import gammaincinv

from models.materials import get_optics
from simulators.chemistry.optics import (
    _gauss,
    absorbance_per_mM_cm,
    pl_basis,
    size_bins,
    spectrometer_grid_nm,
)
from simulators.chemistry.parameters import MaterialParams
from simulators.chemistry.reactor import ReactorGeometry
from simulators.chemistry.steady import steady_state_arrays
from simulators.rig.coil import CoilTemperature
from simulators.rig.drift import Drift, PrecursorLot
from simulators.rig.flow_history import FlowHistory

__all__ = ["FlowCell"]

_N_RTD_NODES = 24
_CACHE_SIZE = 4096
_HC_EV_NM = 1239.84193


@dataclass
class _Product:
    """Cached steady-state product of one condition, as seen in the flow cell."""

    abs_per_cm: np.ndarray  # (n_px,) absorbance per cm of path
    pl_band: np.ndarray  # (n_px,) band-edge PL shape, integral over wavelength 1
    pl_trap: np.ndarray  # (n_px,) trap PL shape, integral over wavelength 1
    a_exc_per_cm: float
    plqy: float
    trap_qy: float


class FlowCell:
    """The flow cell of ``reactor`` on a rig making ``params``' material from ``lot``."""

    def __init__(self, params: MaterialParams, reactor: ReactorGeometry, lot: PrecursorLot):
        self.params = params
        self.material = params.name
        self.reactor = reactor
        self.lot = lot
        self._cache: OrderedDict[tuple, _Product] = OrderedDict()
        n = reactor.n_tanks
        self._q_nodes = gammaincinv(n, (np.arange(_N_RTD_NODES) + 0.5) / _N_RTD_NODES) / n

    def content(self, t: float, *, flows: FlowHistory, coil: CoilTemperature, drift: Drift) -> dict[str, Any]:
        """What is in the cell at ``t`` (s): absorbance spectrum (decadic, over the cell's path, window
        fouling included), absorbed fraction at excitation, and PL per pixel per (ms * reference counts):
        its integral over wavelength (counts x nm per ms) is absorbed fraction x PLQY x reference."""
        wl = spectrometer_grid_nm(self.material)
        v_out = flows.volume_at(t) - self.reactor.transfer_volume_ul  # volume mark at the reactor outlet
        vr = self.reactor.reactor_volume_ul
        keys: list[tuple | None] = []
        for theta in self._q_nodes:
            v_in = v_out - theta * vr
            if v_in <= 0:
                keys.append(None)  # solvent that filled the line before the first drop of precursor
                continue
            entry = flows.flows_entering(flows.time_at_volume(v_in))
            s_mid = flows.time_at_volume(v_out - 0.5 * theta * vr)
            temp = round(coil.temperature_at(s_mid) * 2.0) / 2.0
            foul = round(drift.fouling_offset_c(s_mid) * 4.0) / 4.0
            keys.append((temp, foul, *(round(f, 3) for f in entry)))
        real = [k for k in keys if k is not None]
        prods = dict(zip(real, self._products(real, flows.streams))) if real else {}
        n = len(keys)
        a = np.zeros_like(wl)
        a_exc = 0.0
        pl = np.zeros_like(wl)
        for k in keys:
            if k is None:
                continue
            p = prods[k]
            a += p.abs_per_cm / n
            a_exc += p.a_exc_per_cm / n
        path = self.reactor.path_length_cm
        absorbed = 1.0 - 10.0 ** (-(a_exc * path))
        if a_exc > 0:
            for k in keys:
                if k is None:
                    continue
                p = prods[k]
                share = (p.a_exc_per_cm / n) / a_exc
                pl += absorbed * share * (p.plqy * p.pl_band + p.trap_qy * p.pl_trap)
        return {
            "wavelengths_nm": wl,
            "absorbance": a * path + drift.window_absorbance(t, wl),
            "absorbed_fraction_excitation": absorbed,
            "pl_per_ms_reference": pl,
        }

    def _products(self, keys: list[tuple], streams: Sequence[str]) -> list[_Product]:
        missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
        if missing:
            conds = [
                {"temperature": k[0], **{f"flow_{s}": f for s, f in zip(streams, k[2:])}} for k in missing
            ]
            for off in sorted({k[1] for k in missing}):
                idx = [i for i, k in enumerate(missing) if k[1] == off]
                out = steady_state_arrays(
                    self.material,
                    [conds[i] for i in idx],
                    reactor=self.reactor,
                    stocks_mM=self.lot.stocks_mM,
                    reactivity_factor=self.lot.reactivity_factor,
                    temperature_offset_c=off,
                    with_hist=True,
                )
                for j, i in enumerate(idx):
                    self._cache[missing[i]] = self._product(out, j)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return [self._cache[k] for k in keys]

    def _product(self, out: Mapping[str, np.ndarray], j: int) -> _Product:
        wl = spectrometer_grid_nm(self.material)
        basis_abs, basis_pl, exc_row = _bases(self.material)
        b = size_bins(self.material)
        optics = self.params.optics
        hist = out["hist"][j]
        fu_mM = hist * b.vol_nm3 * (1e-27 / self.params.vm_m3_mol)  # mol/m3 = mM per bin
        abs_per_cm = fu_mM @ basis_abs
        a_exc = float(fu_mM @ exc_row)
        clog = out["failure"][j] == "clog"
        w = np.where(b.is_dot, hist, 0.0) * b.vol_nm3
        band = w @ basis_pl
        s = float(np.trapezoid(band, wl))
        band = (
            band / s if s > 0 else band
        )  # integral over wavelength 1: counts x nm, as the analysis integrates
        q_surf = float(out["plqy_surface"][j])
        plqy = 0.0 if (s <= 0 or clog) else q_surf
        trap_qy = 0.0 if s <= 0 else optics["trap_strength"] * (1.0 - q_surf / optics["plqy_max"])
        trap = np.zeros_like(wl)
        if trap_qy > 0:
            e = _HC_EV_NM / wl
            e_pl = float((w * b.e_pl_ev).sum() / w.sum())
            trap = _gauss(e, e_pl - optics["trap_shift_mev"] * 1e-3, optics["trap_fwhm_mev"] * 1e-3) * (
                _HC_EV_NM / wl**2
            )
            ts = float(np.trapezoid(trap, wl))
            trap = trap / ts if ts > 0 else trap
        return _Product(abs_per_cm, band, trap, a_exc, plqy, max(trap_qy, 0.0))


_BASES: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _bases(material: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per size bin: absorbance per mM per cm on the pixel grid, PL Gaussian per pixel, and A at excitation."""
    if material not in _BASES:
        wl = spectrometer_grid_nm(material)
        b = size_bins(material)
        basis_abs = absorbance_per_mM_cm(material, wl, b.d_nm)
        basis_pl = pl_basis(material)[1]
        exc = absorbance_per_mM_cm(material, np.array([get_optics(material).excitation_nm]), b.d_nm)[:, 0]
        _BASES[material] = (basis_abs, basis_pl, exc)
    return _BASES[material]
