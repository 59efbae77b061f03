"""The search space: parameters (continuous, log-scaled, categorical) and linear constraints.

Optimisers work in the *encoded* space: each continuous parameter maps to [0, 1] (linearly, or in
log10 when ``"log": true``); each categorical parameter maps to its integer index 0..k-1. Linear
constraints are written on user-unit parameters and re-expressed on the encoded space (exactly for
linear parameters; a constraint touching a log-scaled parameter is checked on decoded values).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.errors import ConfigurationError, OptimizerError
from models.validation import check_table

__all__ = ["Parameter", "LinearConstraint", "Space"]

_REL_TOL = 1e-6


@dataclass(frozen=True)
class Parameter:
    """One search dimension: ``low``/``high`` (user units) and ``log``, or categorical ``values``."""

    name: str
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    values: tuple[Any, ...] | None = None

    @property
    def categorical(self) -> bool:
        return self.values is not None

    @property
    def levels(self) -> tuple[Any, ...]:
        """The values of a categorical parameter; empty for a continuous one."""
        return self.values if self.values is not None else ()

    @classmethod
    def from_spec(cls, spec: Any, i: int) -> Parameter:
        where = f"parameters[{i}]"
        if isinstance(spec, Parameter):
            return spec
        if not isinstance(spec, Mapping):
            raise ConfigurationError(f"a parameter must be a table, got {spec!r}", key=where)
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigurationError("each parameter needs a 'name'", key=where)
        where = f"parameters.{name}"
        if "values" in spec:
            unknown = sorted(set(spec) - {"name", "values"})
            if unknown:
                raise ConfigurationError(f"unknown key(s) {unknown} for a categorical parameter", key=where)
            vals = spec["values"]
            if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence) or len(vals) < 1:
                raise ConfigurationError("values must be a non-empty list", key=where)
            if len(set(map(repr, vals))) != len(vals):
                raise ConfigurationError("values must be distinct", key=where)
            return cls(name=name, values=tuple(vals))
        unknown = sorted(set(spec) - {"name", "low", "high", "log", "units"})
        if unknown:
            raise ConfigurationError(
                f"unknown key(s) {unknown}; allowed: name, low, high, log or name, values", key=where
            )
        try:
            low, high = float(spec["low"]), float(spec["high"])
        except KeyError as e:
            raise ConfigurationError(f"missing {e.args[0]!r}", key=where) from None
        except (TypeError, ValueError):
            raise ConfigurationError("low and high must be numbers", key=where) from None
        log = spec.get("log", False)
        if not isinstance(log, bool):
            raise ConfigurationError(f"log must be true or false, got {log!r}", key=where)
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ConfigurationError(f"need finite low < high, got [{low}, {high}]", key=where)
        if log and low <= 0:
            raise ConfigurationError(f"a log-scaled parameter needs low > 0, got {low}", key=where)
        return cls(name=name, low=low, high=high, log=log)

    def encode(self, x: Any) -> float:
        if self.values is not None:
            for i, v in enumerate(self.values):
                if v == x:
                    return float(i)
            raise OptimizerError(f"{self.name}={x!r} is not one of {list(self.values)}")
        try:
            v = float(x)
        except (TypeError, ValueError):
            raise OptimizerError(f"{self.name}={x!r} is not a number") from None
        tol = _REL_TOL * (self.high - self.low)
        if not (self.low - tol <= v <= self.high + tol):
            raise OptimizerError(f"{self.name}={v} lies outside [{self.low}, {self.high}]")
        v = min(max(v, self.low), self.high)
        if self.log:
            return (math.log(v) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (v - self.low) / (self.high - self.low)

    def decode(self, u: float) -> Any:
        if self.values is not None:
            return self.values[int(min(max(round(u), 0), len(self.values) - 1))]
        u = min(max(float(u), 0.0), 1.0)
        if self.log:
            v = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            v = self.low + u * (self.high - self.low)
        return min(max(v, self.low), self.high)


@dataclass(frozen=True)
class LinearConstraint:
    """``sum_j coefficients[j] * x_j  op  rhs`` on user-unit parameter values; op is "<=" or ">="."""

    coefficients: tuple[tuple[str, float], ...]
    op: str
    rhs: float

    @classmethod
    def from_spec(cls, spec: Any, i: int, names: set[str]) -> LinearConstraint:
        where = f"constraints[{i}]"
        check_table(spec, where=where, what="a constraint", allowed=("coefficients", "op", "rhs"))
        coef = spec.get("coefficients")
        if not isinstance(coef, Mapping) or not coef:
            raise ConfigurationError("coefficients must be a table parameter = number", key=where)
        for k, v in coef.items():
            if k not in names:
                raise ConfigurationError(f"unknown parameter {k!r}", key=f"{where}.coefficients")
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigurationError(f"coefficient of {k} must be a number", key=f"{where}.coefficients")
        op = spec.get("op")
        if op not in ("<=", ">="):
            raise ConfigurationError(f"op must be '<=' or '>=', got {op!r}", key=f"{where}.op")
        rhs = spec.get("rhs")
        if isinstance(rhs, bool) or not isinstance(rhs, (int, float)):
            raise ConfigurationError(f"rhs must be a number, got {rhs!r}", key=f"{where}.rhs")
        return cls(tuple((k, float(v)) for k, v in coef.items()), op, float(rhs))

    def satisfied(self, point: Mapping[str, Any], tol: float = 1e-9) -> bool:
        lhs = sum(c * float(point[k]) for k, c in self.coefficients)
        scale = tol * max(1.0, abs(self.rhs))
        return lhs <= self.rhs + scale if self.op == "<=" else lhs >= self.rhs - scale


class Space:
    """Parameters plus linear constraints, with encoding to and from the unit space.

    Encoded points are ``n x d`` float64 arrays (columns in parameter order).
    """

    def __init__(self, parameters: Sequence[Any], constraints: Sequence[Any] | None = None):
        if isinstance(parameters, (str, bytes)) or not isinstance(parameters, Sequence) or not parameters:
            raise ConfigurationError("parameters must be a non-empty list", key="parameters")
        self.parameters = tuple(Parameter.from_spec(p, i) for i, p in enumerate(parameters))
        self.names = tuple(p.name for p in self.parameters)
        if len(set(self.names)) != len(self.names):
            raise ConfigurationError("parameter names must be distinct", key="parameters")
        numeric = {p.name for p in self.parameters if not p.categorical}
        self.constraints = tuple(
            LinearConstraint.from_spec(c, i, numeric) for i, c in enumerate(constraints or ())
        )
        self.d = len(self.parameters)
        self.cat_dims = [i for i, p in enumerate(self.parameters) if p.categorical]
        self.cont_dims = [i for i, p in enumerate(self.parameters) if not p.categorical]

    @property
    def upper(self) -> np.ndarray:
        """Upper bounds of the encoded space (1, or k-1 for a categorical)."""
        return np.array([len(p.levels) - 1.0 if p.categorical else 1.0 for p in self.parameters])

    @property
    def linear_in_encoding(self) -> bool:
        """Whether every constraint is linear on the encoded space (touches no log parameter)."""
        logs = {p.name for p in self.parameters if p.log}
        return all(k not in logs for c in self.constraints for k, _ in c.coefficients)

    def encode(self, point: Mapping[str, Any]) -> np.ndarray:
        missing = [n for n in self.names if n not in point]
        if missing:
            raise OptimizerError(f"point lacks parameter(s) {missing}: {dict(point)!r}")
        return np.array([p.encode(point[p.name]) for p in self.parameters], dtype=float)

    def decode(self, u: Sequence[float] | np.ndarray) -> dict[str, Any]:
        return {p.name: p.decode(v) for p, v in zip(self.parameters, u)}

    def feasible(self, point: Mapping[str, Any]) -> bool:
        return all(c.satisfied(point) for c in self.constraints)

    def feasible_encoded(self, U: np.ndarray) -> np.ndarray:
        """Boolean mask over rows of an encoded ``n x d`` array."""
        if not self.constraints:
            return np.ones(len(U), dtype=bool)
        return np.array([self.feasible(self.decode(u)) for u in U], dtype=bool)

    def from_unit(self, U: np.ndarray) -> np.ndarray:
        """Map raw unit-cube samples (``n x d`` in [0,1)) to the encoded space (categoricals to indices)."""
        U = np.array(U, dtype=float, copy=True)
        for i in self.cat_dims:
            k = len(self.parameters[i].levels)
            U[:, i] = np.minimum(np.floor(U[:, i] * k), k - 1)
        return U

    def encoded_inequalities(self) -> list[tuple[list[int], list[float], float]]:
        """Constraints as ``sum_j a_j u_j >= b`` on the encoded space (only when ``linear_in_encoding``).

        x_j = low_j + u_j (high_j - low_j), so ``sum c_j x_j <= rhs`` becomes
        ``sum -c_j (high_j - low_j) u_j >= sum c_j low_j - rhs``.
        """
        out = []
        index = {n: i for i, n in enumerate(self.names)}
        for c in self.constraints:
            sgn = -1.0 if c.op == "<=" else 1.0
            idx, coef, b = [], [], sgn * c.rhs
            for k, a in c.coefficients:
                p = self.parameters[index[k]]
                idx.append(index[k])
                coef.append(sgn * a * (p.high - p.low))
                b -= sgn * a * p.low
            out.append((idx, coef, b))
        return out
