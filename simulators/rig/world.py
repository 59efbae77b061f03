"""One simulated flow reactor with its own clock: pumps, heater and flow cell are views on it.

The world keeps the history of what the pumps delivered and what the heater was asked to do, and
works out lazily, when queried, what is in the flow cell at ``clock.now()``:

- Cumulative delivered volume V(t) maps a fluid element back to the time it entered the reactor.
  The element in the flow cell now left the reactor V_transfer ago (dead time) and spent theta
  residence times in it, theta distributed as the tanks-in-series RTD; its product is the steady-state
  product of the inlet flows at entry and the coil temperature mid-way through its stay. The cell
  content is the RTD-weighted mixture of those products (24 equal-probability RTD quantiles). So a
  spectrum taken 0.5 tau after a flow change is mostly the old product, after 3 tau the new one.
- Heater: first-order lag towards the set point (time constant ``heater_time_constant_s``).
- Faults: a clog-prone condition (``clog_risk`` > 1, extreme concentration, residence time and
  temperature) builds up pressure; above the reactor's stall pressure the pumps stall (alarm "stall",
  read-back 0) until ``clear_clog()``.
- Realism: precursor lots (stock concentration and reactivity scatter, seeded), slow drift (wall
  fouling lowers the temperature the chemistry sees and adds window absorbance; lamp intensity
  decays and wanders).

Steady states are cached per (rounded) condition, so spectrum acquisition is cheap.
"""

from __future__ import annotations

import bisect
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from scipy.special import gammaincinv

from devices.clock import Clock, SimClock
from models.errors import ConfigurationError
from models.materials import get_optics
from simulators.chemistry.optics import _gauss, absorbance_per_mM_cm, pl_basis, size_bins, spectrometer_grid_nm
from simulators.chemistry.parameters import load_params
from simulators.chemistry.reactor import ReactorGeometry, residence_time_s
from simulators.chemistry.steady import _row, clog_risk, steady_state_arrays

__all__ = ["SimWorld", "PL_REFERENCE_COUNTS_PER_MS", "SATURATION_COUNTS"]

PL_REFERENCE_COUNTS_PER_MS = 2000.0
"""Integrated PL (counts x nm: dark-subtracted counts integrated over wavelength, as
``models.analysis`` integrates) per ms of integration per unit fraction of excitation light absorbed,
for PLQY = 1. Relative PLQY = integral / (ms * absorbed_fraction * this); the simulated labs'
``plqy_reference`` is this value."""

SATURATION_COUNTS = 65535.0
_DARK_OFFSET = 1000.0
_DARK_PER_MS = 0.5
_READ_NOISE = 8.0
_LAMP_PEAK_PER_MS = 600.0
_N_RTD_NODES = 24
_CACHE_SIZE = 4096


@dataclass
class _Product:
    """Cached steady-state product of one condition, as seen in the flow cell."""

    abs_per_cm: np.ndarray  # (n_px,) absorbance per cm of path
    pl_band: np.ndarray  # (n_px,) band-edge PL shape, sums to 1
    pl_trap: np.ndarray  # (n_px,) trap PL shape, sums to 1
    a_exc_per_cm: float
    plqy: float
    trap_qy: float
    truth: dict[str, Any]


