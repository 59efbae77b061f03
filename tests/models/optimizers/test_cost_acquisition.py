"""Cost-aware acquisition (models.optimizers.cost): of two equally promising candidates the cheaper wins."""

from __future__ import annotations

import math

import pytest
import torch
from botorch.acquisition.analytic import LogExpectedImprovement
from botorch.models import SingleTaskGP

from models import make_optimizer
from models.optimizers.cost import CostAware, CostWeighted

FAST = {
    "num_restarts": 2,
    "raw_samples": 64,
    "maxiter": 30,
    "mc_samples": 64,
    "fit_maxiter": 50,
    "n_initial": 4,
}


def _symmetric_gp() -> SingleTaskGP:
    """A GP on data symmetric about x = 0.5 (default hyperparameters: no fit), so EI(x) = EI(1 - x)."""
    X = torch.tensor([[0.1], [0.5], [0.9]], dtype=torch.float64)
    Y = torch.tensor([[0.0], [1.0], [0.0]], dtype=torch.float64)
    model = SingleTaskGP(X, Y)
    model.eval()
    return model


def _v(acq, X) -> float:
    with torch.no_grad():
        return float(acq(X))


def _rising(values):
    return 1.0 + 9.0 * values["x"]  # hours: 1 at x = 0, 10 at x = 1


def test_of_two_candidates_with_equal_ei_the_cheaper_scores_higher():
    model = _symmetric_gp()
    base = LogExpectedImprovement(model, best_f=1.0)
    cheap, dear = torch.tensor([[[0.3]]], dtype=torch.float64), torch.tensor([[[0.7]]], dtype=torch.float64)
    assert _v(base, cheap) == pytest.approx(_v(base, dear), abs=1e-9)  # equally promising
    decode = lambda X: X  # noqa: E731 - the encoded space is the user's here
    weighted = CostWeighted(base, CostAware(hours=_rising, exponent=1.0), decode, ["x"])
    assert _v(weighted, cheap) > _v(weighted, dear)
    # log EI minus log(expected hours): the margin is the log of the cost ratio
    gap = _v(weighted, cheap) - _v(weighted, dear)
    assert gap == pytest.approx(math.log(_rising({"x": 0.7}) / _rising({"x": 0.3})), rel=1e-6)
    half = CostWeighted(base, CostAware(hours=_rising, exponent=0.5), decode, ["x"])
    assert _v(half, cheap) - _v(half, dear) == pytest.approx(gap / 2, rel=1e-6)
    blind = CostWeighted(base, CostAware(hours=_rising, exponent=0.0), decode, ["x"])
    assert _v(blind, dear) == pytest.approx(_v(base, dear), abs=1e-12)


def test_the_weighted_acquisition_is_differentiable_in_the_candidate():
    weighted = CostWeighted(
        LogExpectedImprovement(_symmetric_gp(), best_f=1.0), CostAware(hours=_rising), lambda X: X, ["x"]
    )
    X = torch.tensor([[[0.7]]], dtype=torch.float64, requires_grad=True)
    weighted(X).sum().backward()
    assert X.grad is not None and torch.isfinite(X.grad).all()


def test_a_cost_exponent_outside_its_range_is_refused():
    with pytest.raises(ValueError, match="exponent"):
        CostAware(hours=_rising, exponent=-1.0)


def _two_peaks():
    """Five rows of a 1-D objective with two equal peaks, at x = 0.2 and x = 0.8."""
    opt = make_optimizer(
        "botorch",
        parameters=[{"name": "x", "low": 0.0, "high": 1.0}],
        objective={"name": "y", "goal": "maximize"},
        seed=0,
        options=FAST,
    )
    opt.ingest([{"x": x, "y": y} for x, y in ((0.0, 0.0), (0.2, 1.0), (0.5, 0.0), (0.8, 1.0), (1.0, 0.0))])
    return opt


@pytest.mark.parametrize(("hours", "side"), [(_rising, "low"), (lambda v: 10.0 - 9.0 * v["x"], "high")])
def test_the_optimiser_proposes_on_the_cheaper_of_two_equal_peaks(hours, side):
    opt = _two_peaks()
    (point,) = opt.suggest(1, cost=CostAware(hours=hours, exponent=1.0, record={"what": "test"}))
    assert (point["x"] < 0.5) if side == "low" else (point["x"] > 0.5)
    decision = opt.last_decision()
    assert decision["cost"] == {"what": "test"}
    assert decision["expected_cost"] == pytest.approx(float(hours({"x": point["x"]})), rel=1e-6)


def test_cost_blind_decisions_carry_no_cost():
    opt = _two_peaks()
    opt.suggest(1)
    assert "cost" not in opt.last_decision() and "expected_cost" not in opt.last_decision()


def _fresh(**options):
    return make_optimizer(
        "botorch",
        parameters=[{"name": "x", "low": 0.0, "high": 1.0}, {"name": "z", "low": 0.0, "high": 1.0}],
        objective={"name": "y", "goal": "maximize"},
        seed=3,
        options={**FAST, **options},
    )


def test_a_cost_aware_start_takes_the_cheapest_of_twice_as_many_sobol_points():
    from models.optimizers.base import sample_encoded

    cost = CostAware(hours=_rising)
    opt = _fresh()
    pool = [opt.space.decode(u) for u in sample_encoded(opt.space, 8, opt.seed, method="sobol")]
    cheapest = sorted(pool, key=lambda p: p["x"])[:4]
    chosen = []
    for _ in range(4):  # one at a time, each ingested: the greedy start never repeats a pool point
        (point,) = opt.suggest(1, cost=cost)
        assert opt.last_decision()["acquisition"] == "sobol-initial-cheap"
        chosen.append(point)
        opt.ingest([{**point, "y": 0.0}])
    assert [p["x"] for p in chosen] == pytest.approx([p["x"] for p in cheapest])
    # the same seed and rows without a cost: the plain Sobol start, which takes the dear points too
    assert _fresh().suggest(1)[0]["x"] == pytest.approx(pool[0]["x"])
    assert max(p["x"] for p in pool[:4]) > max(p["x"] for p in chosen)
    # and with cheap_start off the cost does not touch the start
    off = _fresh(cheap_start=False)
    assert off.suggest(1, cost=cost)[0]["x"] == pytest.approx(pool[0]["x"])


def test_a_cheap_start_is_a_pure_function_of_rows_pending_and_cost():
    cost = CostAware(hours=_rising)
    a, b = _fresh(), _fresh()
    (first,) = a.suggest(1, cost=cost)
    (again,) = b.suggest(1, cost=cost)
    assert first == again
    # a pending point is taken: the next proposal is another pool point
    (second,) = a.suggest(1, pending=[first], cost=cost)
    assert second != first
