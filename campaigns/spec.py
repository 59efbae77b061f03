"""``campaign.toml``: material, search space, objective, budget, strategy, seed and protocol.

A search space is written either as pump flow rates (``kind = "flows"``: ``flow_<reagent>`` and
``temperature``) or in chemical terms (``kind = "chemical"``: ``conc_<reagent>`` in the mixed stream,
``ratio_<a>_<b>`` = conc_a / conc_b, ``residence_time``, ``temperature``). Units follow the name.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    model_serializer,
    model_validator,
)

from models.objectives import MultiObjective, Objective, make_objective
from models.validation import MAX_DESCRIPTION_CHARS, MAX_LIST_ITEMS, MAX_TEXT_CHARS, Quantity, quantity

__all__ = [
    "CampaignSpec",
    "ParameterSpec",
    "SearchSpec",
    "ProtocolSpec",
    "parameter_unit",
    "NAME_MAX_BYTES",
    "MAX_PARAMETERS",
    "MIN_POLL_INTERVAL_S",
    "MAX_WAIT_S",
]

MAX_PARAMETERS = MAX_LIST_ITEMS
"""Most searched parameters a campaign may have (a rig has a handful of pumps and one heater)."""
MIN_POLL_INTERVAL_S = 0.1
"""Shortest ``poll_interval``: the heater settle loop reads the controller once per interval."""
MAX_WAIT_S = 86_400.0
"""Longest ``heater_hold``, ``heater_timeout`` and ``clog_recovery`` (one day)."""

_PATTERNS: list[tuple[re.Pattern, str, str]] = [
    (re.compile(r"^temperature$"), "degC", "both"),
    (re.compile(r"^residence_time$"), "s", "chemical"),
    (re.compile(r"^conc_[a-z][a-z0-9]*$"), "mM", "chemical"),
    (re.compile(r"^ratio_[a-z][a-z0-9]*_[a-z][a-z0-9]*$"), "", "chemical"),
    (re.compile(r"^flow_[a-z][a-z0-9]*$"), "uL/min", "flows"),
]


def parameter_unit(name: str, kind: str) -> str:
    """Unit a parameter is written and optimised in ('' for a ratio); ValueError for an unknown name."""
    for pattern, unit, kinds in _PATTERNS:
        if pattern.match(name):
            if kinds not in ("both", kind):
                raise ValueError(f"parameter '{name}' does not belong in a '{kind}' search space")
            return unit
    allowed = (
        "temperature, residence_time, conc_<reagent>, ratio_<a>_<b>"
        if kind == "chemical"
        else "temperature, flow_<reagent>"
    )
    raise ValueError(f"unknown parameter '{name}'; allowed in a '{kind}' search space: {allowed}")


def _parameter_quantity(unit: str) -> Quantity:
    return Quantity(unit or "dimensionless", dimensionless_ok=not unit)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_max_length=MAX_TEXT_CHARS)


class ParameterSpec(_Strict):
    """One searched parameter; ``low``/``high`` carry units (``"220 degC"``), floats after validation."""

    name: str
    low: float
    high: float
    log: bool = False


class SearchSpec(_Strict):
    kind: Literal["chemical", "flows"]
    parameters: list[ParameterSpec] = Field(min_length=1, max_length=MAX_PARAMETERS)
    fixed: dict[str, Any] = Field(default_factory=dict, max_length=MAX_LIST_ITEMS)

    @model_validator(mode="before")
    @classmethod
    def _parse_units(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("parameters"), list):
            return data
        kind = data.get("kind", "chemical")
        parsed = []
        for i, p in enumerate(data["parameters"]):
            if not isinstance(p, dict) or "name" not in p:
                parsed.append(p)
                continue
            q = dict(p)
            try:
                unit = parameter_unit(str(p["name"]), kind)
                for bound in ("low", "high"):
                    if bound in q:
                        q[bound] = _parameter_quantity(unit).parse(q[bound])
            except ValueError as exc:
                raise ValueError(f"parameters[{i}] ({p['name']}): {exc}") from None
            parsed.append(q)
        fixed = {}
        for name, value in dict(data.get("fixed", {})).items():
            try:
                unit = parameter_unit(str(name), kind)
                fixed[name] = _parameter_quantity(unit).parse(value)
            except ValueError as exc:
                raise ValueError(f"fixed.{name}: {exc}") from None
        return {**data, "parameters": parsed, "fixed": fixed}

    @model_serializer(mode="wrap", when_used="json")
    def _write_units(self, handler: Any) -> dict[str, Any]:
        """As written in a file: bounds and fixed values with the unit their name implies."""
        data = handler(self)
        for p in data["parameters"]:
            q = _parameter_quantity(parameter_unit(p["name"], self.kind))
            p["low"], p["high"] = q.text(p["low"]), q.text(p["high"])
        data["fixed"] = {
            k: _parameter_quantity(parameter_unit(k, self.kind)).text(v) for k, v in self.fixed.items()
        }
        return data

    @model_validator(mode="after")
    def _check(self) -> "SearchSpec":
        names = [p.name for p in self.parameters]
        if len(set(names)) != len(names):
            raise ValueError("a parameter is listed twice")
        for p in self.parameters:
            if not p.low < p.high:
                raise ValueError(f"parameter '{p.name}': low ({p.low:g}) must be below high ({p.high:g})")
            if p.log and p.low <= 0:
                raise ValueError(f"parameter '{p.name}': a log-scaled parameter needs low > 0")
        every = set(names) | set(self.fixed)
        if "temperature" not in every:
            raise ValueError("the search space must set 'temperature' (searched or fixed)")
        if self.kind == "chemical" and "residence_time" not in every:
            raise ValueError("a chemical search space must set 'residence_time' (searched or fixed)")
        return self


class ProtocolSpec(_Strict):
    """How one experiment is measured."""

    residence_times: float = Field(default=3.0, ge=0.5, le=20)
    heater_hold: Annotated[float, quantity("s"), Field(ge=0, le=MAX_WAIT_S)] = 30.0
    heater_timeout: Annotated[float, quantity("s"), Field(gt=0, le=MAX_WAIT_S)] = 1800.0
    poll_interval: Annotated[float, quantity("s"), Field(ge=MIN_POLL_INTERVAL_S, le=MAX_WAIT_S)] = 5.0
    flush_residence_times: float = Field(default=2.0, ge=0, le=20)
    clog_recovery: Annotated[float, quantity("s"), Field(ge=0, le=MAX_WAIT_S)] = 900.0
    """After a clog the pumps stop and the plan waits this long for the line to be flushed clear."""
    refill: Literal["wait", "auto"] | None = None
    """A syringe that cannot see the next experiment through: "wait" stops the pumps and waits for
    ``qdlab refill``; "auto" refills it at once (dry runs on a simulated or emulated rig only). Unset:
    auto on a simulated lab, wait on any other (docs/hardware.md)."""
    steady_state: Literal["fixed", "detect"] = "fixed"
    """"fixed": measure after the dead time plus ``residence_times`` residence times. "detect": after the
    dead time plus one residence time, take spectra at intervals and measure once successive ones agree
    within their noise (never later than the fixed wait; docs/adr/0015-time-aware-loop.md)."""
    overlap: bool = False
    """Compute the next proposal while the current experiment waits for steady state (the running
    experiment is a pending point), so the rig never waits for the optimiser."""
    cost_aware: bool = False
    """Weigh each candidate's expected reactor time and precursor (heater travel, flush, residence time)
    against its promise when choosing the next experiment."""
    mode: Literal["steady", "dynamic"] = "steady"
    """"steady": every experiment is measured at steady state. "dynamic": the loop runs trajectories,
    ramping the pumps (and the heater) along a path the optimiser chose while spectra are taken every
    ``sample_interval``; each spectrum is assigned the conditions its fluid saw (campaigns.transient), and
    a candidate is confirmed by a steady-state experiment before it counts (docs/adr/0016-dynamic-flow.md)."""
    sample_interval: Annotated[float, quantity("s"), Field(ge=MIN_POLL_INTERVAL_S, le=MAX_WAIT_S)] = 10.0
    """Seconds between the spectra of a dynamic trajectory (``mode = "dynamic"``)."""


NAME_MAX_BYTES = 255
"""The longest campaign name (bytes): the name is its directory's (``runs/NAME``), one path component,
and 255 bytes is the most a component holds on the usual file systems (ext4, XFS, btrfs, APFS, NTFS)."""
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _directory_name(name: str) -> str:
    """A campaign name is one directory name: never '.', '..', a path, empty, or too long to create."""
    if not _NAME.match(name) or name in (".", ".."):
        raise ValueError("must be one directory name of letters, digits, '_', '.' and '-' (not '.' or '..')")
    if len(name.encode()) > NAME_MAX_BYTES:
        raise ValueError(
            f"is {len(name.encode())} characters long; a directory name holds at most {NAME_MAX_BYTES}"
        )
    return name


class _Memo:
    """A value kept beside a model's fields that is no part of it: two models never differ by their memos."""

    def __init__(self, key: Any = None, value: Any = None):
        self.key, self.value = key, value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Memo)

    __hash__ = None  # type: ignore[assignment]


