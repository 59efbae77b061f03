"""Interlocks the lab layer installs on a RunEngine (bluesky suspenders, not ``if`` checks in plans).

``install_interlocks(run_engine, rig)`` watches the heater's process value: outside the lab's band
[min_temperature - tolerance, max_temperature + tolerance] the campaign is suspended (bluesky
``SuspendWhenOutsideBand``), and it resumes, from the last checkpoint, once the temperature has been
back in band for ``resume_after_s``. Our device signals are read on demand, so a small watcher thread
polls the heater and publishes the value on a soft signal the suspender subscribes to.
"""

from __future__ import annotations

import threading

from bluesky.suspenders import SuspendWhenOutsideBand
from ophyd import Signal

__all__ = ["TemperatureWatch", "install_interlocks"]


class TemperatureWatch:
    """Polls ``heater.temperature`` every ``period_s`` wall seconds into ``signal`` (a soft ophyd Signal)."""

    def __init__(self, heater, *, period_s: float = 0.5):
        self.heater = heater
        self.period_s = period_s
        self.signal = Signal(name=f"{heater.name}_temperature_watch", value=float("nan"))
        self.error: Exception | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> None:
        try:
            self.signal.put(float(self.heater.temperature.get()))
            self.error = None
        except Exception as exc:  # noqa: BLE001 - a failed read is the plan's to report; keep watching
            self.error = exc

    def start(self) -> "TemperatureWatch":
        self.poll()

        def run() -> None:
            while not self._stop.wait(self.period_s):
                self.poll()

        self._thread = threading.Thread(target=run, name="temperature-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)


def install_interlocks(
    run_engine, rig, *, period_s: float = 0.5, resume_after_s: float = 1.0
) -> tuple[TemperatureWatch, SuspendWhenOutsideBand]:
    """Install the temperature-band suspender on ``run_engine``; call ``watch.stop()`` when done."""
    limits = rig.heater.limits
    watch = TemperatureWatch(rig.heater, period_s=period_s).start()
    suspender = SuspendWhenOutsideBand(
        watch.signal,
        limits.min_temperature_c - limits.tolerance_c,
        limits.max_temperature_c + limits.tolerance_c,
        sleep=resume_after_s,
        tripped_message=(
            f"{rig.heater.name} outside the lab's band [{limits.min_temperature_c:g}, "
            f"{limits.max_temperature_c:g}] degC: campaign suspended until it is back; check the "
            "controller and the thermocouple"
        ),
    )
    run_engine.install_suspender(suspender)
    return watch, suspender
