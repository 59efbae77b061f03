"""One simulated flow reactor with its own clock: pumps, heater and flow cell are views on it.

``SimWorld`` composes the rig's parts and keeps them at one time. Nothing runs between calls: each
call first brings the world up to ``clock.now()`` (pumps that reached their volume target stop at
that moment; a clog builds up or is back-flushed), then answers.

- ``flow_history.FlowHistory``: what the pumps delivered; maps a fluid element to its entry time.
- ``coil.CoilTemperature``: the heater's first-order lag (time constant ``heater_time_constant_s``).
- ``clogging.Clogging``: pressure at clog-prone conditions, the stall, the back-flush.
- ``drift``: the precursor lot, wall and window fouling, the lamp.
- ``flow_cell.FlowCell``: the RTD-weighted cell content from cached steady-state products.
- ``instrument.Instrument``: spectrum acquisition (dark, noise, saturation).

The noise-free chemistry (``evaluate_true``) is ``simulators.chemistry``'s, at this world's reactor
and precursor lot; see docs/simulator.md for the model.
"""

from __future__ import annotations

import math
import threading
from typing import Any, Mapping, Sequence

import numpy as np

from devices.clock import Clock, SimClock
from models.errors import ConfigurationError
from simulators.chemistry.parameters import load_params
from simulators.chemistry.reactor import ReactorGeometry
from simulators.chemistry.steady import _row, clog_risk, steady_state_arrays
from simulators.rig.clogging import Clogging
from simulators.rig.coil import CoilTemperature
from simulators.rig.drift import Drift, draw_lot
from simulators.rig.flow_cell import FlowCell
from simulators.rig.flow_history import FlowHistory
from simulators.rig.instrument import Instrument, NoiseStreams

__all__ = ["SimWorld"]