class CampaignSpec(_Strict):
    name: Annotated[str, AfterValidator(_directory_name)]
    id: str | None = None
    material: str
    description: str = Field(default="", max_length=MAX_DESCRIPTION_CHARS)
    budget: int = Field(ge=1, le=10_000)
    seed: int = Field(default=0, ge=0)
    strategy: str = "botorch"
    strategy_options: dict[str, Any] = Field(default_factory=dict)
    search: SearchSpec
    objective: dict[str, Any] | Annotated[list[dict[str, Any]], Field(max_length=MAX_LIST_ITEMS)]
    constraints: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    """Linear constraints on searched parameters, e.g. {coefficients = {flow_cd = 1, flow_se = 1}, op = "<=", rhs = 300}."""
    outcome_constraints: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    """E.g. {outcome = "plqy", op = ">=", value = 0.3}."""
    protocol: ProtocolSpec = ProtocolSpec()
    _objective: _Memo = PrivateAttr(default_factory=_Memo)

    @property
    def parsed_objective(self) -> Objective | MultiObjective:
        """``objective`` parsed (:func:`models.objectives.make_objective`, ConfigurationError when invalid)
        once and reused by everyone who scores this campaign; parsed again only for a copy whose
        ``objective`` was replaced (``model_copy(update=...)``)."""
        memo = self._objective
        if memo.key is not self.objective:
            self._objective = memo = _Memo(self.objective, make_objective(self.objective))
        return memo.value

    def identity(self) -> dict[str, Any]:
        """Which campaign this is, as replay and report print it (their ``campaign`` key)."""
        return {
            "name": self.name,
            "id": self.id,
            "material": self.material,
            "strategy": self.strategy,
            "seed": self.seed,
            "budget": self.budget,
        }
