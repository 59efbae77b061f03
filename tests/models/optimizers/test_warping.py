"""Outcome warping (models/optimizers/warping.py): an exact, differentiable inverse, and what it learns."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models import make_optimizer
from models.errors import ConfigurationError
from models.optimizers.warping import YeoJohnson, yeo_johnson, yeo_johnson_inverse

PARAMS = [{"name": "x", "low": 0.0, "high": 1.0}, {"name": "y", "low": 0.0, "high": 1.0}]
FAST = {"num_restarts": 2, "raw_samples": 32, "maxiter": 20, "fit_maxiter": 30, "n_initial": 4}


@pytest.mark.parametrize("lam", [0.05, 0.5, 1.0, 1.5, 1.95])
def test_inverse_undoes_the_transform_over_the_real_line(lam):
    z = torch.linspace(-30, 30, 601, dtype=torch.float64)
    assert torch.allclose(yeo_johnson_inverse(yeo_johnson(z, lam), lam), z, atol=1e-8)
    # and every warped value has a finite preimage (posterior samples land anywhere)
    w = torch.linspace(-50, 50, 11, dtype=torch.float64)
    assert torch.isfinite(yeo_johnson_inverse(w, lam)).all()


def test_lambda_one_is_the_identity_up_to_standardisation():
    z = torch.linspace(-3, 3, 13, dtype=torch.float64)
    assert torch.allclose(yeo_johnson(z, 1.0), z)


def test_a_long_bad_tail_is_compressed_and_mapped_back_exactly():
    rng = np.random.default_rng(0)
    y = np.exp(rng.normal(size=40) * 1.2)  # a loss: mostly small, a few very large (bad) values
    warp = YeoJohnson(y, sign=-1.0, oriented=True)
    t = warp.forward(torch.as_tensor(y))
    # oriented to "higher is better", the bad tail is the low one; it is pulled in
    assert warp.lam > 1.0
    assert float(t.min()) > (-y.max() - (-y).mean()) / y.std(ddof=1)
    assert np.allclose(warp.inverse(t).numpy(), y, rtol=1e-9)


def test_oriented_never_compresses_the_good_tail():
    rng = np.random.default_rng(1)
    y = np.exp(rng.normal(size=40))  # a yield to maximise with a long good (upper) tail
    assert YeoJohnson(y, sign=1.0, oriented=True).lam == 1.0
    assert YeoJohnson(y, sign=1.0, oriented=False).lam < 1.0


def test_inverse_passes_gradients():
    warp = YeoJohnson(np.array([0.1, 0.3, 2.0, 9.0, 40.0]), sign=-1.0)
    t = torch.tensor([0.3, -1.2], dtype=torch.float64, requires_grad=True)
    warp.inverse(t).sum().backward()
    assert t.grad is not None and torch.isfinite(t.grad).all() and (t.grad != 0).all()


def _loss(r):
    return 100.0 * (r["x"] - 0.7) ** 2 + 30.0 * (r["y"] - 0.2) ** 2 + math.exp(6 * r["x"] * r["y"])


@pytest.mark.parametrize("mode", ["yeo-johnson", "oriented"])
def test_warped_strategy_proposes_in_bounds_logs_lambda_and_is_deterministic(mode):
    def run():
        opt = make_optimizer(
            "botorch",
            parameters=PARAMS,
            objective={"name": "loss", "goal": "minimize"},
            seed=3,
            options={**FAST, "outcome_warp": mode},
        )
        for _ in range(7):
            (x,) = opt.suggest(1)
            opt.ingest([{**x, "loss": _loss(x)}])
        return opt

    a, b = run(), run()
    assert [r["x"] for r in a.rows] == [r["x"] for r in b.rows]
    assert all(0.0 <= r["x"] <= 1.0 and 0.0 <= r["y"] <= 1.0 for r in a.rows)
    warp = a.last_decision()["model"]["loss"]["warp"]
    assert 0.05 <= warp["lambda"] <= 1.95 and warp["sign"] == (-1.0 if mode == "oriented" else 1.0)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("yeo-johnson", {"plqy": (1.0, False), "fwhm": (1.0, False)}),
        ("oriented", {"plqy": (1.0, True), "fwhm": (-1.0, True)}),
        ("all", {"pl": (1.0, False), "plqy": (1.0, False), "fwhm": (1.0, False), "size": (1.0, False)}),
        ("none", {}),
    ],
)
def test_only_outcomes_the_objective_maximises_or_minimises_are_warped(mode, expected):
    objective = {
        "name": "score",
        "terms": [
            {"outcome": "pl", "goal": "target", "target": 530.0, "scale": 10.0},
            {"outcome": "plqy", "goal": "maximize", "scale": 0.1},
            {"outcome": "fwhm", "goal": "minimize", "scale": 10.0},
            {"outcome": "size", "within": [2.0, 3.0], "scale": 1.0},
            {"outcome": "size", "goal": "maximize", "scale": 1.0},
        ],
    }
    opt = make_optimizer(
        "botorch",
        parameters=PARAMS,
        objective=objective,
        seed=0,
        options={**FAST, "outcome_warp": mode},
        outcome_constraints=[{"outcome": "yield", "op": ">=", "value": 0.1}],
    )
    assert opt._warp() == expected


def test_an_unknown_warp_is_refused_at_construction():
    with pytest.raises(ConfigurationError, match="outcome_warp must be one of") as e:
        make_optimizer(
            "botorch", parameters=PARAMS, objective={"name": "loss"}, seed=0, options={"outcome_warp": "log"}
        )
    assert e.value.key == "options.outcome_warp"
