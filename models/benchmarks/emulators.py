"""Real-data emulators: Gaussian processes fitted to public experimental data sets of synthesis.

The data are from the Olympus collection (Häse et al., Olympus: a benchmarking framework for noisy
optimization and experiment planning, Mach. Learn.: Sci. Technol. 2, 035021 (2021);
github.com/aspuru-guzik-group/olympus, MIT licence), vendored in ``data/`` (see ``data/README.md``):

- ``snar``: e-factor (minimise) of a nucleophilic aromatic substitution in a flow reactor, 66
  experiments over residence time, morpholine equivalents, concentration and temperature
  (Schweidtmann et al., Chem. Eng. J. 352, 277 (2018)).
- ``suzuki``: yield (%, maximise) of a Pd-catalysed Suzuki coupling, 247 experiments over temperature,
  catalyst loading, boronate and base equivalents (as in Olympus; Reizman et al., React. Chem. Eng. 1,
  658 (2016) for the Suzuki sets).
- ``agnp``: absorbance-spectrum score (maximise) of silver nanoparticles from a droplet-flow platform,
  164 experiments over four flow-rate ratios and the total flow (Mekki-Berrada et al., npj Comput.
  Mater. 7, 55 (2021)). Reserved for independent evaluation: never a tuning problem.

The emulator (Olympus uses Bayesian neural networks; here scikit-learn): a GP with a constant times
an ARD Matern-5/2 kernel plus white noise on inputs scaled to [0, 1] by the data set's box and
standardised outputs. Its kernel hyperparameters were fitted once by maximum likelihood
(``fit_hyperparameters``; ``python -m models.benchmarks.emulators`` prints them) and are stated
below, so loading an emulator is one Cholesky factorisation (milliseconds) and deterministic. The
GP's posterior mean is the truth; the noise sd is the sd of the training residuals
(data - mean), in objective units.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.benchmarks.problem import FunctionProblem

__all__ = [
    "EmulatorData",
    "DATASETS",
    "load_data",
    "emulator_problem",
    "emulator_problems",
    "fit_hyperparameters",
]

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class EmulatorData:
    """One data set: its file, goal, box (from the Olympus config) and the fitted kernel.

    ``kernel``: (constant, length scales on [0, 1] inputs, white-noise level), on standardised outputs.
    """

    name: str
    file: str
    goal: str
    low: tuple[float, ...]
    high: tuple[float, ...]
    kernel: tuple[float, tuple[float, ...], float]
    source: str


DATASETS: dict[str, EmulatorData] = {
    d.name: d
    for d in (
        EmulatorData(
            "snar",
            "snar.csv",
            "minimize",
            (0.5, 1.0, 0.1, 60.0),
            (2.0, 5.0, 0.5, 140.0),
            (10.3, (2.15, 1.97, 1.41, 1.5), 2.62e-4),
            "Olympus dataset_snar (Schweidtmann et al., Chem. Eng. J. 352, 277 (2018))",
        ),
        EmulatorData(
            "suzuki",
            "suzuki.csv",
            "maximize",
            (75.0, 0.5, 1.0, 1.5),
            (90.0, 5.0, 1.8, 3.0),
            (2.19, (0.977, 1.07, 6.28, 0.78), 0.0228),
            "Olympus dataset_suzuki (Reizman et al., React. Chem. Eng. 1, 658 (2016))",
        ),
        EmulatorData(
            "agnp",
            "agnp.csv",
            "maximize",
            (4.53, 9.999518096, 0.5, 0.498851653, 200.0),
            (42.80981595, 40.00101474, 30.5, 19.5, 983.0),
            (2.56, (0.935, 100.0, 0.819, 0.358, 4.27), 0.0322),
            "Olympus dataset_agnp (Mekki-Berrada et al., npj Comput. Mater. 7, 55 (2021))",
        ),
    )
}


def load_data(name: str) -> tuple[list[str], np.ndarray, np.ndarray, str]:
    """(parameter names, ``n x d`` conditions, ``n`` measured values, outcome name) of a data set."""
    with open(DATA / DATASETS[name].file, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], np.array(rows[1:], dtype=float)
    return header[:-1], body[:, :-1], body[:, -1], header[-1]


def _kernel(constant: float, length_scales: tuple[float, ...], noise: float, *, fixed: bool):
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    return ConstantKernel(constant, "fixed" if fixed else (1e-2, 1e2)) * Matern(
        list(length_scales),  # pyright: ignore[reportArgumentType] - sklearn takes one scale per dimension
        "fixed" if fixed else (1e-2, 1e2),
        nu=2.5,
    ) + WhiteKernel(noise, "fixed" if fixed else (1e-6, 1.0))


def _unit(spec: EmulatorData, X: np.ndarray) -> np.ndarray:
    low, high = np.array(spec.low), np.array(spec.high)
    return (np.asarray(X, dtype=float) - low) / (high - low)


@functools.lru_cache(maxsize=None)
def _gp(name: str):
    from sklearn.gaussian_process import GaussianProcessRegressor

    spec = DATASETS[name]
    _, X, y, _ = load_data(name)
    constant, scales, noise = spec.kernel
    gp = GaussianProcessRegressor(
        _kernel(constant, scales, noise, fixed=True),
        normalize_y=True,
        optimizer=None,  # pyright: ignore[reportArgumentType] - None (keep the kernel) is documented
    )
    return gp.fit(_unit(spec, X), y)


def fit_hyperparameters(name: str, *, restarts: int = 3):
    """Maximum-likelihood kernel of data set ``name`` (slow: seconds); returns the fitted sklearn kernel."""
    from sklearn.gaussian_process import GaussianProcessRegressor

    spec = DATASETS[name]
    _, X, y, _ = load_data(name)
    gp = GaussianProcessRegressor(
        _kernel(1.0, (1.0,) * X.shape[1], 1e-2, fixed=False),
        normalize_y=True,
        n_restarts_optimizer=restarts,
        random_state=0,
    )
    return gp.fit(_unit(spec, X), y).kernel_


def emulator_problem(name: str) -> FunctionProblem:
    """The benchmark problem of data set ``name``: the GP mean as truth, residual sd as noise."""
    spec = DATASETS[name]
    names, X, y, outcome = load_data(name)
    gp = _gp(name)

    def truth(Z: np.ndarray) -> np.ndarray:
        return np.asarray(gp.predict(_unit(spec, Z)), dtype=float)  # the mean only (no return_std)

    residual_sd = float(np.std(y - truth(X)))
    return FunctionProblem(
        name=name,
        parameters=tuple({"name": n, "low": lo, "high": hi} for n, lo, hi in zip(names, spec.low, spec.high)),
        goal=spec.goal,
        truth=truth,
        noise_sd=residual_sd,
        source=spec.source,
        notes=f"GP emulator of {len(y)} experiments; objective: {outcome}",
    )


def emulator_problems() -> dict[str, FunctionProblem]:
    return {name: emulator_problem(name) for name in DATASETS}


if __name__ == "__main__":  # refit the stated hyperparameters (python -m models.benchmarks.emulators)
    import warnings

    warnings.simplefilter("ignore")
    for _name in DATASETS:
        print(_name, fit_hyperparameters(_name))
