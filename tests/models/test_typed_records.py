"""The typed records (issue 16) say what the producers return: the figures of merit of
``models.analysis`` and the optimiser's decision record, every key and in the order they come."""

from __future__ import annotations

import math
import typing

import numpy as np
import pytest

from models import make_optimizer
from models.analysis import (
    FIGURES_OF_MERIT,
    AbsorbanceFigures,
    FiguresOfMerit,
    PLFigures,
    analyze_absorbance,
    analyze_pl,
    figures_of_merit,
)
from models.optimizers import Decision, SuggestInfo
from tests.models.conftest import FOM_ARGS, WL


def _gauss(center: float, fwhm: float, height: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((WL - center) / (fwhm / (2 * math.sqrt(2 * math.log(2))))) ** 2)


def _spectra(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = 0.8 * np.exp(-(WL - 350.0) / 60.0) + _gauss(540.0, 28.0, 0.2) + _gauss(480.0, 30.0, 0.16)
    p = 100.0 + _gauss(555.0, 28.0, 5000.0)
    return a + rng.normal(0.0, 0.002, WL.size), p + rng.normal(0.0, 40.0, WL.size)


SPECTRA = {
    "dots": _spectra(0),
    "blank": (
        np.random.default_rng(3).normal(0.0, 0.002, WL.size),
        np.random.default_rng(4).normal(0, 40, WL.size),
    ),
    "too short": (np.zeros(5), np.zeros(5)),
}


def test_figures_of_merit_record_is_the_one_list_in_its_order():
    assert tuple(FiguresOfMerit.__annotations__) == FIGURES_OF_MERIT


@pytest.mark.parametrize("case", SPECTRA)
def test_analysis_returns_exactly_its_records_keys_in_order(case):
    a, p = SPECTRA[case]
    wl = WL[: a.size]
    assert list(analyze_absorbance(wl, a, "CdSe")) == list(AbsorbanceFigures.__annotations__)
    assert list(analyze_pl(wl, p)) == list(PLFigures.__annotations__)
    assert list(figures_of_merit(wl, a, wl, p, **FOM_ARGS)) == list(FiguresOfMerit.__annotations__)
    assert list(figures_of_merit(wl, a, wl, p, saturated=True, **FOM_ARGS)) == list(
        FiguresOfMerit.__annotations__
    )


def _required(td: type) -> set[str]:
    hints = typing.get_type_hints(td, include_extras=True)
    return {k for k, t in hints.items() if typing.get_origin(t) is not typing.NotRequired}


FAST = {
    "num_restarts": 1,
    "raw_samples": 16,
    "maxiter": 5,
    "mc_samples": 16,
    "fit_maxiter": 10,
    "n_initial": 3,
}
PARAMS = [{"name": "a", "low": 0.0, "high": 1.0}, {"name": "b", "low": 0.0, "high": 1.0}]
CASES = {
    "random": ({"name": "f1", "goal": "minimize"}, {}),
    "sobol": ({"name": "f1", "goal": "minimize"}, {}),
    "sklearn-gp": ({"name": "f1", "goal": "minimize"}, {"n_initial": 3, "n_candidates": 100}),
    "botorch": ({"name": "f1", "goal": "minimize"}, FAST),
    "botorch-mo": ([{"name": "f1", "goal": "minimize"}, {"name": "f2", "goal": "minimize"}], FAST),
}


@pytest.mark.parametrize("strategy", CASES)
def test_decision_record_holds_its_keys_in_order(strategy):
    objective, options = CASES[strategy]
    opt = make_optimizer(strategy, parameters=PARAMS, objective=objective, seed=0, options=options)
    order = list(Decision.__annotations__)
    required = _required(Decision)
    # cost: what suggest(cost=...) was given, recorded by Optimizer.suggest itself
    assert required == set(order) - set(SuggestInfo.__annotations__) - {"cost"} | {
        "acquisition",
        "acquisition_value",
        "model",
    }
    seen: set[str] = set()
    for _ in range(5):  # the initial design, then (for the model-based ones) modelled proposals
        (x,) = opt.suggest(1)
        d = opt.last_decision()
        assert required <= set(d), strategy
        assert list(d) == [k for k in order if k in d], strategy  # nothing unknown, in the record's order
        seen |= set(d)
        measured = {"f1": x["a"] ** 2 + x["b"], "f2": 1.0 - x["a"]}
        opt.ingest([{**x, **{k: v for k, v in measured.items() if k in opt.outcomes}}])
    if strategy.startswith("botorch"):
        assert {"acquisition_values", "timed_out", "fit_s", "acquisition_s"} <= seen
    if strategy == "botorch-mo":
        assert "ref_point" in seen
    if strategy == "sobol":
        assert "sequence_index" in seen
