"""Clogging: pressure that builds up at clog-prone conditions, the stall it ends in, the back-flush.

At a condition with clog risk r > 1 (``simulators.chemistry.clog_risk``: the concentrated, slow, hot
corner) the line's pressure grows at ``rate_bar_per_s x (r - 1)``; once the inlet pressure (laminar
drop of the delivered flow plus the clog) passes the reactor's stall pressure, the pumps stall and
deliver nothing until the line is cleared: by maintenance (``clear``) or by the rig's back-flush once
every pump has been stopped ``unclog_after_s``.
"""

from __future__ import annotations

from typing import Callable

from simulators.chemistry.reactor import ReactorGeometry

__all__ = ["Clogging"]

_STEP_S = 30.0  # the build-up is integrated in steps this long (the temperature changes slowly)


class Clogging:
    """The clog state of ``reactor``'s line; ``enabled`` False: it never clogs."""

    def __init__(
        self, reactor: ReactorGeometry, *, enabled: bool, rate_bar_per_s: float, unclog_after_s: float
    ):
        self.reactor = reactor
        self.enabled = bool(enabled)
        self.rate_bar_per_s = float(rate_bar_per_s)
        self.unclog_after_s = float(unclog_after_s)
        self.clog_bar = 0.0
        self.stalled = False

    def pressure_bar(self, total_flow_ul_min: float) -> float:
        """Inlet pressure (bar) while ``total_flow_ul_min`` is delivered."""
        return self.reactor.base_pressure_bar_per_ul_min * total_flow_ul_min + self.clog_bar

    def clear(self) -> None:
        """Flush the line: no clog, the pumps can run again."""
        self.clog_bar = 0.0
        self.stalled = False

    def back_flush(self, t: float, stopped_since: float | None) -> float | None:
        """Flush a stalled line whose pumps have all been stopped since ``stopped_since`` (s) for
        ``unclog_after_s`` by ``t`` (s); the time it was flushed clear, or None."""
        if self.stalled and stopped_since is not None and t - stopped_since >= self.unclog_after_s:
            self.clear()
            return stopped_since + self.unclog_after_s
        return None

    def build_up(
        self, t_a: float, t_b: float, total_flow_ul_min: float, risk: Callable[[float, float], float]
    ) -> float | None:
        """Grow the clog from ``t_a`` to ``t_b`` (s) while ``total_flow_ul_min`` (> 0) is delivered;
        ``risk(t0, t1)`` is the clog risk over a step. The time (s) the line stalled, or None."""
        if not self.enabled or self.stalled:
            return None
        while t_a < t_b and not self.stalled:
            t_1 = min(t_b, t_a + _STEP_S)
            r = risk(t_a, t_1)
            if r > 1.0:
                self.clog_bar += self.rate_bar_per_s * (r - 1.0) * (t_1 - t_a)
                if self.pressure_bar(total_flow_ul_min) > self.reactor.stall_pressure_bar:
                    self.stalled = True  # at the step's end: about when the pressure crossed the limit
                    return t_1
            t_a = t_1
        return None
