"""The campaign objective: outcomes of one experiment -> one number (or several, for Pareto search).

Two spec shapes (plain dicts, as parsed from ``campaign.toml``):

- simple: ``{"name": "loss", "goal": "minimize"}`` - one measured outcome, minimised or maximised;
  ``value`` is the outcome itself. Optional ``"ref"``: reference value for hypervolume (outcome units).
- composite: ``{"goal": "maximize", "terms": [...], "reached": {...}}``. Each term is
  ``{"outcome": NAME, "target": T, "scale": S, "weight": W}`` or ``{"outcome": NAME, "goal":
  "minimize"|"maximize", "scale": S, "weight": W}`` (``scale`` and ``weight`` default to 1).
  Its utility is ``u = -|x - T| / S`` (target), ``-x / S`` (minimize) or ``+x / S`` (maximize), and
  ``value = sum_i W_i u_i`` (to be maximised; the top-level ``goal`` must be ``"maximize"`` or absent).
  The exact, non-smooth ``|x - T|`` is used: the BoTorch optimiser models each outcome with its own GP
  and applies this function to posterior samples, so the kink costs the surrogate nothing.

``reached`` maps outcome names to ``[lo, hi]``: the target is reached when every listed outcome lies
inside its interval. A list of simple specs is a multi-objective (:class:`MultiObjective`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.errors import ConfigurationError
from models.numbers import finite_or_none as _num

__all__ = ["Objective", "MultiObjective", "ObjectiveTerm", "make_objective", "is_failed", "failure_reason"]

_GOALS = ("maximize", "minimize")


def is_failed(outcomes: Mapping[str, Any]) -> bool:
    """True when the experiment is marked failed (a truthy ``"failure"``)."""
    return bool(outcomes.get("failure"))


def failure_reason(objective: Any, outcomes: Mapping[str, Any]) -> str | None:
    """Why an experiment does not count for ``objective`` (None when it does): its ``failure`` mark, or
    ``"no NAME"`` for the first outcome the objective needs that was not measured.

    The one definition of a failed experiment: the optimisers treat both cases as failures (no value to
    learn from), and the report, its plots, ``qdlab watch`` and the progress line mark what this says.
    """
    if is_failed(outcomes):
        return str(outcomes["failure"])
    for name in getattr(objective, "outcomes", ()):
        if _num(outcomes.get(name)) is None:
            return f"no {name}"
    return None


@dataclass(frozen=True)
class ObjectiveTerm:
    """One term: ``outcome``, ``goal`` ("target", "within", "minimize" or "maximize"), ``target``,
    ``within`` ([lo, hi]: no penalty inside, linear outside), ``scale``, ``weight``."""

    outcome: str
    goal: str
    scale: float = 1.0
    weight: float = 1.0
    target: float | None = None
    within: tuple[float, float] | None = None

    def utility(self, x: float) -> float:
        """Higher-is-better utility of one outcome value (dimensionless)."""
        if self.goal == "target":
            assert self.target is not None  # set with goal "target" (_term)
            return -abs(x - self.target) / self.scale
        if self.goal == "within":
            assert self.within is not None  # set with goal "within" (_term)
            lo, hi = self.within
            return -max(0.0, lo - x, x - hi) / self.scale
        return (x if self.goal == "maximize" else -x) / self.scale


def _check_keys(spec: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ConfigurationError(f"unknown key(s) {unknown}; allowed: {sorted(allowed)}", key=where)


def _positive(spec: Mapping[str, Any], key: str, where: str, default: float) -> float:
    v = spec.get(key, default)
    x = _num(v)
    if x is None or x <= 0:
        raise ConfigurationError(f"{key} must be a positive number, got {v!r}", key=f"{where}.{key}")
    return x


def _term(spec: Any, i: int) -> ObjectiveTerm:
    where = f"objective.terms[{i}]"
    if not isinstance(spec, Mapping):
        raise ConfigurationError(f"a term must be a table, got {spec!r}", key=where)
    _check_keys(spec, {"outcome", "goal", "target", "within", "scale", "weight"}, where)
    name = spec.get("outcome")
    if not isinstance(name, str) or not name:
        raise ConfigurationError("each term needs an 'outcome' name", key=where)
    goal = spec.get("goal")
    target = spec.get("target")
    within = spec.get("within")
    band = None
    if within is not None:
        ok = isinstance(within, Sequence) and not isinstance(within, str) and len(within) == 2
        lo, hi = (_num(within[0]), _num(within[1])) if ok else (None, None)
        if lo is None or hi is None or lo > hi:
            raise ConfigurationError(
                f"within must be [lo, hi] with lo <= hi, got {within!r}", key=f"{where}.within"
            )
        if target is not None or goal not in (None, "within"):
            raise ConfigurationError("give one of within, target or goal", key=where)
        band, goal, t = (lo, hi), "within", None
    elif target is not None:
        t = _num(target)
        if t is None:
            raise ConfigurationError(f"target must be a number, got {target!r}", key=f"{where}.target")
        if goal not in (None, "target"):
            raise ConfigurationError("give either a target or a goal, not both", key=where)
        goal = "target"
    else:
        t = None
        if goal not in _GOALS:
            raise ConfigurationError(
                f"goal must be one of {_GOALS} (or give a target), got {goal!r}", key=f"{where}.goal"
            )
    weight = spec.get("weight", 1.0)
    w = _num(weight)
    if w is None or w < 0:
        raise ConfigurationError(
            f"weight must be a non-negative number, got {weight!r}", key=f"{where}.weight"
        )
    return ObjectiveTerm(name, goal, _positive(spec, "scale", where, 1.0), w, t, band)


def _term_outcomes(terms: Sequence[ObjectiveTerm]) -> tuple[str, ...]:
    """The outcomes the terms need, in order; ConfigurationError for two terms of the same kind on one."""
    seen: list[str] = []
    kinds: set[tuple[str, bool]] = set()
    for t in terms:
        # an outcome may appear twice: once as a band or target, once as a preference inside it
        kind = (t.outcome, t.goal in ("target", "within"))
        if kind in kinds:
            raise ConfigurationError(
                f"outcome {t.outcome!r} appears in two terms of the same kind "
                "(at most one band/target and one minimize/maximize)",
                key="objective.terms",
            )
        kinds.add(kind)
        if t.outcome not in seen:
            seen.append(t.outcome)
    return tuple(seen)


def _reached(reached: Any) -> dict[str, tuple[float, float]]:
    """``reached`` (outcome -> [lo, hi]) checked."""
    if not isinstance(reached, Mapping):
        raise ConfigurationError("reached must be a table of outcome = [lo, hi]", key="objective.reached")
    ranges: dict[str, tuple[float, float]] = {}
    for k, rng in reached.items():
        ok = isinstance(rng, Sequence) and not isinstance(rng, str) and len(rng) == 2
        lo, hi = (_num(rng[0]), _num(rng[1])) if ok else (None, None)
        if lo is None or hi is None or lo > hi:
            raise ConfigurationError(
                f"expected [lo, hi] with lo <= hi, got {rng!r}", key=f"objective.reached.{k}"
            )
        ranges[str(k)] = (lo, hi)
    return ranges


class Objective:
    """A scalar objective built from a spec dict (see module docstring; anything else is a
    ConfigurationError).

    ``outcomes``: names of the outcomes it needs. ``goal``: direction of :meth:`value`.
    :meth:`utility` is :meth:`value` oriented so that higher is better (what optimisers maximise).
    """

    def __init__(self, spec: Any):
        if isinstance(spec, Objective):
            spec = spec.spec
        if not isinstance(spec, Mapping):
            raise ConfigurationError(
                f"the objective must be a table, got {type(spec).__name__}", key="objective"
            )
        self.spec: dict[str, Any] = dict(spec)
        self.ref: float | None = None
        if "terms" in spec:
            self._parse_composite(spec)
        elif "name" in spec:
            self._parse_simple(spec)
        else:
            raise ConfigurationError(
                "an objective needs either 'name' (one outcome) or 'terms' (a composite)", key="objective"
            )
        self.outcomes: tuple[str, ...] = _term_outcomes(self.terms)
        self.reached_ranges: dict[str, tuple[float, float]] = _reached(spec.get("reached", {}) or {})

    def _parse_composite(self, spec: Mapping[str, Any]) -> None:
        _check_keys(spec, {"goal", "terms", "reached", "name"}, "objective")
        self.goal = spec.get("goal", "maximize")
        if self.goal != "maximize":
            raise ConfigurationError(
                "a composite objective is a sum of utilities and is maximised; use goal = 'maximize' "
                "and per-term goals",
                key="objective.goal",
            )
        terms = spec["terms"]
        if not isinstance(terms, Sequence) or isinstance(terms, str) or not terms:
            raise ConfigurationError("terms must be a non-empty list of tables", key="objective.terms")
        self.terms = tuple(_term(t, i) for i, t in enumerate(terms))
        self.name = str(spec.get("name", "objective"))
        self.simple = False

    def _parse_simple(self, spec: Mapping[str, Any]) -> None:
        _check_keys(spec, {"name", "goal", "ref", "reached"}, "objective")
        name = spec["name"]
        if not isinstance(name, str) or not name:
            raise ConfigurationError("name must be an outcome name", key="objective.name")
        self.goal = spec.get("goal", "maximize")
        if self.goal not in _GOALS:
            raise ConfigurationError(f"goal must be one of {_GOALS}, got {self.goal!r}", key="objective.goal")
        self.terms = (ObjectiveTerm(name, self.goal),)
        self.name = name
        self.simple = True
        if "ref" in spec:
            self.ref = _num(spec["ref"])
            if self.ref is None:
                raise ConfigurationError(f"ref must be a number, got {spec['ref']!r}", key="objective.ref")

    def __repr__(self) -> str:
        return f"Objective({self.spec!r})"

    @property
    def sign(self) -> float:
        """+1 when :meth:`value` is maximised, -1 when minimised."""
        return 1.0 if self.goal == "maximize" else -1.0

    def value(self, outcomes: Mapping[str, Any]) -> float | None:
        """The objective of one experiment, or None when it failed or lacks a needed outcome."""
        if is_failed(outcomes):
            return None
        xs = [x for t in self.terms if (x := _num(outcomes.get(t.outcome))) is not None]
        if len(xs) < len(self.terms):
            return None
        if self.simple:
            return xs[0]
        return float(sum(t.weight * t.utility(x) for t, x in zip(self.terms, xs)))

    def utility(self, outcomes: Mapping[str, Any]) -> float | None:
        """:meth:`value` oriented so that higher is better; None for failures."""
        v = self.value(outcomes)
        return None if v is None else self.sign * v

    def reached(self, outcomes: Mapping[str, Any]) -> bool:
        """True when every outcome listed in ``reached`` lies in its [lo, hi] (False for failures)."""
        if not self.reached_ranges or is_failed(outcomes):
            return False
        for k, (lo, hi) in self.reached_ranges.items():
            x = _num(outcomes.get(k))
            if x is None or not lo <= x <= hi:
                return False
        return True

    def split(self) -> list[Objective]:
        """One simple-like objective per term (each maximising that term's weighted utility)."""
        if self.simple:
            return [self]
        return [_TermObjective(t) for t in self.terms]


class _TermObjective(Objective):
    """The weighted utility of one term of a composite, as an objective of its own (built from the
    parsed term, not parsed again)."""

    def __init__(self, term: ObjectiveTerm):
        self.spec = {
            "terms": [
                {k: v for k, v in vars(term).items() if v is not None and not (k == "goal" and v == "target")}
            ]
        }
        self.ref = None
        self.goal = "maximize"
        self.terms = (term,)
        self.name = term.outcome
        self.simple = False
        self.outcomes = (term.outcome,)
        self.reached_ranges = {}


class MultiObjective:
    """Several objectives optimised for their Pareto front (no scalarisation).

    ``objectives``: the scalar :class:`Objective` s; ``outcomes``: all outcomes they need.
    """

    def __init__(self, specs: Sequence[Any]):
        objs: list[Objective] = []
        reached: dict[str, tuple[float, float]] = {}
        for i, s in enumerate(specs):
            o = s if isinstance(s, Objective) else Objective(s)
            reached.update(o.reached_ranges)  # a composite's, which its split terms do not carry
            objs.extend(o.split())
        if len(objs) < 2:
            raise ConfigurationError("a multi-objective needs at least two objectives", key="objective")
        self.objectives = objs
        out: list[str] = []
        for o in objs:
            out.extend(x for x in o.outcomes if x not in out)
        self.outcomes = tuple(out)
        self.reached_ranges: dict[str, tuple[float, float]] = reached
        for o in objs:
            self.reached_ranges.update(o.reached_ranges)
        self.spec = [o.spec for o in objs]

    def utilities(self, outcomes: Mapping[str, Any]) -> list[float] | None:
        """Higher-is-better utility of each objective; None when the experiment failed."""
        us = [u for o in self.objectives if (u := o.utility(outcomes)) is not None]
        return None if len(us) < len(self.objectives) else us

    def value(self, outcomes: Mapping[str, Any]) -> list[float] | None:
        """Each objective's :meth:`Objective.value`; None when the experiment failed."""
        vs = [v for o in self.objectives if (v := o.value(outcomes)) is not None]
        return None if len(vs) < len(self.objectives) else vs

    def reached(self, outcomes: Mapping[str, Any]) -> bool:
        if not self.reached_ranges or is_failed(outcomes):
            return False
        return all(
            (x := _num(outcomes.get(k))) is not None and lo <= x <= hi
            for k, (lo, hi) in self.reached_ranges.items()
        )


def make_objective(spec: Any) -> Objective | MultiObjective:
    """An :class:`Objective` from a dict, a :class:`MultiObjective` from a list (or ``{"objectives": [...]}``)."""
    if isinstance(spec, (Objective, MultiObjective)):
        return spec
    if isinstance(spec, Mapping) and "objectives" in spec:
        _check_keys(spec, {"objectives"}, "objective")
        spec = spec["objectives"]
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        if len(spec) == 1:
            return Objective(spec[0])
        return MultiObjective(spec)
    return Objective(spec)