class SimWorld:
    """A simulated flow reactor making ``material``; see the module docstring.

    ``clock`` is read with ``clock.now()`` (a fresh ``SimClock`` if omitted). ``seed`` seeds every
    random draw (lots, drift, noise); the same seed and the same sequence of calls give identical
    results. ``faults`` enables clogging; ``noise``, ``drift`` and ``lot_variability`` switch the
    other imperfections.
    """

    def __init__(
        self,
        material: str,
        *,
        reactor: ReactorGeometry | None = None,
        stocks_mM: Mapping[str, float] | None = None,
        clock: Clock | None = None,
        seed: int = 0,
        faults: bool = True,
        noise: bool = True,
        drift: bool = True,
        lot_variability: bool = True,
        heater_time_constant_s: float = 90.0,
        initial_temperature_c: float = 25.0,
        clog_rate_bar_per_s: float = 0.02,
        unclog_after_s: float = 600.0,
    ):
        self.params = load_params(material)
        self.material = self.params.name
        self.optics = get_optics(self.material)
        self.reactor = reactor or ReactorGeometry()
        self.clock = clock if clock is not None else SimClock()
        self.seed = int(seed)
        self.faults, self.noise, self.drift = bool(faults), bool(noise), bool(drift)
        self.heater_time_constant_s = float(heater_time_constant_s)
        self._clog_rate = float(clog_rate_bar_per_s)
        # The rig's back-flush: once every pump has been stopped this long, a clogged line is flushed
        # clear (what an operator or an automated solvent back-flush does on a real rig).
        self.unclog_after_s = float(unclog_after_s)
        self._stopped_since: float | None = None
        nominal = dict(self.params.default_stocks_mM)
        if stocks_mM:
            unknown = set(stocks_mM) - set(nominal)
            if unknown:
                raise ConfigurationError(f"unknown stream(s) {sorted(unknown)} for {self.material}; streams are {sorted(nominal)}")
            nominal.update({k: float(v) for k, v in stocks_mM.items()})
        self.nominal_stocks_mM = nominal
        self.streams = tuple(s.name for s in self.params.streams)
        ss = np.random.SeedSequence(self.seed)
        lot_ss, drift_ss, self._noise_ss = ss.spawn(3)
        self._lot_rng = np.random.default_rng(lot_ss)
        self._lot_variability = bool(lot_variability)
        self.new_lot()
        dr = np.random.default_rng(drift_ss)
        self._lamp_decay_per_h = float(dr.uniform(0.005, 0.02)) if drift else 0.0
        self._lamp_wobble = (float(dr.uniform(0.0, 0.01)), float(dr.uniform(1800, 7200)), float(dr.uniform(0, 2 * np.pi)))
        self._foul_c_per_h = float(dr.uniform(0.2, 0.6)) if drift else 0.0
        self._rngs: dict[str, np.random.Generator] = {}

        self._t0 = self.clock.now()
        # Delivered-flow history: times and flows (dict) from that time on; cumulative volume at each.
        self._set_flows = {s: 0.0 for s in self.streams}
        self._hist_t: list[float] = [self._t0]
        self._hist_flows: list[tuple[float, ...]] = [tuple(0.0 for _ in self.streams)]
        self._hist_v: list[float] = [0.0]
        # Heater: set-point history with the temperature at each change.
        self._heat_t: list[float] = [self._t0]
        self._heat_sp: list[float] = [float(initial_temperature_c)]
        self._heat_T0: list[float] = [float(initial_temperature_c)]
        self._clog_bar = 0.0
        self._stalled = False
        self._limits: dict[str, float] = {}  # stream -> cumulative volume (uL) at which it stops
        self._t_state = self._t0
        self._cache: OrderedDict[tuple, _Product] = OrderedDict()
        self._q_nodes = gammaincinv(self.reactor.n_tanks, (np.arange(_N_RTD_NODES) + 0.5) / _N_RTD_NODES) / self.reactor.n_tanks

    # ----------------------------------------------------------------- lots and drift
    def new_lot(self) -> None:
        """Open new precursor bottles: stock concentrations and reactivity scatter by a few %."""
        if self._lot_variability:
            self.stocks_mM = {
                k: (v * float(np.exp(self._lot_rng.normal(0.0, 0.03))) if v > 0 else v)
                for k, v in self.nominal_stocks_mM.items()
            }
            self.reactivity_factor = float(np.exp(self._lot_rng.normal(0.0, 0.06)))
        else:
            self.stocks_mM = dict(self.nominal_stocks_mM)
            self.reactivity_factor = 1.0
        self._cache = OrderedDict()

    def _hours(self, t: float) -> float:
        return max(0.0, t - self._t0) / 3600.0

    def fouling_offset_c(self, t: float | None = None) -> float:
        """Temperature the chemistry loses to wall fouling at time t (degC, <= 0)."""
        t = self.clock.now() if t is None else t
        return -min(5.0, self._foul_c_per_h * self._hours(t))

    def lamp_factor(self, t: float | None = None) -> float:
        t = self.clock.now() if t is None else t
        if not self.drift:
            return 1.0
        a, period, phase = self._lamp_wobble
        return max(0.2, 1.0 - self._lamp_decay_per_h * self._hours(t) + a * math.sin(2 * math.pi * t / period + phase))

    def _rng(self, name: str) -> np.random.Generator:
        if name not in self._rngs:
            child = np.random.SeedSequence(self._noise_ss.entropy, spawn_key=(*self._noise_ss.spawn_key, len(self._rngs) + 7, sum(map(ord, name))))
            self._rngs[name] = np.random.default_rng(child)
        return self._rngs[name]

    # ----------------------------------------------------------------- flow and heat histories
    def _flows_at_index(self, i: int) -> dict[str, float]:
        return dict(zip(self.streams, self._hist_flows[i]))

    def _volume_at(self, t: float) -> float:
        i = bisect.bisect_right(self._hist_t, t) - 1
        i = max(i, 0)
        q = sum(self._hist_flows[i])
        return self._hist_v[i] + q * (t - self._hist_t[i]) / 60.0

    def _time_at_volume(self, v: float) -> float:
        """Time when the cumulative delivered volume was ``v`` (uL); -inf before the first drop."""
        if v <= 0:
            return -math.inf
        i = bisect.bisect_right(self._hist_v, v) - 1
        # skip back over zero-flow segments that share the same volume
        while i > 0 and self._hist_v[i] >= v:
            i -= 1
        q = sum(self._hist_flows[i])
        if q <= 0:
            return self._hist_t[i]
        return self._hist_t[i] + (v - self._hist_v[i]) / q * 60.0

    def _delivered(self) -> dict[str, float]:
        if self._stalled:
            return {s: 0.0 for s in self.streams}
        return dict(self._set_flows)

    def _push_flows(self, t: float) -> None:
        flows = tuple(self._delivered()[s] for s in self.streams)
        v = self._volume_at(t)
        if self._hist_t[-1] == t:
            self._hist_flows[-1] = flows
            self._hist_v[-1] = v
        else:
            self._hist_t.append(t)
            self._hist_flows.append(flows)
            self._hist_v.append(v)

    def temperature_at(self, t: float) -> float:
        """Coil temperature (degC) at time t from the heater's first-order lag."""
        i = max(bisect.bisect_right(self._heat_t, t) - 1, 0)
        dt = max(0.0, t - self._heat_t[i])
        sp, T0 = self._heat_sp[i], self._heat_T0[i]
        return sp + (T0 - sp) * math.exp(-dt / self.heater_time_constant_s)

    # ----------------------------------------------------------------- lazy state (clogging)
    def _stream_volume(self, stream: str, t: float) -> float:
        """Cumulative volume (uL) of ``stream`` delivered up to ``t``, from the flow history."""
        k = self.streams.index(stream)
        total = 0.0
        for i, t_i in enumerate(self._hist_t):
            t_next = self._hist_t[i + 1] if i + 1 < len(self._hist_t) else math.inf
            hi = min(t, t_next)
            if hi > t_i:
                total += self._hist_flows[i][k] * (hi - t_i) / 60.0
        return total

    def _next_cutoff(self) -> tuple[float, str] | None:
        """When the first stream with a volume limit reaches it at the flows delivered now."""
        best = None
        delivered = self._delivered()
        for stream, v_end in self._limits.items():
            q = delivered[stream]
            if q > 0:
                t_cut = self._t_state + max(0.0, v_end - self._stream_volume(stream, self._t_state)) / q * 60.0
                best = min(best, (t_cut, stream)) if best else (t_cut, stream)
        return best

    def _advance(self) -> float:
        # a pump that reaches its volume target stops at that moment (an NE-1000's VOL), whenever asked
        t = self.clock.now()
        while self._limits:
            cutoff = self._next_cutoff()
            if cutoff is None or cutoff[0] > t:
                break
            t_cut, stream = cutoff
            self._advance_to(t_cut)
            if self._delivered()[stream] > 0:  # else the line stalled first: recompute
                del self._limits[stream]
                self._set_flows[stream] = 0.0
                if not any(self._set_flows.values()) and self._stopped_since is None:
                    self._stopped_since = t_cut
                self._push_flows(t_cut)
        return self._advance_to(t)

    def _advance_to(self, t: float) -> float:
        if t <= self._t_state:
            return t
        if self._stalled and self._stopped_since is not None and t - self._stopped_since >= self.unclog_after_s:
            self._clog_bar = 0.0
            self._stalled = False
            self._push_flows(self._stopped_since + self.unclog_after_s)
        if self.faults and not self._stalled:
            flows = self._delivered()
            if sum(flows.values()) > 0:
                # integrate clog build-up in chunks (temperature changes slowly)
                t_a = self._t_state
                while t_a < t and not self._stalled:
                    t_b = min(t, t_a + 30.0)
                    cond = {"temperature": self.temperature_at(0.5 * (t_a + t_b)), **{f"flow_{k}": v for k, v in flows.items()}}
                    risk = self._clog_risk(cond)
                    if risk > 1.0:
                        self._clog_bar += self._clog_rate * (risk - 1.0) * (t_b - t_a)
                        if self.pressure_bar(_at_state=True) > self.reactor.stall_pressure_bar:
                            # stall at the moment the pressure crossed the limit (approximately t_b)
                            self._stalled = True
                            self._push_flows(t_b)
                    t_a = t_b
        self._t_state = t
        return t

    def _clog_risk(self, cond: Mapping[str, float]) -> float:
        return float(clog_risk(self.material, [cond], reactor=self.reactor, stocks_mM=self.stocks_mM)[0])

    def pressure_bar(self, *, _at_state: bool = False) -> float:
        """Reactor inlet pressure (bar): laminar pressure drop of the delivered flow plus any clog."""
        if not _at_state:
            self._advance()
        q = sum(self._delivered().values())
        return self.reactor.base_pressure_bar_per_ul_min * q + self._clog_bar

    @property
    def stalled(self) -> bool:
        self._advance()
        return self._stalled

    def clear_clog(self) -> None:
        """Maintenance: flush the line; pressure returns to the clean value and pumps can run again."""
        t = self._advance()
        self._clog_bar = 0.0
        self._stalled = False
        self._push_flows(t)

    # ----------------------------------------------------------------- commands from the backends
    def set_flow(self, stream: str, flow_ul_min: float, *, limit_ul: float | None = None) -> None:
        """Run ``stream`` at ``flow_ul_min``; with ``limit_ul`` it stops by itself once it has delivered
        that much more (uL), as a syringe pump with a volume target does."""
        if stream not in self.streams:
            raise ConfigurationError(f"no stream {stream!r} in the {self.material} world; streams are {list(self.streams)}")
        t = self._advance()
        self._set_flows[stream] = max(0.0, float(flow_ul_min))
        if limit_ul is None or self._set_flows[stream] == 0:
            self._limits.pop(stream, None)
        else:
            self._limits[stream] = self._stream_volume(stream, t) + max(0.0, float(limit_ul))
        if any(self._set_flows.values()):
            self._stopped_since = None
        elif self._stopped_since is None:
            self._stopped_since = t
        self._push_flows(t)

    def delivered_flow(self, stream: str) -> float:
        self._advance()
        return self._delivered()[stream]

    def set_setpoint(self, setpoint_c: float) -> None:
        t = self._advance()
        T_now = self.temperature_at(t)
        self._heat_t.append(t)
        self._heat_sp.append(float(setpoint_c))
        self._heat_T0.append(T_now)

    def setpoint(self) -> float:
        return self._heat_sp[-1]

    def temperature(self) -> float:
        return self.temperature_at(self._advance())

    def dispensed_between(self, stream: str, t_a: float, t_b: float) -> float:
        """Volume (uL) of ``stream`` delivered between two times."""
        self._advance()
        k = self.streams.index(stream)
        total = 0.0
        for i, t_i in enumerate(self._hist_t):
            t_next = self._hist_t[i + 1] if i + 1 < len(self._hist_t) else math.inf
            lo, hi = max(t_a, t_i), min(t_b, t_next)
            if hi > lo:
                total += self._hist_flows[i][k] * (hi - lo) / 60.0
        return total

    # ----------------------------------------------------------------- truth
    def evaluate_true(self, conditions: Mapping[str, Any]) -> dict[str, Any]:
        """Noise-free steady state of this world's chemistry (its reactor, stocks and precursor lot)."""
        return _row(self.evaluate_many([conditions]), 0)

    def evaluate_many(self, conditions: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """:meth:`evaluate_true` for many conditions at once, as arrays (``simulators.evaluate_many``'s
        keys). Clean reactor walls: the slow fouling drift is the rig's, not the chemistry's."""
        return steady_state_arrays(self.material, [dict(c) for c in conditions], reactor=self.reactor,
                                   stocks_mM=self.stocks_mM, reactivity_factor=self.reactivity_factor)

    def conditions_now(self) -> dict[str, float]:
        """What the rig is doing now: delivered flows and coil temperature."""
        t = self._advance()
        return {"temperature": self.temperature_at(t), **{f"flow_{k}": v for k, v in self._delivered().items()}}

    # ----------------------------------------------------------------- flow-cell content
    def _products(self, keys: list[tuple]) -> list[_Product]:
        missing = [k for k in dict.fromkeys(keys) if k not in self._cache]
        if missing:
            conds = [{"temperature": k[0], **{f"flow_{s}": f for s, f in zip(self.streams, k[2:])}} for k in missing]
            offsets = sorted({k[1] for k in missing})
            for off in offsets:
                idx = [i for i, k in enumerate(missing) if k[1] == off]
                out = steady_state_arrays(self.material, [conds[i] for i in idx], reactor=self.reactor,
                                          stocks_mM=self.stocks_mM, reactivity_factor=self.reactivity_factor,
                                          temperature_offset_c=off, with_hist=True)
                for j, i in enumerate(idx):
                    self._cache[missing[i]] = self._make_product(out, j)
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return [self._cache[k] for k in keys]

    def _make_product(self, out: Mapping[str, np.ndarray], j: int) -> _Product:
        wl = spectrometer_grid_nm(self.material)
        basis_abs, basis_pl, exc_row = _bases(self.material)
        b = size_bins(self.material)
        hist = out["hist"][j]
        fu_mM = hist * b.vol_nm3 * (1e-27 / self.params.vm_m3_mol)  # mol/m3 = mM per bin
        abs_per_cm = fu_mM @ basis_abs
        a_exc = float(fu_mM @ exc_row)
        clog = out["failure"][j] == "clog"
        w = np.where(b.is_dot, hist, 0.0) * b.vol_nm3
        band = w @ basis_pl
        s = float(np.trapezoid(band, wl))
        band = band / s if s > 0 else band  # integral over wavelength 1: counts x nm, as the analysis integrates
        q_surf = float(out["plqy_surface"][j])
        plqy = 0.0 if (s <= 0 or clog) else q_surf
        trap_qy = 0.0 if s <= 0 else self.params.optics["trap_strength"] * (1.0 - q_surf / self.params.optics["plqy_max"])
        trap = np.zeros_like(wl)
        if trap_qy > 0:
            e = 1239.84193 / wl
            e_pl = float((w * b.e_pl_ev).sum() / w.sum())
            trap = _gauss(e, e_pl - self.params.optics["trap_shift_mev"] * 1e-3, self.params.optics["trap_fwhm_mev"] * 1e-3) * (1239.84193 / wl**2)
            ts = float(np.trapezoid(trap, wl))
            trap = trap / ts if ts > 0 else trap
        return _Product(abs_per_cm, band, trap, a_exc, plqy, max(trap_qy, 0.0), _row(out, j))

    def cell_content(self, t: float | None = None) -> dict[str, Any]:
        """What is in the flow cell at time t (default now): absorbance spectrum (decadic, over the
        cell's path), absorbed fraction at excitation, and PL per pixel per (ms * reference counts): its
        integral over wavelength (counts x nm per ms) is absorbed fraction x PLQY x reference."""
        t = self._advance() if t is None else t
        wl = spectrometer_grid_nm(self.material)
        v_now = self._volume_at(t)
        v_out = v_now - self.reactor.transfer_volume_ul  # volume mark at the reactor outlet
        vr = self.reactor.reactor_volume_ul
        keys: list[tuple | None] = []
        for theta in self._q_nodes:
            v_in = v_out - theta * vr
            if v_in <= 0:
                keys.append(None)  # solvent that filled the line before the first drop of precursor
                continue
            s_in = self._time_at_volume(v_in)
            s_mid = self._time_at_volume(v_out - 0.5 * theta * vr)
            i = max(bisect.bisect_right(self._hist_t, s_in) - 1, 0)
            # a segment whose flows are all zero has no volume: take the next delivering segment
            while sum(self._hist_flows[i]) <= 0 and i + 1 < len(self._hist_flows):
                i += 1
            flows = self._hist_flows[i]
            temp = round(self.temperature_at(s_mid) * 2.0) / 2.0
            foul = round(self.fouling_offset_c(s_mid) * 4.0) / 4.0
            keys.append((temp, foul, *(round(f, 3) for f in flows)))
        real = [k for k in keys if k is not None]
        prods = dict(zip(real, self._products(real))) if real else {}
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
        a_exc_tot = a_exc * path
        absorbed = 1.0 - 10.0 ** (-a_exc_tot)
        if a_exc > 0:
            for k in keys:
                if k is None:
                    continue
                p = prods[k]
                share = (p.a_exc_per_cm / n) / a_exc
                pl += absorbed * share * (p.plqy * p.pl_band + p.trap_qy * p.pl_trap)
        # window fouling: a weak, slowly growing scattering baseline
        foul_a = (0.004 * self._hours(t) * (400.0 / wl) ** 2) if self.drift else 0.0
        return {
            "wavelengths_nm": wl,
            "absorbance": a * path + foul_a,
            "absorbed_fraction_excitation": absorbed,
            "pl_per_ms_reference": pl,
        }

    # ----------------------------------------------------------------- spectrometer physics
    def lamp_counts_per_ms(self, t: float | None = None) -> np.ndarray:
        wl = spectrometer_grid_nm(self.material)
        lo, hi = wl[0], wl[-1]
        x = (wl - lo) / (hi - lo)
        shape = 0.35 + 0.65 * np.exp(-0.5 * ((x - 0.55) / 0.35) ** 2)
        return _LAMP_PEAK_PER_MS * shape * self.lamp_factor(t)

    def _cell_now(self, t: float) -> dict[str, Any]:
        """``cell_content(t)``, computed once for the scans an exposure takes at one instant (the clock
        does not move between them) and again when the flows or the heater change."""
        key = (t, len(self._hist_t), self._hist_flows[-1], len(self._heat_t), self._stalled)
        cached = getattr(self, "_cell_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, self.cell_content(t))
            self._cell_cache = cached
        return cached[1]

    def acquire(self, channel: str, integration_ms: float, source_on: bool) -> np.ndarray:
        t = self._advance()
        wl = spectrometer_grid_nm(self.material)
        ms = float(integration_ms)
        dark = _DARK_OFFSET + _DARK_PER_MS * ms + _fixed_pattern(self.material, self.seed)
        signal = np.zeros_like(wl)
        if source_on:
            cell = self._cell_now(t)
            if channel == "absorbance":
                signal = self.lamp_counts_per_ms(t) * ms * 10.0 ** (-cell["absorbance"])
            elif channel == "pl":
                signal = cell["pl_per_ms_reference"] * PL_REFERENCE_COUNTS_PER_MS * ms * self.lamp_factor(t) ** 0
            else:
                raise ConfigurationError(f"unknown spectrometer channel {channel!r}: use 'absorbance' or 'pl'")
        elif channel not in ("absorbance", "pl"):
            raise ConfigurationError(f"unknown spectrometer channel {channel!r}: use 'absorbance' or 'pl'")
        counts = dark + signal
        if self.noise:
            rng = self._rng(f"spec-{channel}")
            counts = counts + rng.normal(0.0, 1.0, wl.size) * np.sqrt(np.maximum(signal + _DARK_PER_MS * ms, 0.0) + _READ_NOISE**2)
        return np.clip(np.round(counts), 0.0, SATURATION_COUNTS)


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


_FP: dict[tuple[str, int], np.ndarray] = {}


def _fixed_pattern(material: str, seed: int) -> np.ndarray:
    key = (material, seed)
    if key not in _FP:
        n = spectrometer_grid_nm(material).size
        _FP[key] = np.random.default_rng([seed, 12345]).normal(0.0, 15.0, n)
    return _FP[key]


def _residence(reactor: ReactorGeometry, q: float) -> float:
    return float(residence_time_s(reactor, q))
