"""Synthetic benchmark functions from ``botorch.test_functions``, with a stated noise model.

Each is BoTorch's noise-free ``evaluate_true`` (double precision) wrapped as a
:class:`~models.benchmarks.problem.FunctionProblem`. Noise sds are a few per cent of the spread
between the box's median and its best 1 % (the target), so that the target is well above the noise
but a lucky observation can still mislead an incumbent.

- ``branin``: Branin, 2-D, minimise, optimum 0.397887 at three points.
- ``hartmann6``: Hartmann-6 on [0, 1]^6, minimise, optimum -3.32237.
- ``ackley5``: Ackley-5, minimise, optimum 0 at the origin, on the asymmetric box [-32.768, 16.384]^5:
  on BoTorch's symmetric box the optimum is the centre of the box, which Ax's first design point is.
- ``levy4``: Levy-4 on [-10, 10]^4, minimise, optimum 0 at (1, 1, 1, 1).
- ``gramacy-constrained``: BoTorch's ``ConstrainedGramacy`` (Gramacy et al., Technometrics 58, 1 (2016)):
  minimise x1 + x2 on [0, 1]^2 subject to two black-box constraints; optimum about 0.5998 at
  (0.1954, 0.4044). The constraints reach the optimiser as outcomes ``c1, c2 <= 0``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from models.benchmarks.problem import FunctionProblem

__all__ = ["synthetic_problems"]


def _truth(function) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    def evaluate(X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return function.evaluate_true(torch.as_tensor(X, dtype=torch.float64)).numpy()

    return evaluate


def _slack(function) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    def constraint(X: np.ndarray) -> np.ndarray:
        with torch.no_grad():  # BoTorch's slack is >= 0 where feasible; ours is <= 0 there
            return -function.evaluate_slack_true(torch.as_tensor(X, dtype=torch.float64)).numpy()

    return constraint


def _box(names: list[str], low: list[float], high: list[float]) -> tuple[dict, ...]:
    return tuple({"name": n, "low": lo, "high": hi} for n, lo, hi in zip(names, low, high))


_SRC = "botorch.test_functions"


def _unconstrained_problems() -> dict[str, FunctionProblem]:
    """Branin, Hartmann-6, Ackley-5 and Levy-4 by name."""
    from botorch.test_functions import Ackley, Branin, Hartmann, Levy

    return {
        "branin": FunctionProblem(
            name="branin",
            parameters=_box(["x1", "x2"], [-5.0, 0.0], [10.0, 15.0]),
            goal="minimize",
            truth=_truth(Branin()),
            noise_sd=0.5,
            optimum=0.397887,
            optimizer=(-np.pi, 12.275),
            source=f"{_SRC}.Branin",
        ),
        "hartmann6": FunctionProblem(
            name="hartmann6",
            parameters=_box([f"x{i + 1}" for i in range(6)], [0.0] * 6, [1.0] * 6),
            goal="minimize",
            truth=_truth(Hartmann(dim=6)),
            noise_sd=0.05,
            optimum=-3.32237,
            optimizer=(0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573),
            source=f"{_SRC}.Hartmann(dim=6)",
        ),
        "ackley5": FunctionProblem(
            name="ackley5",
            parameters=_box([f"x{i + 1}" for i in range(5)], [-32.768] * 5, [16.384] * 5),
            goal="minimize",
            truth=_truth(Ackley(dim=5)),
            noise_sd=0.1,
            optimum=0.0,
            optimizer=(0.0,) * 5,
            source=f"{_SRC}.Ackley(dim=5)",
            notes="asymmetric box: the optimum is not the centre",
        ),
        "levy4": FunctionProblem(
            name="levy4",
            parameters=_box([f"x{i + 1}" for i in range(4)], [-10.0] * 4, [10.0] * 4),
            goal="minimize",
            truth=_truth(Levy(dim=4)),
            noise_sd=1.0,
            optimum=0.0,
            optimizer=(1.0,) * 4,
            source=f"{_SRC}.Levy(dim=4)",
        ),
    }


def _gramacy_problem() -> FunctionProblem:
    """Gramacy's constrained problem, its two constraints as outcomes ``c1, c2 <= 0``."""
    from botorch.test_functions.synthetic import ConstrainedGramacy

    gramacy = ConstrainedGramacy()
    return FunctionProblem(
        name="gramacy-constrained",
        parameters=_box(["x1", "x2"], [0.0, 0.0], [1.0, 1.0]),
        goal="minimize",
        truth=_truth(gramacy),
        constraint=_slack(gramacy),
        noise_sd=0.01,
        optimum=0.5998,
        optimizer=(0.1954, 0.4044),
        source=f"{_SRC}.synthetic.ConstrainedGramacy",
    )


def synthetic_problems() -> dict[str, FunctionProblem]:
    """The synthetic problems by name (see module docstring)."""
    return {**_unconstrained_problems(), "gramacy-constrained": _gramacy_problem()}
