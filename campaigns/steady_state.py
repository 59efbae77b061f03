"""``[protocol] steady_state = "detect"``: wait for the outlet as long as its spectra say it needs.

After a set-point change the outlet changes only after the dead time and then follows the
residence-time distribution (REFERENCE.md section 4): a fixed wait of ``residence_times`` residence times
is long enough for the slowest campaign and too long for most. With "detect" the plan waits the dead
time plus one residence time, then probes the outlet every ``max(poll_interval, tau / 4)``; each probe
is a pair of spectra taken back to back, whose figures of merit (PL peak, FWHM, PLQY) differ by the
instrument's noise alone (the outlet does not move in the seconds between them). The wait ends when

- the last ``WINDOW`` probes agree: every monitored figure of the newest probe is within ``Z`` noise
  standard deviations (of a difference of two probe means) of each of the ``WINDOW - 1`` before it,
  so a slow monotone tail that looks flat between neighbours is still caught across the window
  (half a residence time); the noise is the pooled scatter of the pairs so far (``noise_sd``), and
  a difference below ``INDIFFERENT`` (what no objective or target band in this tool resolves) counts as
  agreement, so an instrument quieter than that does not wait for ever;
- or the fixed wait is reached (the bound: "detect" never waits longer than "fixed").

Each pair is recorded as two events of the experiment's ``settle`` stream (the spectra used), and the
decision as one ``steady_state`` event (seconds waited after the flows were set, probes, reason).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any

import bluesky.plan_stubs as bps

from campaigns.streams import DECISION_STREAM, SETTLE_STREAM
from models.numbers import is_finite_number

__all__ = [
    "MONITORED",
    "WINDOW",
    "Z",
    "INDIFFERENT",
    "noise_sd",
    "settled",
    "probe_interval_s",
    "detect_steady_state",
]

Plan = Generator[Any, Any, Any]

MONITORED = ("pl_peak_nm", "pl_fwhm_nm", "plqy")
"""Figures of merit whose agreement says the outlet has settled."""
WINDOW = 3
"""Probes that must agree (spanning two intervals: half a residence time at the default interval)."""
Z = 3.0
"""Agreement within this many noise standard deviations of a difference of two probe means."""
INDIFFERENT = {"pl_peak_nm": 0.25, "pl_fwhm_nm": 0.25, "plqy": 0.002}
"""Differences no objective or target band resolves (nm, nm, absolute PLQY): agreement regardless."""


def noise_sd(pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], key: str) -> float:
    """Standard deviation of one reading of figure ``key``, pooled over back-to-back pairs: the mean
    of (a - b)^2 / 2 (0.0 when no pair has the figure in both readings)."""
    diffs = [
        (float(a[key]) - float(b[key])) ** 2
        for a, b in pairs
        if is_finite_number(a.get(key)) and is_finite_number(b.get(key))
    ]
    return math.sqrt(sum(diffs) / (2 * len(diffs))) if diffs else 0.0


def _mean(pair: tuple[Mapping[str, Any], Mapping[str, Any]], key: str) -> float | None:
    a, b = pair[0].get(key), pair[1].get(key)
    if a is None or b is None or not (is_finite_number(a) and is_finite_number(b)):
        return None
    return 0.5 * (float(a) + float(b))


def settled(pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> bool:
    """Whether the last ``WINDOW`` probes (pairs of readings' figures, oldest first) agree within their
    noise on every monitored figure. A figure missing from all of them (no PL) is not monitored; one
    present in some and missing in others is a change (a signal appearing or vanishing)."""
    if len(pairs) < WINDOW:
        return False
    window = pairs[-WINDOW:]
    for key in MONITORED:
        means = [_mean(p, key) for p in window]
        if all(m is None for m in means):
            continue
        if any(m is None for m in means):
            return False
        # a probe is the mean of two readings: a difference of two probes has the sd of one reading
        tolerance = max(Z * noise_sd(pairs, key), INDIFFERENT[key])
        newest = means[-1]
        if any(abs(newest - m) > tolerance for m in means[:-1]):  # type: ignore[operator]
            return False
    return True


def probe_interval_s(residence_time_s: float, poll_interval_s: float) -> float:
    """Seconds between probes: a quarter of a residence time, at least the protocol's poll interval."""
    return max(poll_interval_s, 0.25 * residence_time_s)


def detect_steady_state(
    rig: Any,
    *,
    minimum_s: float,
    bound_s: float,
    interval_s: float,
    figures: Callable[[Mapping[str, Any]], Plan],
) -> Plan:
    """Wait ``minimum_s`` after the flows were set, then probe every ``interval_s`` until the probes
    agree (:func:`settled`) or ``bound_s`` has passed; returns (seconds waited, probes, reason).
    ``figures(reading)`` is a plan returning a spectrometer reading's figures of merit."""
    start = yield from bps.rd(rig.timer.time)
    yield from bps.mv(rig.timer, min(minimum_s, bound_s))
    pairs: list[tuple[dict, dict]] = []
    reason = "bound"
    while True:
        pair = []
        for _ in range(2):
            reading = yield from bps.trigger_and_read([rig.spectrometer], name=SETTLE_STREAM)
            pair.append(dict((yield from figures(reading))))
        pairs.append((pair[0], pair[1]))
        waited = (yield from bps.rd(rig.timer.time)) - start
        if settled(pairs):
            reason = "agreed"
            break
        if waited + interval_s > bound_s:
            yield from bps.mv(rig.timer, max(bound_s - waited, 0.0))  # the fixed wait, at most
            break
        yield from bps.mv(rig.timer, interval_s)
    waited = (yield from bps.rd(rig.timer.time)) - start
    decision = rig.steady_state
    yield from bps.mv(decision.waited_s, waited, decision.probes, len(pairs), decision.reason, reason)
    yield from bps.trigger_and_read([decision], name=DECISION_STREAM)
    return waited, len(pairs), reason
