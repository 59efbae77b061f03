"""The event streams a campaign's runs record besides ``primary``, and the rows of a trajectory's samples.

The stream names are what the plans write (``campaigns.plans``, ``campaigns.steady_state``,
``campaigns.dynamic``) and what the log's readers look for (``lab.store.records``): one home, and no
bluesky or ophyd, so reading a finished campaign back does not import the stack that ran it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "DECISION_STREAM",
    "HEATER_STREAM",
    "INLET_STREAM",
    "PARAMETER_PREFIX",
    "SAMPLE_FIELDS",
    "SAMPLE_STREAM",
    "SETTLE_STREAM",
    "sample_rows",
]

HEATER_STREAM = "heater_settle"
"""The event stream in which an experiment of a cost-aware campaign records its heater's settling: the
``HeaterSettle`` readings (``heater_settle_from_c``, ``heater_settle_to_c``, ``heater_settle_s``)."""
SETTLE_STREAM = "settle"
"""The event stream of the steady-state probes an experiment takes while its reactor settles."""
DECISION_STREAM = "steady_state"
"""The event stream of the steady-state decision (settled or not, and why) of an experiment."""
INLET_STREAM = "inlet"
"""The event stream of what entered the reactor at each step of a trajectory: pump flows, heater
temperature and the rig clock (the history :func:`campaigns.transient.assign` reads)."""
SAMPLE_STREAM = "sample"
"""The event stream of a trajectory's assigned spectra, one event per spectrum, after the path."""
SAMPLE_FIELDS = ("t_s", "entered_s", "spread", "weight")
"""A ``sample`` event's bookkeeping fields besides figures of merit and assigned parameters."""
PARAMETER_PREFIX = "at_"
"""A ``sample`` event's assigned parameter ``name`` is recorded as ``at_<name>``."""


def sample_rows(samples: Sequence[Mapping[str, Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    """Rows (assigned parameters, figures of merit, ``failure``, ``weight``) of the assigned samples among
    a trajectory's ``sample`` events' data (``sample_`` taken off the keys), in order."""
    rows = []
    for s in samples:
        at = {n: s.get(PARAMETER_PREFIX + n) for n in names}
        if not s.get("weight") or any(not isinstance(v, (int, float)) for v in at.values()):
            continue
        outcomes = {
            k: v
            for k, v in s.items()
            if k not in SAMPLE_FIELDS and not k.startswith(PARAMETER_PREFIX) and k != "objective"
        }
        outcomes["failure"] = outcomes.get("failure") or None
        rows.append({**at, **outcomes, "weight": float(s["weight"])})
    return rows
