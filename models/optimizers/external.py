"""External Bayesian-optimisation back ends, as shipped: Ax (``"ax"``) and BayBE (``"baybe"``).

Both are optional (``pip install -c constraints.txt -e '.[bench]'``, or ``make bench``) and imported
only when one of these strategies is constructed: ``import models`` never imports them.

Fairness: each library gets what a user would give it - the campaign's *scalar* utility
(``objective.utility(row)``, maximised) as its single target - and runs its DEFAULT generation
strategy / recommender. The library never sees the individual outcomes (unlike ``"botorch"``, which
models each outcome and applies the non-smooth utility to posterior samples).

Purity (replay): :meth:`suggest` builds a fresh Ax ``Client`` / BayBE ``Campaign`` every call, seeded
with the call seed (a function of the campaign seed and the number of rows), attaches every ingested
row, then asks for ``n`` points. The global python/numpy/torch random states are saved and restored
around the call. A consequence: the libraries' own initial designs restart on every call (a fresh
scramble per call rather than one continued Sobol sequence), which is how a stateless user would
drive them.

Failed rows (marked failed, or objective not computable):
- Ax: attached and marked FAILED (``mark_trial_failed``); Ax's default strategy models nothing for
  them and may propose nearby points again.
- BayBE 0.15 has no failure model (``add_measurements`` rejects NaN targets), so failed rows are
  SKIPPED: not shown to BayBE at all. Documented caveat: BayBE may re-propose a failing region.

Log-scaled parameters: Ax ``scaling="log"``; BayBE (no log scaling of continuous parameters) searches
``log10(x)`` and we transform back. Categorical parameters: supported by both (Ax choice parameter,
BayBE categorical). Linear parameter constraints: supported on linear-scale continuous parameters;
a constraint touching a log-scaled or categorical parameter raises ConfigurationError. Outcome
constraints and multi-objectives raise ConfigurationError (the scalar utility is the only target).
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from models.errors import ConfigurationError, OptimizerError
from models.optimizers.base import Optimizer, SuggestInfo

__all__ = ["AxOptimizer", "BayBEOptimizer"]

_INSTALL_HINT = "pip install -c constraints.txt -e '.[bench]' (or `make bench`)"
_TARGET = "utility"


def _require(module: str, strategy: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConfigurationError(
            f"strategy {strategy!r} needs the optional package {module!r}: {_INSTALL_HINT}", key="strategy"
        )


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed python, numpy and torch global generators, restoring their states afterwards."""
    py_state = random.getstate()
    np_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


@contextlib.contextmanager
def _quiet(*loggers: str) -> Iterator[None]:
    """Silence the libraries' logging and warnings for the duration of one call."""
    saved = []
    names = [
        n
        for n in list(logging.root.manager.loggerDict)
        if any(n == p or n.startswith(p + ".") for p in loggers)
    ]
    for name in dict.fromkeys([*loggers, *names]):
        lg = logging.getLogger(name)
        saved.append((lg, lg.level, lg.disabled))
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled


def _import_quietly(module: str) -> None:
    """Import ``module`` with INFO logging and warnings off (Ax logs at import)."""
    import importlib
    import sys

    if module in sys.modules:
        return
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importlib.import_module(module)
    finally:
        logging.disable(previous)