class SimWorld:
    """A simulated flow reactor making ``material``; see the module docstring.

    ``clock`` is read with ``clock.now()`` (a fresh ``SimClock`` if omitted). ``seed`` seeds every
    random draw (lots, drift, noise); the same seed and the same sequence of calls give identical
    results. ``faults`` enables clogging; ``noise``, ``drift`` and ``lot_variability`` switch the
    other imperfections.

    ``lock`` is the world's one lock: every device view on the world (``simulators.rig.backends``) holds
    it for each call, and so does any other thread that reads the world directly (the emulators serve
    bytes on their own threads).
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
        self.lock = threading.RLock()
        self.params = load_params(material)
        self.material = self.params.name
        self.reactor = reactor or ReactorGeometry()
        self.clock = clock if clock is not None else SimClock()
        self.seed = int(seed)
        nominal = self.params.stocks_mM(stocks_mM)
        self.streams = tuple(s.name for s in self.params.streams)
        lot_ss, drift_ss, noise_ss = np.random.SeedSequence(self.seed).spawn(3)
        self.lot = draw_lot(np.random.default_rng(lot_ss), nominal, variability=lot_variability)
        t0 = self.clock.now()
        self.drift = Drift(np.random.default_rng(drift_ss), t0, enabled=drift)
        self.rng = NoiseStreams(noise_ss)
        """The named noise streams of the rig's readings (``rng("heater")``)."""
        self.instrument = Instrument(self.material, self.seed, noise=noise, streams=self.rng)
        self.flows = FlowHistory(self.streams, t0)
        self.coil = CoilTemperature(
            t0, initial_c=initial_temperature_c, time_constant_s=heater_time_constant_s
        )
        # unclog_after_s: the rig's back-flush, what an operator or an automated solvent flush does
        self.clogging = Clogging(
            self.reactor, enabled=faults, rate_bar_per_s=clog_rate_bar_per_s, unclog_after_s=unclog_after_s
        )
        self.cell = FlowCell(self.params, self.reactor, self.lot)
        self._set_flows = {s: 0.0 for s in self.streams}  # what the pumps were told (uL/min)
        self._limits: dict[str, float] = {}  # stream -> cumulative volume (uL) at which it stops
        self._stopped_since: float | None = None  # since when every pump has been told 0
        self._t_state = t0  # the time the parts have been brought up to
        self._cell_cache: tuple[tuple, dict[str, Any]] | None = None

    # ----------------------------------------------------------------- settings and the lot
    @property
    def noise(self) -> bool:
        """Whether readings are noisy (spectra, the heater's thermocouple)."""
        return self.instrument.noise

    @noise.setter
    def noise(self, value: bool) -> None:
        self.instrument.noise = bool(value)

    @property
    def heater_time_constant_s(self) -> float:
        return self.coil.time_constant_s

    @property
    def stocks_mM(self) -> dict[str, float]:
        """This lot's stock concentrations (mM per stream)."""
        return self.lot.stocks_mM

    @property
    def reactivity_factor(self) -> float:
        """This lot's reactivity relative to the nominal chemistry."""
        return self.lot.reactivity_factor

    def lamp_factor(self) -> float:
        """Lamp intensity now, relative to new."""
        return self.drift.lamp_factor(self.clock.now())

    # ----------------------------------------------------------------- bringing the parts up to now
    def _delivered(self) -> dict[str, float]:
        if self.clogging.stalled:
            return {s: 0.0 for s in self.streams}
        return dict(self._set_flows)

    def _push_flows(self, t: float) -> None:
        """Record in the flow history what the pumps deliver from ``t`` on."""
        delivered = self._delivered()
        self.flows.record(t, [delivered[s] for s in self.streams])

    @property
    def _stalled(self) -> bool:  # tests force a stall with it (then ``_push_flows``), as a clog would
        return self.clogging.stalled

    @_stalled.setter
    def _stalled(self, value: bool) -> None:
        self.clogging.stalled = bool(value)

    def _next_cutoff(self) -> tuple[float, str] | None:
        """When the first stream with a volume limit reaches it at the flows delivered now."""
        best = None
        delivered = self._delivered()
        for stream, v_end in self._limits.items():
            q = delivered[stream]
            if q > 0:
                done = self.flows.volume_between(stream, -math.inf, self._t_state)
                t_cut = self._t_state + max(0.0, v_end - done) / q * 60.0
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
        flushed = self.clogging.back_flush(t, self._stopped_since)
        if flushed is not None:
            self._push_flows(flushed)
        flows = self._delivered()
        q = sum(flows.values())
        if q > 0:
            stalled_at = self.clogging.build_up(
                self._t_state,
                t,
                q,
                lambda t_a, t_b: self._clog_risk(
                    {
                        "temperature": self.coil.temperature_at(0.5 * (t_a + t_b)),
                        **{f"flow_{k}": v for k, v in flows.items()},
                    }
                ),
            )
            if stalled_at is not None:
                self._push_flows(stalled_at)
        self._t_state = t
        return t

    def _clog_risk(self, cond: Mapping[str, float]) -> float:
        return float(clog_risk(self.material, [cond], reactor=self.reactor, stocks_mM=self.stocks_mM)[0])

    # ----------------------------------------------------------------- pumps
    def set_flow(self, stream: str, flow_ul_min: float, *, limit_ul: float | None = None) -> None:
        """Run ``stream`` at ``flow_ul_min``; with ``limit_ul`` it stops by itself once it has delivered
        that much more (uL), as a syringe pump with a volume target does."""
        if stream not in self.streams:
            raise ConfigurationError(
                f"no stream {stream!r} in the {self.material} world; streams are {list(self.streams)}"
            )
        t = self._advance()
        self._set_flows[stream] = max(0.0, float(flow_ul_min))
        if limit_ul is None or self._set_flows[stream] == 0:
            self._limits.pop(stream, None)
        else:
            self._limits[stream] = self.flows.volume_between(stream, -math.inf, t) + max(0.0, float(limit_ul))
        if any(self._set_flows.values()):
            self._stopped_since = None
        elif self._stopped_since is None:
            self._stopped_since = t
        self._push_flows(t)

    def delivered_flow(self, stream: str) -> float:
        """What ``stream`` delivers now (uL/min): its set flow, 0 once stopped or stalled."""
        self._advance()
        return self._delivered()[stream]

    def dispensed_between(self, stream: str, t_a: float, t_b: float) -> float:
        """Volume (uL) of ``stream`` delivered between two times (s)."""
        self._advance()
        return self.flows.volume_between(stream, t_a, t_b)

    def pressure_bar(self) -> float:
        """Reactor inlet pressure (bar): laminar pressure drop of the delivered flow plus any clog."""
        self._advance()
        return self.clogging.pressure_bar(sum(self._delivered().values()))

    @property
    def stalled(self) -> bool:
        """Whether the line is clogged and the pumps stalled."""
        self._advance()
        return self.clogging.stalled

    def clear_clog(self) -> None:
        """Maintenance: flush the line; pressure returns to the clean value and pumps can run again."""
        t = self._advance()
        self.clogging.clear()
        self._push_flows(t)

    # ----------------------------------------------------------------- heater
    def set_setpoint(self, setpoint_c: float) -> None:
        self.coil.set_setpoint(self._advance(), setpoint_c)

    def setpoint(self) -> float:
        return self.coil.setpoint_c

    def temperature(self) -> float:
        """Coil temperature now (degC)."""
        return self.coil.temperature_at(self._advance())

    # ----------------------------------------------------------------- truth
    def evaluate_true(self, conditions: Mapping[str, Any]) -> dict[str, Any]:
        """Noise-free steady state of this world's chemistry (its reactor, stocks and precursor lot)."""
        return _row(self.evaluate_many([conditions]), 0)

    def evaluate_many(self, conditions: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """:meth:`evaluate_true` for many conditions at once, as arrays (``simulators.evaluate_many``'s
        keys). Clean reactor walls: the slow fouling drift is the rig's, not the chemistry's."""
        return steady_state_arrays(
            self.material,
            [dict(c) for c in conditions],
            reactor=self.reactor,
            stocks_mM=self.stocks_mM,
            reactivity_factor=self.reactivity_factor,
        )

    # ----------------------------------------------------------------- flow cell and spectrometer
    def cell_content(self, t: float | None = None) -> dict[str, Any]:
        """What is in the flow cell at time t (default now); see ``FlowCell.content``."""
        t = self._advance() if t is None else t
        return self.cell.content(t, flows=self.flows, coil=self.coil, drift=self.drift)

    def _cell_now(self, t: float) -> dict[str, Any]:
        """``cell_content(t)``, computed once for the scans an exposure takes at one instant (the clock
        does not move between them) and again when the flows or the heater change."""
        key = (t, self.flows.revision, self.coil.revision, self.clogging.stalled)
        if self._cell_cache is None or self._cell_cache[0] != key:
            self._cell_cache = (key, self.cell_content(t))
        return self._cell_cache[1]

    def acquire(self, channel: str, integration_ms: float, source_on: bool) -> np.ndarray:
        """Raw counts (per pixel) of one ``integration_ms`` exposure on ``channel`` now."""
        t = self._advance()
        cell = self._cell_now(t) if source_on else None
        return self.instrument.acquire(channel, integration_ms, cell, lamp_factor=self.drift.lamp_factor(t))
