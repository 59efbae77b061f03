"""Stop means stop: the first SIGINT, SIGTERM or SIGHUP interrupts a running campaign at once.

bluesky's own SIGINT handler asks for a *deferred* pause (at the next checkpoint) and needs a second
Ctrl-C to pause now; on a hot rig one Ctrl-C must be enough. ``StopSignals`` replaces it (the session
builds its RunEngine with ``context_managers=[]``): the signal handler only records which signal came
and wakes a watcher thread, and that thread asks the RunEngine for an immediate pause
(``request_pause(defer=False)``, which cancels whatever the plan is waiting on, a long timer wait
included). The session then aborts the paused run (stop document ``exit_status = "abort"``), makes
the rig safe and ends with ``Interrupted``. A signal that lands between two RunEngine calls (while
the rig connects, say) is kept: ``check()`` raises ``StopRequested`` before the next call starts.
"""

from __future__ import annotations

import logging
import signal
import threading

__all__ = ["STOP_SIGNALS", "StopSignals", "StopRequested", "PollingDuringTask"]

STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
"""The signals that stop a campaign; each exits with 128 + its number (130, 143, 129)."""

_log = logging.getLogger("qdlab.stop")
_RETRY_S = 0.05  # how often the watcher retries while the RunEngine is between calls (wall seconds)


class PollingDuringTask:
    """The RunEngine's ``during_task``: the main thread waits for the plan in short timed waits.

    bluesky's default waits on an untimed ``Event.wait()``. A signal sent with kill(2) may be delivered
    to any thread of the process (the RunEngine's loop, a serial reader, a Dask worker); the main thread,
    blocked in that untimed wait, then never runs the Python handler, and one Ctrl-C took effect only
    when the campaign ended. Waking every ``period_s`` (wall seconds) lets the handler run within that
    time wherever the signal landed.
    """

    def __init__(self, period_s: float = 0.1):
        self.period_s = period_s

    def block(self, blocking_event: threading.Event) -> None:
        while not blocking_event.wait(self.period_s):
            pass


class StopRequested(Exception):
    """A stop signal arrived while no RunEngine call was running (raised by ``StopSignals.check``)."""


class StopSignals:
    """Context manager: on the first stop signal, pause ``run_engine`` now, and remember the signal.

    ``received`` is the first signal's name (``"SIGINT"``, ...) or None. Outside the main thread
    (a session run by a worker) no handler can be installed and nothing is changed.
    """

    def __init__(self, run_engine):
        self.run_engine = run_engine
        self.received: str | None = None
        self._wake = threading.Event()
        self._closed = False
        self._previous: dict[int, object] = {}
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is not threading.main_thread():
            return self
        self._thread = threading.Thread(target=self._watch, name="stop-signals", daemon=True)
        self._thread.start()
        for name in STOP_SIGNALS:
            number = getattr(signal, name)
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()
        self._closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def check(self) -> None:
        """Raise ``StopRequested`` if a stop signal has arrived."""
        if self.received is not None:
            raise StopRequested(self.received)

    def _handle(self, signum, frame) -> None:  # noqa: ARG002 - signal handler signature
        # Runs in the main thread between two bytecodes: record and wake, nothing that could block.
        if self.received is None:
            self.received = signal.Signals(signum).name
        self._wake.set()

    def _watch(self) -> None:
        self._wake.wait()
        while not self._closed:
            if self._pause_now():
                return
            self._wake.wait(_RETRY_S)  # between RunEngine calls: the session's check() stops it

    def _pause_now(self) -> bool:
        """True once the RunEngine has been asked to pause (or nothing is left to pause)."""
        state = str(self.run_engine.state)
        if state in ("paused", "pausing", "aborting", "halting", "stopping", "panicked"):
            return True
        if state != "running":
            return False
        try:
            self.run_engine.request_pause(defer=False)
        except Exception:  # noqa: BLE001 - TransitionError: it moved on meanwhile; look again
            return False
        _log.info("%s: RunEngine paused to stop the campaign", self.received)
        return True
