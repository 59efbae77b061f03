"""What the pumps delivered, over time: the record a fluid element's history is read from.

The history is piecewise constant: from each recorded time on, each stream delivers its flow (uL/min)
until the next record. Its integral, the cumulative delivered volume V(t) (uL, all streams), is
monotonic, so it maps a volume mark back to the time that fluid entered the reactor: the element in
the flow cell now entered when V was V(now) - transfer volume - theta x reactor volume.
"""

from __future__ import annotations

import bisect
import math
from typing import Sequence

__all__ = ["FlowHistory"]


class FlowHistory:
    """Delivered flows of ``streams`` (uL/min) from ``t0`` (s, all zero then) on."""

    def __init__(self, streams: Sequence[str], t0: float):
        self.streams = tuple(streams)
        self._t: list[float] = [t0]
        self._flows: list[tuple[float, ...]] = [tuple(0.0 for _ in self.streams)]
        self._v: list[float] = [0.0]  # cumulative volume (uL) at each record
        self.revision = 0
        """Counts the records: equal revisions, equal history (what a cache of the cell keys on)."""

    def record(self, t: float, flows: Sequence[float]) -> None:
        """From ``t`` (s, not before the last record) on, the streams deliver ``flows`` (uL/min, in
        ``streams`` order); a second record at the same time replaces the first."""
        flows = tuple(flows)
        v = self.volume_at(t)
        if self._t[-1] == t:
            self._flows[-1] = flows
            self._v[-1] = v
        else:
            self._t.append(t)
            self._flows.append(flows)
            self._v.append(v)
        self.revision += 1

    def volume_at(self, t: float) -> float:
        """Cumulative volume (uL, all streams) delivered up to ``t`` (s)."""
        i = bisect.bisect_right(self._t, t) - 1
        i = max(i, 0)
        q = sum(self._flows[i])
        return self._v[i] + q * (t - self._t[i]) / 60.0

    def time_at_volume(self, v: float) -> float:
        """Time (s) when the cumulative delivered volume was ``v`` (uL); -inf before the first drop."""
        if v <= 0:
            return -math.inf
        i = bisect.bisect_right(self._v, v) - 1
        # skip back over zero-flow segments that share the same volume
        while i > 0 and self._v[i] >= v:
            i -= 1
        q = sum(self._flows[i])
        if q <= 0:
            return self._t[i]
        return self._t[i] + (v - self._v[i]) / q * 60.0

    def flows_entering(self, t: float) -> tuple[float, ...]:
        """The flows (uL/min, ``streams`` order) of the fluid that entered at ``t`` (s): a segment whose
        flows are all zero delivers no fluid, so the next delivering segment's."""
        i = max(bisect.bisect_right(self._t, t) - 1, 0)
        while sum(self._flows[i]) <= 0 and i + 1 < len(self._flows):
            i += 1
        return self._flows[i]

    def volume_between(self, stream: str, t_a: float, t_b: float) -> float:
        """Volume (uL) of ``stream`` delivered between ``t_a`` and ``t_b`` (s)."""
        k = self.streams.index(stream)
        total = 0.0
        for i, t_i in enumerate(self._t):
            t_next = self._t[i + 1] if i + 1 < len(self._t) else math.inf
            lo, hi = max(t_a, t_i), min(t_b, t_next)
            if hi > lo:
                total += self._flows[i][k] * (hi - lo) / 60.0
        return total
