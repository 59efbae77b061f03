"""A user's reactor model (``--reactor-model``) as a campaign calls it: its errors are failed experiments.

A model that raises, or returns something that is not outcomes (not a dict, a value that is not a number,
NaN or infinity), fails that one experiment, as a clogged line or a saturated detector does: the run is
recorded with ``failure = "model_error: <what>"`` and every outcome None, the optimiser learns that the
conditions failed, and the campaign goes on (a model valid over part of the space fails at its edges, and
the optimiser should learn to avoid them). A model that fails on each of the first
:data:`FAILURES_TO_STOP` experiments of a session is broken rather than out of its range, and the campaign
stops in one line (:class:`ReactorModelBroken`, exit status 1) instead of spending its budget on it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from lab.config.files import file_digest
from models.errors import ConfigurationError, QdlabError
from models.outcomes import BOOKKEEPING, figure_names, unknown_name_message

__all__ = [
    "GuardedModel",
    "ReactorModelBroken",
    "MODEL_ERROR",
    "FAILURES_TO_STOP",
    "load_reactor_model",
    "ReactorModel",
]

MODEL_ERROR = "model_error"
"""The first word of an experiment's ``failure`` when the reactor model failed on it."""
FAILURES_TO_STOP = 3
"""A model failing on each of a session's first this many experiments stops the campaign."""
_SHOWN = 160  # characters of a model's error message kept in the failure


class ReactorModelBroken(QdlabError):
    """The reactor model failed on every one of the first :data:`FAILURES_TO_STOP` experiments."""


class GuardedModel:
    """``model(conditions)`` for a campaign: returns every outcome in ``outcome_keys`` (None when the model
    does not give it) and ``failure``; never raises for what the model did (an ``Exception``)."""

    def __init__(self, model: Callable[[dict], Any], outcome_keys: Iterable[str], *, source: str = ""):
        self.model = model
        self.source = source or getattr(model, "source", "") or getattr(model, "__name__", "reactor model")
        self.outcome_keys = tuple(k for k in outcome_keys if k not in BOOKKEEPING)
        self.calls = 0
        self.failures = 0
        self.last_failure: str | None = None

    def __call__(self, conditions: dict[str, float]) -> dict[str, Any]:
        self.calls += 1
        try:
            returned = self.model(dict(conditions))
            outcomes = _checked(returned)
        except Exception as exc:  # noqa: BLE001 - a user's code: its error is this experiment's failure
            self.failures += 1
            self.last_failure = _failure(exc)
            return {**dict.fromkeys(self.outcome_keys), "failure": self.last_failure}
        return {**dict.fromkeys(self.outcome_keys), **outcomes}

    def check(self, *, done: int, budget: int) -> None:
        """After each experiment: raise :class:`ReactorModelBroken` once the model has failed on each of
        the first :data:`FAILURES_TO_STOP` experiments."""
        if self.calls == self.failures == FAILURES_TO_STOP:
            raise ReactorModelBroken(
                f"the reactor model {self.source} failed on each of the first {FAILURES_TO_STOP} experiments "
                f"(last: {self.last_failure}); campaign stopped after {done} of {budget} experiments: fix the "
                "model and run the campaign again"
            )


class _Garbage(Exception):
    """What the model returned is not outcomes."""


def _checked(returned: Any) -> dict[str, Any]:
    if not isinstance(returned, Mapping):
        raise _Garbage(f"returned {type(returned).__name__}, expected a dict of outcomes")
    outcomes: dict[str, Any] = {}
    for key, value in returned.items():
        if not isinstance(key, str):
            raise _Garbage(f"returned the key {key!r}, expected outcome names")
        if key == "failure":
            if value is not None and not isinstance(value, str):
                raise _Garbage(f"returned failure = {_short(value)}, expected None or a word")
            outcomes[key] = value or None
        elif value is None:
            outcomes[key] = None
        elif isinstance(value, numbers.Real) and math.isfinite(float(value)):
            outcomes[key] = float(value) if not isinstance(value, (bool, int)) else value
        else:
            expected = "a finite number" if isinstance(value, numbers.Real) else "a number"
            raise _Garbage(f"returned {key} = {_short(value)}, expected {expected} or None")
    outcomes.setdefault("failure", None)
    return outcomes


