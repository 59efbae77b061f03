"""A benchmark problem: a noise-free objective over a box, a noise model, and a target.

A :class:`FunctionProblem` is a pure function of the conditions (no clock, no devices): ``truth``
maps an ``n x d`` array of conditions in user units to the ``n`` objective values, ``constraint``
(optional) to ``n x k`` constraint values, feasible where every one is ``<= 0``. An experiment
observes ``y + noise_sd * e`` with ``e`` standard normal; constraints are observed without noise. The
optimiser sees one row ``{parameter: value, ..., "y": y_observed, "c1": ..., "ck": ...}`` (``c1..ck``
only for a constrained problem), the objective ``{"name": "y", "goal": goal}`` and the outcome
constraints ``ci <= 0``.

The target is the value reached by the best ``target_share`` of the box: the ``target_share``
quantile (in the goal's direction) of the noise-free objective over the feasible points of the
first ``2**16`` points of a scrambled Sobol sequence (seed 0). The median over the same sample is the
"median of the space" the enhancement factor is measured against (``lab.bench.suite``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["FunctionProblem", "space_sample", "SAMPLE_SIZE"]

SAMPLE_SIZE = 2**16  # points of the Sobol sample that sets targets and the median of the space
OBJECTIVE = "y"


@functools.lru_cache(maxsize=8)
def _unit_sobol(d: int, n: int) -> np.ndarray:
    from scipy.stats import qmc

    return qmc.Sobol(d, scramble=True, rng=np.random.default_rng(0)).random(n)


def space_sample(low: np.ndarray, high: np.ndarray, n: int = SAMPLE_SIZE) -> np.ndarray:
    """``n x d`` points of the scrambled Sobol sequence (seed 0) mapped onto the box [low, high]."""
    return low + _unit_sobol(len(low), n) * (high - low)


@dataclass(frozen=True, eq=False)
class FunctionProblem:
    """One benchmark problem that is a function (see module docstring).

    ``parameters``: ``{"name", "low", "high"}`` dicts (user units). ``goal``: "minimize" or "maximize".
    ``noise_sd``: sd of the additive Gaussian noise on ``y`` (objective units). ``optimum``: the known
    best noise-free value (for a synthetic function) or None; ``optimizer``: a point where the truth
    is (at least) that good, if known. ``source``: where the function or the data come from.
    """

    name: str
    parameters: tuple[dict[str, Any], ...]
    goal: str
    truth: Callable[[np.ndarray], np.ndarray]
    noise_sd: float
    source: str
    constraint: Callable[[np.ndarray], np.ndarray] | None = None
    target_share: float = 0.01
    optimum: float | None = None
    optimizer: tuple[float, ...] | None = None
    notes: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def dimension(self) -> int:
        return len(self.parameters)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p["name"] for p in self.parameters)

    @property
    def low(self) -> np.ndarray:
        return np.array([float(p["low"]) for p in self.parameters])

    @property
    def high(self) -> np.ndarray:
        return np.array([float(p["high"]) for p in self.parameters])

    @property
    def sign(self) -> float:
        """+1 when ``y`` is maximised, -1 when minimised."""
        return 1.0 if self.goal == "maximize" else -1.0

    # ----- what the optimiser is given -----
    def objective_spec(self) -> dict[str, str]:
        return {"name": OBJECTIVE, "goal": self.goal}

    def constraint_values(self, X: np.ndarray) -> np.ndarray:
        """``n x k`` constraint values (``k = 0`` without constraints); feasible where all are <= 0."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if self.constraint is None:
            return np.zeros((len(X), 0))
        return np.asarray(self.constraint(X), dtype=float).reshape(len(X), -1)

    @property
    def constraint_names(self) -> tuple[str, ...]:
        if self.constraint is None:
            return ()
        k = self.constraint_values(np.atleast_2d(self.low)).shape[1]
        return tuple(f"c{i + 1}" for i in range(k))

    def outcome_constraints(self) -> list[dict[str, Any]]:
        return [{"outcome": c, "op": "<=", "value": 0.0} for c in self.constraint_names]

    def outcomes(self) -> tuple[str, ...]:
        return (OBJECTIVE, *self.constraint_names)

    # ----- the truth -----
    def to_array(self, points: Sequence[dict[str, Any]]) -> np.ndarray:
        """Conditions (dicts in user units) -> ``n x d``."""
        return np.array([[float(p[n]) for n in self.names] for p in points], dtype=float).reshape(
            -1, self.dimension
        )

    def evaluate_true(self, X: np.ndarray) -> np.ndarray:
        """Noise-free objective at ``n x d`` conditions -> ``n``."""
        return np.asarray(self.truth(np.atleast_2d(np.asarray(X, dtype=float))), dtype=float).reshape(-1)

    def feasible(self, X: np.ndarray) -> np.ndarray:
        """Boolean ``n``: the constraint holds (all True without one)."""
        return np.all(self.constraint_values(X) <= 0.0, axis=1)

    def better_or_equal(self, value: float, than: float) -> bool:
        return self.sign * value >= self.sign * than

    def observe(self, X: np.ndarray, normals: np.ndarray) -> list[dict[str, float]]:
        """The rows an experiment reports at ``n x d`` conditions, given ``n`` standard normals."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        y = self.evaluate_true(X) + self.noise_sd * np.asarray(normals, dtype=float).reshape(-1)
        C = self.constraint_values(X)
        rows = []
        for i in range(len(X)):
            row = {n: float(v) for n, v in zip(self.names, X[i])}
            row[OBJECTIVE] = float(y[i])
            row.update({c: float(v) for c, v in zip(self.constraint_names, C[i])})
            rows.append(row)
        return rows

    # ----- the target, from the Sobol sample of the box -----
    def _sample_values(self) -> np.ndarray:
        if "values" not in self._cache:
            X = space_sample(self.low, self.high)
            self._cache["values"] = self.evaluate_true(X)[self.feasible(X)]
        return self._cache["values"]

    @property
    def target(self) -> float:
        """The value the best ``target_share`` of the (feasible) box reaches (module docstring)."""
        q = 1.0 - self.target_share if self.goal == "maximize" else self.target_share
        return float(np.quantile(self._sample_values(), q))

    @property
    def space_median(self) -> float:
        """Median of the noise-free objective over the feasible Sobol sample."""
        return float(np.median(self._sample_values()))

    def reached(self, value: float) -> bool:
        return self.better_or_equal(value, self.target)
