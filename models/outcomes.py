"""The outcomes a campaign knows: the one list of figure-of-merit names, with their units.

Every outcome a campaign's objective, ``reached`` table or outcome constraints name must be one of
these (or, with ``--reactor-model``, one the model declares); anything else is a typo, refused with one
line naming the key, the wrong name and the allowed ones. An optimiser's ingested rows are checked the
same way against its ``outcomes`` (``models.optimizers.base.Optimizer``).

To add a figure of merit (a quality flag such as ``pl_peak_quality``, say), add it to
:data:`FIGURES_OF_MERIT` here: the spectrum analysis (:func:`models.analysis.figures_of_merit`)
returns every key listed, the ``outcomes`` device of a campaign records it, and objectives, ``reached``
and constraints may name it. Give it a ``dtype`` if it is not a number.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.errors import ConfigurationError

__all__ = [
    "Outcome",
    "FIGURES_OF_MERIT",
    "BOOKKEEPING",
    "figure_names",
    "quality_names",
    "unit_of",
    "dtype_of",
    "outcome_references",
    "check_outcome_names",
    "unknown_name_message",
]


@dataclass(frozen=True)
class Outcome:
    """One outcome: ``name``, ``unit`` ('' for a dimensionless one), what it is, and ``dtype`` as the
    event stream records it ("number"; "string" for a flag word, say)."""

    name: str
    unit: str
    description: str
    dtype: str = "number"
    quality: bool = False
    """A measurement-quality outcome (how well the spectra support the figures, docs/adr/0008)."""


#: What the spectrum analysis measures for each experiment, by name. The single list of figures of merit.
FIGURES_OF_MERIT: dict[str, Outcome] = {
    o.name: o
    for o in (
        Outcome("abs_peak_nm", "nm", "first excitonic absorption peak (band edge)"),
        Outcome("diameter_nm", "nm", "dot diameter from the material's sizing curve"),
        Outcome("pl_peak_nm", "nm", "photoluminescence peak"),
        Outcome("pl_fwhm_nm", "nm", "photoluminescence full width at half maximum"),
        Outcome("plqy", "", "relative photoluminescence quantum yield, 0-1"),
        Outcome("yield", "", "fraction of the limiting precursor turned into dots, 0-1"),
        Outcome("pl_snr", "", "PL peak height over the per-pixel noise sigma", quality=True),
        Outcome("abs_snr", "", "exciton second-derivative depth over its noise", quality=True),
        Outcome(
            "quality",
            "",
            "why a figure is missing or suspect (models.analysis.QUALITY_REASONS), or empty",
            dtype="string",
            quality=True,
        ),
        Outcome("abs_integration_ms", "ms", "integration time the absorbance channel used", quality=True),
        Outcome("pl_integration_ms", "ms", "integration time the PL channel used", quality=True),
    )
}

#: Keys a campaign records beside the outcomes, and an optimiser's rows may carry; never an objective.
BOOKKEEPING: dict[str, str] = {
    "failure": "None for a good experiment, else a word: clog, pump_alarm, no_particles, saturated, "
    "non_finite_outcome, ...; model_error: <what> when a user reactor model failed on it",
    "objective": "the campaign objective's value for the experiment (recomputed, never learned from)",
    "pareto_front": "indices of the Pareto-optimal experiments so far (multi-objective campaigns)",
}


def figure_names() -> tuple[str, ...]:
    """Names of the figures of merit, in :data:`FIGURES_OF_MERIT` order."""
    return tuple(FIGURES_OF_MERIT)


def quality_names() -> tuple[str, ...]:
    """Names of the measurement-quality outcomes (signal-to-noise, flags, exposures)."""
    return tuple(n for n, o in FIGURES_OF_MERIT.items() if o.quality)


def unit_of(name: str) -> str:
    """Unit of a figure of merit ('' for dimensionless or not a figure of merit)."""
    o = FIGURES_OF_MERIT.get(name)
    return o.unit if o else ""


def dtype_of(name: str) -> str:
    """How the event stream records a figure of merit ("number" unless the list says otherwise)."""
    o = FIGURES_OF_MERIT.get(name)
    return o.dtype if o else "number"


def _describe(names: Iterable[str]) -> str:
    return ", ".join(f"{n} [{unit_of(n)}]" if unit_of(n) else n for n in names)


def unknown_name_message(name: str, allowed: Sequence[str], what: str = "outcome") -> str:
    """``unknown outcome 'pl_peak' (did you mean 'pl_peak_nm'?); known outcomes: ...``."""
    close = difflib.get_close_matches(str(name), [str(a) for a in allowed], n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {name!r}{hint}; known {what}s: {_describe(allowed) or '(none)'}"


def _objective_refs(spec: Any, where: str) -> list[tuple[str, Any]]:
    refs: list[tuple[str, Any]] = []
    if isinstance(spec, Mapping) and "objectives" in spec:
        return _objective_refs(spec["objectives"], f"{where}.objectives")
    if isinstance(spec, Sequence) and not isinstance(spec, (str, bytes)):
        for i, s in enumerate(spec):
            refs += _objective_refs(s, f"{where}[{i}]")
        return refs
    if not isinstance(spec, Mapping):
        return refs
    if "terms" in spec:
        for i, term in enumerate(spec.get("terms") or ()):
            if isinstance(term, Mapping):
                refs.append((f"{where}.terms[{i}].outcome", term.get("outcome")))
    elif "name" in spec:
        refs.append((f"{where}.name", spec["name"]))
    reached = spec.get("reached") or {}
    if isinstance(reached, Mapping):
        refs += [(f"{where}.reached.{k}", k) for k in reached]
    return refs


def outcome_references(objective: Any, outcome_constraints: Sequence[Any] = ()) -> list[tuple[str, Any]]:
    """Every outcome name an objective spec (dict, list or ``{"objectives": [...]}``) and its outcome
    constraints use, as ``(key, name)`` with the key as a campaign file spells it
    (``objective.terms[0].outcome``, ``objective.reached.plqy``, ``outcome_constraints[1].outcome``)."""
    spec = getattr(objective, "spec", objective)  # an Objective or MultiObjective keeps its spec
    refs = _objective_refs(spec, "objective")
    for i, c in enumerate(outcome_constraints or ()):
        c = getattr(c, "spec", c)
        if isinstance(c, Mapping):
            refs.append((f"outcome_constraints[{i}].outcome", c.get("outcome")))
    return refs


def check_outcome_names(
    objective: Any,
    outcome_constraints: Sequence[Any] = (),
    *,
    known: Sequence[str] | None = None,
    source: str | None = None,
) -> None:
    """Raise :class:`ConfigurationError` for the first outcome named in ``objective`` (terms, name,
    ``reached``) or ``outcome_constraints`` that is not in ``known`` (default: the figures of merit).

    The message names ``source`` (the file), the key, the wrong name, a close match and the allowed names.
    """
    allowed = tuple(figure_names() if known is None else known)
    for key, name in outcome_references(objective, outcome_constraints):
        if name not in allowed:
            raise ConfigurationError(unknown_name_message(name, allowed), source=source, key=key)
