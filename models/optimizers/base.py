"""The ask/tell contract every strategy implements, and what they share.

An optimiser holds the ordered list of ingested rows (parameters + outcomes, failures included) and
nothing else that changes: :meth:`Optimizer.suggest` is a pure function of (seed, rows, pending, n).
Each call derives its own seed from (seed, number of rows) and uses local generators, so a fresh
optimiser that ingests the same rows proposes the same points (this is what ``qdlab replay`` checks).
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import numpy as np
import torch

from models.errors import ConfigurationError, OptimizerError
from models.numbers import json_ready
from models.objectives import (
    MultiObjective,
    Objective,
    OutcomeConstraint,
    incumbent,
    make_objective,
    pareto_positions,
)
from models.objectives import failed as failed_row
from models.outcomes import BOOKKEEPING, check_outcome_names, unknown_name_message
from models.optimizers.space import Space

if TYPE_CHECKING:
    from models.optimizers.cost import CostAware

__all__ = ["Decision", "Optimizer", "OutcomeConstraint", "SuggestInfo", "derive_seed", "sample_encoded"]


class SuggestInfo(TypedDict, total=False):
    """What a strategy's ``_suggest`` says of its proposal, beside the points; :meth:`Optimizer.suggest`
    puts it into the :class:`Decision`."""

    acquisition: str | None
    acquisition_value: float | None
    acquisition_values: Sequence[float | None]
    model: dict[str, Any] | None
    timed_out: bool
    fit_s: float
    acquisition_s: float
    ref_point: Sequence[float | None]
    sequence_index: int
    expected_cost: float
    pool: int
    pool_left: int


class Decision(TypedDict):
    """The record of one :meth:`Optimizer.suggest` (:meth:`Optimizer.last_decision`, the ``decision`` of
    an experiment's start document), keys in this order; the ``NotRequired`` ones only from the
    strategies that say them (:class:`SuggestInfo`)."""

    strategy: str
    acquisition: str | None
    acquisition_value: float | None
    model: dict[str, Any] | None
    acquisition_values: NotRequired[Sequence[float | None]]
    timed_out: NotRequired[bool]
    fit_s: NotRequired[float]
    acquisition_s: NotRequired[float]
    ref_point: NotRequired[Sequence[float | None]]
    sequence_index: NotRequired[int]
    expected_cost: NotRequired[float]
    pool: NotRequired[int]
    pool_left: NotRequired[int]
    n_observations: int
    n_failed: int
    n_pending: int
    n_suggested: int
    seed: int
    call_seed: int
    elapsed_s: float
    cost: NotRequired[dict[str, Any]]


def derive_seed(*parts: int) -> int:
    """A 31-bit seed that is a pure function of ``parts`` (non-negative ints)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


def sample_encoded(space: Space, n: int, seed: int, *, method: str = "sobol", skip: int = 0) -> np.ndarray:
    """``n x d`` encoded points satisfying the space's constraints, by rejection.

    ``method`` "sobol": the feasible points ``skip .. skip+n-1`` of the scrambled Sobol sequence seeded
    with ``seed`` (so successive calls continue one low-discrepancy sequence); "random": i.i.d. uniform.
    """
    if n <= 0:
        return np.zeros((0, space.d))
    want = n + skip
    chunk = max(64, 2 * want)
    if method == "sobol":
        engine = torch.quasirandom.SobolEngine(space.d, scramble=True, seed=seed)
    else:
        rng = np.random.default_rng(seed)
    kept: list[np.ndarray] = []
    drawn = 0
    total = 0
    while total < want:
        if method == "sobol":
            U = engine.draw(chunk, dtype=torch.float64).numpy()
        else:
            U = rng.random((chunk, space.d))
        E = space.from_unit(U)
        E = E[space.feasible_encoded(E)]
        kept.append(E)
        total += len(E)
        drawn += chunk
        if drawn > 2000 * want + 100_000 and total < want:
            raise OptimizerError(
                f"the parameter constraints leave almost no feasible region ({total} of {drawn} samples feasible)"
            )
    return np.concatenate(kept)[skip:want]


class Optimizer:
    """Ask/tell optimiser over a :class:`Space` for an objective.

    ``parameters``: list of ``{"name", "low", "high", "log"?}`` or ``{"name", "values"}``.
    ``objective``: an objective spec (see :mod:`models.objectives`) or a list of them (multi-objective).
    ``constraints``: linear parameter constraints ``{"coefficients": {...}, "op": "<=", "rhs": x}``.
    ``outcome_constraints``: ``{"outcome": name, "op": ">=", "value": x}``.
    ``options``: strategy options (each strategy lists its own in ``OPTIONS``).
    ``outcomes``: the names of the outcomes an experiment reports, e.g.
    ``models.outcomes.figure_names()`` for a campaign measured by the spectrum analysis. Given, every
    outcome the objective (terms, ``reached``) and the outcome constraints name must be one of them.
    Default: the outcomes the objective and the outcome constraints name.

    :meth:`ingest` refuses a row with a key that is neither a parameter, one of these outcomes, nor a
    bookkeeping key (``failure``, ``objective``, ``pareto_front``; see ``models.outcomes.BOOKKEEPING``).
    """

    strategy = "base"
    OPTIONS: dict[str, Any] = {}
    supports_multi_objective = True
    supports_cost = False
    """Whether :meth:`suggest`'s ``cost`` weighs the proposals (else they are cost-blind)."""

    def __init__(
        self,
        parameters: Sequence[Any],
        objective: Any,
        *,
        seed: int = 0,
        constraints: Sequence[Any] | None = None,
        outcome_constraints: Sequence[Any] | None = None,
        options: Mapping[str, Any] | None = None,
        outcomes: Sequence[str] | None = None,
    ):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigurationError(f"seed must be a non-negative integer, got {seed!r}", key="seed")
        self.seed = int(seed)
        self.space = Space(parameters, constraints)
        self.objective: Objective | MultiObjective = make_objective(objective)
        if isinstance(self.objective, MultiObjective) and not self.supports_multi_objective:
            raise ConfigurationError(f"strategy {self.strategy!r} needs a single objective", key="objective")
        self.outcome_constraints = [OutcomeConstraint(c, i) for i, c in enumerate(outcome_constraints or ())]
        clash = set(self.space.names) & (
            set(self.objective.outcomes) | {c.outcome for c in self.outcome_constraints}
        )
        if clash:
            raise ConfigurationError(
                f"{sorted(clash)} named both as parameter and as outcome", key="objective"
            )
        named = (
            *self.objective.outcomes,
            *self.objective.reached_ranges,
            *(c.outcome for c in self.outcome_constraints),
        )
        if outcomes is not None:
            if isinstance(outcomes, str) or not all(isinstance(o, str) and o for o in outcomes):
                raise ConfigurationError(
                    f"outcomes must be a list of names, got {outcomes!r}", key="outcomes"
                )
            known = tuple(dict.fromkeys(outcomes))
            check_outcome_names(self.objective, self.outcome_constraints, known=known)  # names the key
            for name in named:  # what a spec walk cannot see (a composite split into a multi-objective)
                if name not in known:
                    raise ConfigurationError(unknown_name_message(name, known), key="objective")
            self.outcomes: tuple[str, ...] = known
        else:
            self.outcomes = tuple(dict.fromkeys(named))
        opts = dict(options or {})
        unknown = sorted(set(opts) - set(self.OPTIONS))
        if unknown:
            raise ConfigurationError(
                f"unknown option(s) {unknown} for strategy {self.strategy!r}; known: {sorted(self.OPTIONS)}",
                key="options",
            )
        self.options = {**self.OPTIONS, **opts}
        self._rows: list[dict[str, Any]] = []
        self._X: list[np.ndarray] = []
        self._decision: Decision | None = None
        self._cost: CostAware | None = None
        """The cost of the :meth:`suggest` call under way (None: cost-blind)."""

    # ----- tell -----
    def ingest(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add experiments: each row holds every parameter plus its outcomes (and ``"failure"`` if it failed).

        Rows are validated before any is stored (all or nothing).
        """
        if isinstance(rows, Mapping):
            rows = [rows]
        enc = []
        for r in rows:
            if not isinstance(r, Mapping):
                raise OptimizerError(f"a row must be a dict, got {type(r).__name__}")
            self._check_row_keys(r, len(self._rows) + len(enc))
            enc.append(self.space.encode(r))
        for r, x in zip(rows, enc):
            self._rows.append(dict(r))
            self._X.append(x)

    def _check_row_keys(self, row: Mapping[str, Any], i: int) -> None:
        """ConfigurationError for a key that is no parameter, known outcome or bookkeeping key."""
        allowed = (*self.space.names, *self.outcomes, *BOOKKEEPING)
        for key in row:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigurationError(
                    f"unknown key {key!r}{hint}; a row holds parameters ({', '.join(self.space.names)}), outcomes "
                    f"({', '.join(self.outcomes) or 'none'}) and bookkeeping keys ({', '.join(BOOKKEEPING)})",
                    key=f"ingest row {i}",
                )

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Copies of the ingested rows, in order."""
        return [dict(r) for r in self._rows]

    def __len__(self) -> int:
        return len(self._rows)

    # ----- classification of rows -----
    def _single_objective(self) -> Objective:
        """The objective of a strategy that needs a single one (``supports_multi_objective`` False,
        checked in ``__init__``)."""
        if not isinstance(self.objective, Objective):
            raise OptimizerError(f"strategy {self.strategy!r} needs a single objective")
        return self.objective

    def _utility(self, row: Mapping[str, Any]) -> float | None:
        if isinstance(self.objective, MultiObjective):
            return None
        return self.objective.utility(row)

    def _failed(self, row: Mapping[str, Any]) -> bool:
        """Failed: marked, or its objective cannot be computed (:func:`models.objectives.failed`)."""
        return failed_row(self.objective, row)

    def _feasible(self, row: Mapping[str, Any]) -> bool:
        return not self._failed(row) and all(c.satisfied(row) for c in self.outcome_constraints)

    # ----- ask -----
    def suggest(
        self,
        n: int = 1,
        pending: Sequence[Mapping[str, Any]] | None = None,
        *,
        cost: CostAware | None = None,
    ) -> list[dict[str, Any]]:
        """``n`` new conditions (dicts in user units), distinct from ``pending`` ones still running.

        ``cost``: each candidate's expected cost (:class:`models.optimizers.cost.CostAware`); a strategy
        with ``supports_cost`` weighs its acquisition by it, the others ignore it. Its ``record`` is the
        decision's ``cost``."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise OptimizerError(f"n must be a positive integer, got {n!r}")
        P = np.array([self.space.encode(p) for p in (pending or ())], dtype=float).reshape(-1, self.space.d)
        call_seed = derive_seed(self.seed, len(self._rows))
        t0 = time.perf_counter()
        self._cost = cost
        try:
            U, info = self._suggest(int(n), P, call_seed)
        finally:
            self._cost = None
        decision: Decision = {
            "strategy": self.strategy,
            "acquisition": None,
            "acquisition_value": None,
            "model": None,
            **info,
            "n_observations": len(self._rows),
            "n_failed": sum(self._failed(r) for r in self._rows),
            "n_pending": len(P),
            "n_suggested": int(n),
            "seed": self.seed,
            "call_seed": call_seed,
            "elapsed_s": round(time.perf_counter() - t0, 4),
        }
        if cost is not None:
            decision["cost"] = dict(cost.record)
        self._decision = decision
        return [self.space.decode(u) for u in U]

    def _suggest(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, SuggestInfo]:
        raise NotImplementedError

    def last_decision(self) -> Decision:
        """JSON-able record of the latest :meth:`suggest`: strategy, acquisition and its value,
        n_observations, model summary, seeds, elapsed_s (wall time; differs between runs)."""
        if self._decision is None:
            raise OptimizerError("no suggestion made yet")
        return json_ready(self._decision)

    # ----- report -----
    def best(self) -> dict[str, Any]:
        """The incumbent (:func:`models.objectives.incumbent`): the feasible row (not failed, outcome
        constraints met) with the highest observed objective; for a multi-objective, the Pareto row closest
        to the ideal point after scaling each objective to [0, 1] over the front."""
        i = incumbent(self.objective, self._rows, self.outcome_constraints)
        if i is None:
            raise OptimizerError(f"no feasible experiment among {len(self._rows)} ingested")
        return dict(self._rows[i])

    def pareto_front(self) -> list[dict[str, Any]]:
        """The non-dominated feasible rows (in ingestion order) for a multi-objective; for a single
        objective, the incumbent alone."""
        return [
            dict(self._rows[i])
            for i in pareto_positions(self.objective, self._rows, self.outcome_constraints)
        ]