class _External(Optimizer):
    supports_multi_objective = False
    _module = ""

    def __init__(self, *args: Any, **kwargs: Any):
        _require(self._module, self.strategy)
        super().__init__(*args, **kwargs)
        if self.outcome_constraints:
            raise ConfigurationError(
                f"strategy {self.strategy!r} is given the scalar utility only; outcome constraints are not "
                "supported (use 'botorch')",
                key="outcome_constraints",
            )
        if _TARGET in self.space.names:
            raise ConfigurationError(
                f"a parameter may not be named {_TARGET!r} with strategy {self.strategy!r}", key="parameters"
            )
        for c in self.space.constraints:
            for name, _ in c.coefficients:
                p = self.space.parameters[self.space.names.index(name)]
                if p.categorical or p.log:
                    raise ConfigurationError(
                        f"strategy {self.strategy!r}: linear constraints on a log-scaled or categorical "
                        f"parameter ({name}) are not supported",
                        key="constraints",
                    )

    def _observed(self) -> list[tuple[dict[str, Any], float | None]]:
        """(row, utility or None if failed) for each ingested row, in order."""
        objective = self._single_objective()
        out: list[tuple[dict[str, Any], float | None]] = []
        for r in self._rows:
            u = None if self._failed(r) else objective.utility(r)  # not failed: it has a utility
            out.append((r, None if u is None else float(u)))
        return out

    def _encode_points(self, points: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return np.array([self.space.encode(p) for p in points], dtype=float).reshape(-1, self.space.d)


# --------------------------------------------------------------------------------------------- Ax
class AxOptimizer(_External):
    """Ax ``Client`` (ax.api) with its default generation strategy; maximises the scalar utility."""

    strategy = "ax"
    _module = "ax"

    def _client(self, seed: int) -> Any:
        from ax.api.client import Client  # pyright: ignore[reportMissingImports] - optional extra
        from ax.api.configs import ChoiceParameterConfig, RangeParameterConfig  # pyright: ignore[reportMissingImports] - optional extra

        params = []
        for p in self.space.parameters:
            if p.categorical:
                if len(p.levels) < 2:
                    continue  # fixed: filled in on the way back
                params.append(
                    ChoiceParameterConfig(
                        name=p.name,
                        values=[str(i) for i in range(len(p.levels))],
                        parameter_type="str",
                        is_ordered=False,
                    )
                )
            else:
                params.append(
                    RangeParameterConfig(
                        name=p.name,
                        bounds=(p.low, p.high),
                        parameter_type="float",
                        scaling="log" if p.log else "linear",
                    )
                )
        cons = []
        for c in self.space.constraints:
            lhs = " + ".join(f"{coef!r} * {name}" for name, coef in c.coefficients)
            cons.append(f"{lhs} {c.op} {c.rhs!r}")
        client = Client(random_seed=seed)
        client.configure_experiment(parameters=params, parameter_constraints=cons or None, name="qdlab")
        client.configure_optimization(objective=_TARGET)
        return client

    def _to_ax(self, row: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for p in self.space.parameters:
            if p.categorical:
                if len(p.levels) >= 2:
                    out[p.name] = str(int(p.encode(row[p.name])))
            else:
                lo, hi = p.low, p.high
                out[p.name] = min(max(float(row[p.name]), lo), hi)
        return out

    def _from_ax(self, params: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for p in self.space.parameters:
            if p.categorical:
                choice = int(params[p.name]) if len(p.levels) >= 2 else 0  # one value: not searched
                out[p.name] = p.levels[choice]
            else:
                out[p.name] = float(params[p.name])
        return out

    def _suggest(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, SuggestInfo]:
        _import_quietly("ax.api.client")  # first, so that _quiet below finds (and silences) every ax logger
        with _quiet("ax", "botorch", "gpytorch", "pyro"), _seeded(call_seed):
            client = self._client(call_seed)
            for row, u in self._observed():
                i = client.attach_trial(parameters=self._to_ax(row))
                if u is None:
                    client.mark_trial_failed(trial_index=i, failed_reason="failed in the lab")
                else:
                    client.complete_trial(trial_index=i, raw_data={_TARGET: u})
            for e in pending:  # left RUNNING: Ax treats them as pending points
                client.attach_trial(parameters=self._to_ax(self.space.decode(e)))
            # The default strategy, as ``get_next_trials`` would choose it. A fresh strategy starts at its
            # first node and ``gen`` takes one transition per trial, so a client rebuilt from the rows
            # would stay in its initial design forever; advance it to the node a long-lived client
            # holding these trials would be in (Center -> Sobol -> MBM by Ax's own criteria).
            client.configure_generation_strategy()
            gs = client._generation_strategy
            gs.experiment = client._experiment
            gs.current_generator_run_limit()
            trials = client.get_next_trials(max_trials=n)
            node = gs.current_node_name
        if len(trials) < n:
            raise OptimizerError(f"Ax proposed {len(trials)} of the {n} points asked for")
        points = [self._from_ax(trials[k]) for k in sorted(trials)][:n]
        return self._encode_points(points), {"acquisition": f"ax:{node}", "model": {"library": "ax-platform"}}


# ------------------------------------------------------------------------------------------ BayBE
class BayBEOptimizer(_External):
    """BayBE ``Campaign`` with its default recommender; maximises the scalar utility.

    Log-scaled parameters are searched as ``log10(x)``. Failed rows are skipped (BayBE 0.15 has no
    failure model and rejects NaN targets).
    """

    strategy = "baybe"
    _module = "baybe"

    def _campaign(self) -> Any:
        from baybe import Campaign  # pyright: ignore[reportMissingImports] - optional extra
        from baybe.constraints import ContinuousLinearConstraint  # pyright: ignore[reportMissingImports] - optional extra
        from baybe.objectives import SingleTargetObjective  # pyright: ignore[reportMissingImports] - optional extra
        from baybe.parameters import CategoricalParameter, NumericalContinuousParameter  # pyright: ignore[reportMissingImports] - optional extra
        from baybe.searchspace import SearchSpace  # pyright: ignore[reportMissingImports] - optional extra
        from baybe.targets import NumericalTarget  # pyright: ignore[reportMissingImports] - optional extra

        params = []
        for p in self.space.parameters:
            if p.categorical:
                params.append(
                    CategoricalParameter(
                        name=p.name, values=[str(i) for i in range(len(p.levels))], encoding="OHE"
                    )
                )
            elif p.log:
                params.append(
                    NumericalContinuousParameter(name=p.name, bounds=(math.log10(p.low), math.log10(p.high)))
                )
            else:
                params.append(NumericalContinuousParameter(name=p.name, bounds=(p.low, p.high)))
        cons = [
            ContinuousLinearConstraint(
                parameters=[k for k, _ in c.coefficients],
                operator="<=" if c.op == "<=" else ">=",
                coefficients=[v for _, v in c.coefficients],
                rhs=c.rhs,
            )
            for c in self.space.constraints
        ]
        space = SearchSpace.from_product(parameters=params, constraints=cons or None)
        objective = SingleTargetObjective(target=NumericalTarget(name=_TARGET))
        return Campaign(searchspace=space, objective=objective)

    def _to_baybe(self, row: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for p in self.space.parameters:
            if p.categorical:
                out[p.name] = str(int(p.encode(row[p.name])))
            else:
                v = min(max(float(row[p.name]), p.low), p.high)
                out[p.name] = math.log10(v) if p.log else v
        return out

    def _from_baybe(self, rec: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for p in self.space.parameters:
            v = rec[p.name]
            if p.categorical:
                out[p.name] = p.levels[int(v)]
            else:
                x = 10.0 ** float(v) if p.log else float(v)
                out[p.name] = min(max(x, p.low), p.high)
        return out

    def _suggest(self, n: int, pending: np.ndarray, call_seed: int) -> tuple[np.ndarray, SuggestInfo]:
        import pandas as pd

        _import_quietly("baybe")
        with _quiet("baybe", "botorch", "gpytorch"), _seeded(call_seed):
            from baybe import Settings  # pyright: ignore[reportMissingImports] - optional extra

            with Settings(random_seed=call_seed):
                campaign = self._campaign()
                obs = [(r, u) for r, u in self._observed() if u is not None]
                if obs:
                    df = pd.DataFrame([{**self._to_baybe(r), _TARGET: u} for r, u in obs])
                    campaign.add_measurements(df)
                pend = None
                if len(pending):
                    pend = pd.DataFrame([self._to_baybe(self.space.decode(e)) for e in pending])
                rec = campaign.recommend(batch_size=n, pending_experiments=pend)
                recommender = (
                    type(
                        campaign.recommender.select_recommender(
                            batch_size=n,
                            searchspace=campaign.searchspace,
                            objective=campaign.objective,
                            measurements=campaign.measurements,
                        )
                    ).__name__
                    if hasattr(campaign.recommender, "select_recommender")
                    else type(campaign.recommender).__name__
                )
        if len(rec) < n:
            raise OptimizerError(f"BayBE proposed {len(rec)} of the {n} points asked for")
        points = [self._from_baybe(r) for r in rec.to_dict("records")][:n]
        return self._encode_points(points), {
            "acquisition": f"baybe:{recommender}",
            "model": {"library": "baybe", "skipped_failed": sum(u is None for _, u in self._observed())},
        }