def _failure(exc: Exception) -> str:
    if isinstance(exc, _Garbage):
        what = str(exc)
    elif isinstance(exc, ConfigurationError):  # ReactorModel's own check: the model is named once
        what = str(exc).removeprefix(f"{exc.source}: ") if exc.source else str(exc)
    else:
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    what = " ".join(what.split())
    return f"{MODEL_ERROR}: {what if len(what) <= _SHOWN else what[: _SHOWN - 3] + '...'}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class ReactorModel:
    """A user's steady-state reactor model, loaded from ``PATH.py:FUNC``: call it with the conditions.

    ``outcomes``: the outcome names it declares (``OUTCOMES = [...]`` at module level, or a ``func.outcomes``
    attribute), or, when it declares none, the figures of merit of ``models.outcomes`` (it stands in for
    the spectrum analysis). A returned key outside them (and ``failure``) is a ConfigurationError.
    """

    def __init__(
        self,
        func,
        outcomes: tuple[str, ...],
        *,
        declared: bool,
        source: str,
        reference: str | None = None,
        digest: str | None = None,
    ):
        self.func = func
        self.outcomes = outcomes
        self.declared = declared
        self.source = source
        self.reference = reference
        """``/absolute/path.py:func``: how to load it again (what a campaign's log records)."""
        self.digest = digest
        """:func:`lab.config.files.file_digest` of the file as it was loaded."""

    def __call__(self, conditions: dict) -> dict:
        result = self.func(conditions)
        if not isinstance(result, dict):
            raise ConfigurationError(
                f"returned {type(result).__name__}, expected a dict of outcomes", source=self.source
            )
        allowed = (*self.outcomes, "failure")
        for key in result:
            if key not in allowed:
                hint = (
                    ""
                    if self.declared
                    else "; declare its outcomes with OUTCOMES = [...] in the model's file"
                )
                raise ConfigurationError(
                    f"returned {unknown_name_message(key, allowed)}{hint}", source=self.source
                )
        return result


def _declared_outcomes(module, func, source: str) -> tuple[str, ...] | None:
    declared = getattr(func, "outcomes", None)
    where = f"{getattr(func, '__name__', 'FUNC')}.outcomes"
    if declared is None:
        declared, where = getattr(module, "OUTCOMES", None), "OUTCOMES"
    if declared is None:
        return None
    ok = (
        isinstance(declared, (list, tuple))
        and declared
        and all(isinstance(n, str) and n.isidentifier() for n in declared)
    )
    if not ok:
        raise ConfigurationError(
            f"must be a non-empty list of outcome names (identifiers), got {declared!r}",
            source=source,
            key=where,
        )
    reserved = [n for n in declared if n in BOOKKEEPING and n != "failure"]
    if reserved:
        raise ConfigurationError(
            f"{reserved[0]!r} is recorded by qdlab itself, not an outcome", source=source, key=where
        )
    return tuple(dict.fromkeys(n for n in declared if n != "failure"))


def load_reactor_model(ref: str) -> ReactorModel:
    """``"path/to/model.py:func"`` -> the callable ``func(conditions: dict) -> dict of outcomes``, with
    the outcome names it declares (:class:`ReactorModel`)."""
    import importlib.util

    path_text, sep, func_name = ref.rpartition(":")
    if not sep or not path_text or not func_name:
        raise ConfigurationError(f"expected PATH.py:FUNC, got {ref!r}", source="--reactor-model")
    path = Path(path_text)
    if not path.is_file():
        raise ConfigurationError("no such file", source=f"--reactor-model {path}")
    digest = file_digest(path)  # of the bytes about to run
    spec = importlib.util.spec_from_file_location(f"qdlab_reactor_model_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - a user's file: report, don't crash
        raise ConfigurationError(f"cannot import: {type(exc).__name__}: {exc}", source=str(path)) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ConfigurationError(f"has no function {func_name!r}", source=str(path))
    declared = _declared_outcomes(module, func, str(path))
    return ReactorModel(
        func,
        declared or figure_names(),
        declared=declared is not None,
        source=f"{path}:{func_name}",
        reference=f"{path.resolve()}:{func_name}",
        digest=digest,
    )
