"""The benchmark problems: known optima beat their targets, the emulators reproduce their data, the split."""

import numpy as np
import pytest

from models.benchmarks import PROBLEMS, SPLITS, SUITES, function_problem, suite_entries
from models.benchmarks.emulators import DATASETS, emulator_problem, load_data
from models.benchmarks.synthetic import synthetic_problems
from models.errors import ConfigurationError

SYNTHETIC = synthetic_problems()


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_known_optimum_evaluates_to_the_optimum_and_beats_the_target(name):
    p = SYNTHETIC[name]
    x = np.array([p.optimizer])
    assert p.evaluate_true(x)[0] == pytest.approx(p.optimum, abs=1e-3)
    assert p.feasible(x)[0]
    assert p.reached(p.optimum) and not p.reached(p.space_median)
    # the target is the best 1 % of the box: strictly between the optimum and the median
    assert p.sign * p.optimum > p.sign * p.target > p.sign * p.space_median


def test_constrained_problem_reports_its_constraints_as_outcomes():
    p = SYNTHETIC["gramacy-constrained"]
    assert p.outcomes() == ("y", "c1", "c2")
    assert [c["outcome"] for c in p.outcome_constraints()] == ["c1", "c2"]
    row = p.observe(np.array([[0.9, 0.9]]), np.zeros(1))[0]  # x1^2 + x2^2 = 1.62 > 1.5: infeasible
    assert row["c2"] == pytest.approx(0.9**2 + 0.9**2 - 1.5) and not p.feasible(np.array([[0.9, 0.9]]))[0]


def test_observation_adds_the_stated_noise_to_the_truth():
    p = SYNTHETIC["branin"]
    X = np.array([[0.0, 5.0], [2.0, 3.0]])
    rows = p.observe(X, np.array([1.0, -2.0]))
    assert [r["y"] for r in rows] == pytest.approx(
        list(p.evaluate_true(X) + p.noise_sd * np.array([1.0, -2.0]))
    )


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_emulator_reproduces_its_training_data(name):
    names, X, y, _ = load_data(name)
    p = emulator_problem(name)
    fitted = p.evaluate_true(X)
    r2 = 1 - np.sum((y - fitted) ** 2) / np.sum((y - y.mean()) ** 2)
    print(f"{name}: R^2 = {r2:.3f} on {len(y)} experiments, noise sd {p.noise_sd:.4g}")
    assert r2 > 0.95
    assert p.noise_sd == pytest.approx(np.std(y - fitted))
    assert list(p.names) == names and np.all(X >= p.low - 1e-9) and np.all(X <= p.high + 1e-9)
    # deterministic: a second load gives the same truth
    assert np.allclose(emulator_problem(name).evaluate_true(X[:5]), fitted[:5], rtol=1e-12, atol=0)
    # the target lies inside what the data's box offers: reached by the best share of the box, not by its median
    assert p.reached(p.target) and not p.reached(p.space_median)


def test_split_is_disjoint_and_agnp_is_never_tuned_on():
    split = {s: set(SUITES[s]) for s in SPLITS}
    assert not split["tuning"] & split["reporting"]
    assert not split["independent"] & (split["tuning"] | split["reporting"])
    assert "agnp" in split["independent"] and "agnp" not in split["tuning"]
    assert set(SUITES["all"]) == split["tuning"] | split["reporting"] | split["independent"]
    assert not set(SUITES["smoke"]) & set(SUITES["all"])


def test_table_matches_the_problems():
    for entry in PROBLEMS:
        if entry.kind == "function":
            assert function_problem(entry.name).dimension == entry.dimension, entry.name
        else:
            assert entry.campaign and entry.campaign.endswith(".toml"), entry.name


def test_unknown_problem_is_one_clear_error():
    assert [e.name for e in suite_entries("branin, snar")] == ["branin", "snar"]
    with pytest.raises(ConfigurationError, match="unknown suite or problem nope"):
        suite_entries("branin,nope")
