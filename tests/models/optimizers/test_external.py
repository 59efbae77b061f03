"""The optional external back ends ("ax", "baybe"): interface, determinism for replay, failed rows.

Skipped when the bench extra is not installed (``pip install -c constraints.txt -e '.[bench]'``).
"""

import importlib.util
import math
import subprocess
import sys

import pytest

from models.errors import ConfigurationError
from models.optimizers import make_optimizer

PARAMS = [{"name": "x", "low": 0.0, "high": 1.0}, {"name": "t", "low": 1.0, "high": 100.0, "log": True}]
LOSS = {"name": "loss", "goal": "minimize"}


def loss(p):
    return (p["x"] - 0.3) ** 2 + (math.log10(p["t"]) - 1.0) ** 2


def rows(n, fail_at=()):
    out = []
    for k in range(n):
        p = {"x": (k * 0.37) % 1.0, "t": 10 ** ((k * 0.61) % 2.0)}
        out.append({**p, "failure": "clogged"} if k in fail_at else {**p, "loss": loss(p)})
    return out


def test_import_models_does_not_import_the_back_ends():
    code = (
        "import sys, models, models.optimizers; from models.optimizers import STRATEGIES; "
        "assert 'ax' in STRATEGIES and 'baybe' in STRATEGIES; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'ax', 'baybe', 'bluesky', 'ophyd'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("strategy,module", [("ax", "ax"), ("baybe", "baybe")])
def test_missing_package_says_how_to_install(strategy, module, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a)
    )
    with pytest.raises(ConfigurationError, match=r"-e '\.\[bench\]'"):
        make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=1)


# BayBE alone takes 3-13 s to import here: its cheap test is marked slow too (run with -m slow).
@pytest.mark.parametrize("strategy", ["ax", pytest.param("baybe", marks=pytest.mark.slow)])
def test_fast_interface_determinism_and_failed_row(strategy):
    """Cheap: in the libraries' initial designs (Ax: center/Sobol; BayBE: random while no row succeeded)."""
    pytest.importorskip("ax" if strategy == "ax" else "baybe")
    data = rows(3, fail_at=(1,)) if strategy == "ax" else rows(1, fail_at=(0,))
    opt = make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=4)
    opt.ingest(data)
    (p,) = opt.suggest(1)
    assert set(p) == {"x", "t"} and 0.0 <= p["x"] <= 1.0 and 1.0 <= p["t"] <= 100.0
    d = opt.last_decision()
    assert d["strategy"] == strategy and d["n_failed"] == 1 and d["acquisition"].startswith(strategy + ":")
    again = make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=4)
    again.ingest(data)
    assert again.suggest(1) == [p]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["ax", "baybe"])
def test_interface_determinism_and_failed_row(strategy):
    pytest.importorskip("ax" if strategy == "ax" else "baybe")
    data = rows(7, fail_at=(2,))
    opt = make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=4)
    opt.ingest(data)
    (p,) = opt.suggest(1)
    assert set(p) == {"x", "t"} and 0.0 <= p["x"] <= 1.0 and 1.0 <= p["t"] <= 100.0
    d = opt.last_decision()
    assert d["strategy"] == strategy and d["n_observations"] == 7 and d["n_failed"] == 1
    assert d["acquisition"].startswith(strategy + ":")
    if strategy == "ax":  # 6 completed rows: past Ax's initial design, on its model
        assert d["acquisition"] == "ax:MBM"
    assert opt.best()["loss"] == min(r["loss"] for r in data if "loss" in r)
    # replay: a fresh optimiser given the same rows proposes the same point
    again = make_optimizer(strategy, parameters=PARAMS, objective=LOSS, seed=4)
    again.ingest(data)
    assert again.suggest(1) == [p]
    # pending points: a batch of two, distinct from each other and from the pending one
    batch = opt.suggest(2, pending=[p])
    assert len(batch) == 2 and batch[0] != batch[1] and p not in batch


def test_unsupported_configurations_are_refused():
    pytest.importorskip("ax")
    with pytest.raises(ConfigurationError, match="single objective"):
        make_optimizer("ax", parameters=PARAMS, objective=[LOSS, {"name": "y", "goal": "maximize"}])
    with pytest.raises(ConfigurationError, match="outcome constraints"):
        make_optimizer(
            "ax",
            parameters=PARAMS,
            objective=LOSS,
            outcome_constraints=[{"outcome": "y", "op": ">=", "value": 0.1}],
        )
    with pytest.raises(ConfigurationError, match="log-scaled"):
        make_optimizer(
            "ax",
            parameters=PARAMS,
            objective=LOSS,
            constraints=[{"coefficients": {"x": 1.0, "t": 0.01}, "op": "<=", "rhs": 1.0}],
        )


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["ax", "baybe"])
def test_categorical_and_linear_constraint(strategy):
    pytest.importorskip("ax" if strategy == "ax" else "baybe")
    params = [
        {"name": "a", "low": 0.0, "high": 1.0},
        {"name": "b", "low": 0.0, "high": 1.0},
        {"name": "ligand", "values": ["OA", "TOP", "DDT"]},
    ]
    cons = [{"coefficients": {"a": 1.0, "b": 1.0}, "op": "<=", "rhs": 1.0}]
    opt = make_optimizer(strategy, parameters=params, objective=LOSS, seed=2, constraints=cons)
    lig = ["OA", "TOP", "DDT"]
    opt.ingest(
        [
            {"a": 0.1 * k, "b": 0.05 * k, "ligand": lig[k % 3], "loss": (0.1 * k - 0.4) ** 2 + (k % 3)}
            for k in range(6)
        ]
    )
    for p in opt.suggest(2):
        assert p["ligand"] in lig and p["a"] + p["b"] <= 1.0 + 1e-6
