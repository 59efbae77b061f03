"""``Outcomes``: a soft device that carries an experiment's figures of merit into its event stream."""

from __future__ import annotations

import keyword
import re

from ophyd import Component as Cpt
from ophyd import Device

from campaigns.streams import HEATER_STREAM
from devices.signals import SoftValue
from models.outcomes import dtype_of, figure_names, unit_of

__all__ = [
    "Outcomes",
    "OUTCOME_KEYS",
    "outcomes_device",
    "HeaterSettle",
    "SteadyStateDecision",
]

#: The figures of merit (models.outcomes, with their units), then the bookkeeping keys.
OUTCOME_KEYS = (*figure_names(), "failure", "objective")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Outcomes(Device):
    """Figures of merit of one measurement; ``failure`` is '' for a good one, else a word (clog, ...).

    Keys that are Python keywords (``yield``) are stored on ``<key>_`` attributes and renamed back so
    the event data say ``outcomes_yield``.
    """

    def __init__(self, *, name: str = "outcomes", **kwargs):
        super().__init__(name=name, **kwargs)
        for key in self.keys:
            attr = self._attr(key)
            if attr != key:
                getattr(self, attr).name = f"{name}_{key}"

    @staticmethod
    def _attr(key: str) -> str:
        return f"{key}_" if keyword.iskeyword(key) else key

    def signal_for(self, key: str):
        return getattr(self, self._attr(key))


def outcomes_device(extra_keys: tuple[str, ...] = (), *, name: str = "outcomes") -> Outcomes:
    """An ``Outcomes`` device with the standard figures of merit plus ``extra_keys`` (e.g. a user
    reactor model's ``loss``)."""
    keys = tuple(dict.fromkeys((*OUTCOME_KEYS, *extra_keys)))
    bad = [k for k in keys if not _NAME.match(k)]
    if bad:
        raise ValueError(f"outcome names must be identifiers, got {bad}")
    attrs = {}
    for key in keys:
        kind = "hinted" if key in ("pl_peak_nm", "pl_fwhm_nm", "plqy", "objective") else "normal"
        dtype = {"failure": "string", "pareto_front": "array"}.get(key) or dtype_of(key)
        attrs[Outcomes._attr(key)] = Cpt(SoftValue, dtype=dtype, units=unit_of(key) or None, kind=kind)
    cls = type("Outcomes", (Outcomes,), {**attrs, "keys": keys})
    return cls(name=name)


class HeaterSettle(Device):
    """How one settle went: the coil's temperature before the move, the set point, and the seconds
    ``settle_heater`` waited (hold included): what ``campaigns.cost`` fits the heater's rates from."""

    from_c = Cpt(SoftValue, units="degC")
    to_c = Cpt(SoftValue, units="degC")
    s = Cpt(SoftValue, units="s")

    def __init__(self, *, name: str = HEATER_STREAM, **kwargs):
        super().__init__(name=name, **kwargs)


class SteadyStateDecision(Device):
    """How ``[protocol] steady_state = "detect"`` ended one experiment's wait (campaigns.steady_state):
    seconds waited after the flows were set, probes (pairs of spectra) taken, and why it stopped
    ("agreed": the probes agreed within their noise; "bound": the fixed wait was reached)."""

    waited_s = Cpt(SoftValue, units="s")
    probes = Cpt(SoftValue)
    reason = Cpt(SoftValue, dtype="string")

    def __init__(self, *, name: str = "steady_state", **kwargs):
        super().__init__(name=name, **kwargs)
