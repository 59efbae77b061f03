"""``RefillStation``: where a plan waits, with the pumps stopped, for syringes to be refilled.

A plan asks with ``bps.mv(station, {pump name: (need_ul, remaining_ul)})``; the status completes when
every syringe asked for has been refilled. Who refills is the application's business: it calls
``refilled(names, volume_ul)`` from any thread (the lab does on ``qdlab refill``), or the station
refills at once by itself (``auto``, for dry runs on a simulated rig). A plan's wait on the status is
the RunEngine's wait, so Ctrl-C interrupts it; ``stop()`` (what an abort calls) drops the request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from ophyd import Component as Cpt
from ophyd import Device
from ophyd.status import Status

from devices.clock import Clock
from devices.pump import SyringePump
from devices.signals import SoftValue
from models.errors import DeviceError

__all__ = ["RefillStation", "RefillRequest"]

RefillRequest = dict[str, tuple[float, float]]
"""Pump name -> (volume the next experiment needs, volume left in its syringe), both uL."""


class RefillStation(Device):
    """Syringe refills for ``pumps`` (by pump name), timed on ``clock``.

    ``on_request(request)`` is called when a plan asks (to tell the operator); ``on_refilled(names)``
    once the request is satisfied. Readings after a refill: ``requested`` (JSON: the request),
    ``refilled`` (JSON: pump name -> volume it was refilled to, uL), ``waited`` (s on ``clock``),
    ``how`` ('operator' or 'auto').
    """

    requested = Cpt(SoftValue, dtype="string", kind="normal")
    refilled = Cpt(SoftValue, dtype="string", kind="normal")
    waited = Cpt(SoftValue, units="s", kind="normal")
    how = Cpt(SoftValue, dtype="string", kind="normal")

    def __init__(
        self,
        pumps: dict[str, SyringePump],
        clock: Clock,
        *,
        auto: bool = False,
        on_request: Callable[[RefillRequest], None] | None = None,
        on_refilled: Callable[[dict[str, float]], None] | None = None,
        name: str = "refill",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.pumps = dict(pumps)
        self.clock = clock
        self.auto = auto
        self.on_request = on_request
        self.on_refilled = on_refilled
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._done: dict[str, float] = {}
        self._status: Status | None = None
        self._since = 0.0

    @property
    def pending(self) -> list[str]:
        """Pump names a plan waits for (empty when nothing waits)."""
        with self._lock:
            return sorted(self._pending)

    def set(self, request: RefillRequest) -> Status:
        unknown = sorted(set(request) - set(self.pumps))
        if unknown or not request:
            raise DeviceError(
                f"{self.name}: cannot refill {', '.join(unknown) or 'nothing'}; pumps are "
                f"{', '.join(self.pumps)}"
            )
        status = Status()
        with self._lock:
            self._pending, self._done, self._status = set(request), {}, status
            self._since = self.clock.now()
        self.requested.put(
            json.dumps({k: {"need_ul": n, "remaining_ul": r} for k, (n, r) in request.items()})
        )
        if self.auto:
            self.refill(list(request), how="auto")
        else:
            if self.on_request is not None:
                self.on_request(request)
        return status

    def refill(
        self, names: list[str] | None = None, volume_ul: float | None = None, *, how: str = "operator"
    ) -> list[str]:
        """The operator refilled ``names`` (default: every pump waited for) to ``volume_ul`` (default each
        syringe's volume). Returns the pumps refilled; the plan continues once none is pending."""
        with self._lock:
            names = sorted(self._pending) if names is None else list(names)
        unknown = sorted(set(names) - set(self.pumps))
        if unknown:
            raise DeviceError(f"{self.name}: no pump {', '.join(unknown)}; pumps are {', '.join(self.pumps)}")
        for pump_name in names:
            self.pumps[pump_name].refill(volume_ul)
        with self._lock:
            for pump_name in names:
                self._done[pump_name] = self.pumps[pump_name].filled_ul
                self._pending.discard(pump_name)
            status = self._status if not self._pending else None
            if status is not None:
                self._status = None
                done = dict(self._done)
        if status is not None:
            self.refilled.put(json.dumps(done))
            self.waited.put(self.clock.now() - self._since)
            self.how.put(how)
            if self.on_refilled is not None:
                self.on_refilled(done)
            status.set_finished()
        return names

    def stop(self, *, success: bool = False) -> None:
        """Drop a pending request (an aborted campaign waits no more)."""
        with self._lock:
            self._pending.clear()
            status, self._status = self._status, None
        if status is not None and not status.done:
            status.set_exception(DeviceError(f"{self.name}: refill wait stopped"))
