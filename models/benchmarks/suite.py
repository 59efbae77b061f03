"""The benchmark suite: one table of problems, each marked for tuning, reporting or independent use.

``split``:
- ``tuning``: the problems a default may be chosen on (issue 14: BoTorch's defaults).
- ``reporting``: the problems a default is judged on; never used to choose one.
- ``independent``: reported only, and kept apart from both (the Olympus ``agnp`` data set): a check
  that the reporting problems have not been over-fitted by repeated looks.

``kind``: ``function`` (a :class:`~models.benchmarks.problem.FunctionProblem`, run as an ask/tell loop)
or ``campaign`` (a campaign of ``campaigns/examples/``, run through the simulated rig as ``qdlab bench
--campaign`` does; ``target`` is the campaign's ``reached`` ranges, or for a multi-objective a share of
the hypervolume). ``noise`` says in words what an observation adds to the truth.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from models.benchmarks.problem import FunctionProblem
from models.errors import ConfigurationError

__all__ = ["SuiteEntry", "PROBLEMS", "SUITES", "suite_entries", "function_problem", "SPLITS"]

SPLITS = ("tuning", "reporting", "independent")


@dataclass(frozen=True)
class SuiteEntry:
    """One row of the suite's table. ``campaign``: the example file name (kind ``campaign`` only)."""

    name: str
    kind: str
    dimension: int
    budget: int
    split: str
    target: str
    noise: str
    campaign: str | None = None


_BEST = "best 1 % of the box"
_SIM = "simulated instrument (spectra), precursor lot, drift"

# name, kind, dimension, budget, split, target, noise[, campaign file]
PROBLEMS: tuple[SuiteEntry, ...] = (
    # tuning: two synthetic shapes (smooth 2-D, multimodal 6-D), one real-data flow reaction, one campaign
    SuiteEntry("branin", "function", 2, 30, "tuning", _BEST, "Gaussian, sd 0.5"),
    SuiteEntry("hartmann6", "function", 6, 60, "tuning", _BEST, "Gaussian, sd 0.05"),
    SuiteEntry("snar", "function", 4, 40, "tuning", _BEST, "Gaussian, sd of the emulator's residuals"),
    SuiteEntry("cdse-green", "campaign", 4, 30, "tuning", "reached ranges", _SIM, "cdse-green.toml"),
    # reporting: other shapes, a constraint, another reaction, every other material and campaign type
    SuiteEntry("ackley5", "function", 5, 60, "reporting", _BEST, "Gaussian, sd 0.1"),
    SuiteEntry("levy4", "function", 4, 50, "reporting", _BEST, "Gaussian, sd 1.0"),
    SuiteEntry(
        "gramacy-constrained",
        "function",
        2,
        40,
        "reporting",
        _BEST + " (feasible part)",
        "Gaussian, sd 0.01; constraints noise-free",
    ),
    SuiteEntry("suzuki", "function", 4, 40, "reporting", _BEST, "Gaussian, sd of the emulator's residuals"),
    SuiteEntry("pbs-swir", "campaign", 4, 30, "reporting", "reached ranges", _SIM, "pbs-swir.toml"),
    SuiteEntry(
        "cdse-clog", "campaign", 4, 30, "reporting", "reached ranges", _SIM + "; clogging", "cdse-clog.toml"
    ),
    SuiteEntry(
        "cdse-pareto",
        "campaign",
        4,
        30,
        "reporting",
        "90 % of the Sobol front's hypervolume",
        _SIM,
        "cdse-pareto.toml",
    ),
    SuiteEntry("inp-red", "campaign", 4, 30, "reporting", "reached ranges", _SIM, "inp-red.toml"),
    SuiteEntry("cspbbr3-green", "campaign", 4, 30, "reporting", "reached ranges", _SIM, "cspbbr3-green.toml"),
    # independent: reported apart, never tuned on
    SuiteEntry("agnp", "function", 5, 40, "independent", _BEST, "Gaussian, sd of the emulator's residuals"),
    # smoke: tiny problems for the tests (not part of any split's figures)
    SuiteEntry("smoke-branin", "function", 2, 8, "smoke", _BEST, "Gaussian, sd 0.5"),
    SuiteEntry("smoke-gramacy", "function", 2, 6, "smoke", _BEST + " (feasible part)", "Gaussian, sd 0.01"),
)

SUITES: dict[str, tuple[str, ...]] = {
    **{split: tuple(e.name for e in PROBLEMS if e.split == split) for split in SPLITS},
    "all": tuple(e.name for e in PROBLEMS if e.split in SPLITS),
    "functions": tuple(e.name for e in PROBLEMS if e.split in SPLITS and e.kind == "function"),
    "smoke": tuple(e.name for e in PROBLEMS if e.split == "smoke"),
}

_BY_NAME = {e.name: e for e in PROBLEMS}


def suite_entries(selection: str) -> list[SuiteEntry]:
    """A suite by name (``SUITES``) or a comma-separated list of problem names; ConfigurationError otherwise."""
    if selection in SUITES:
        return [_BY_NAME[n] for n in SUITES[selection]]
    names = [n.strip() for n in selection.split(",") if n.strip()]
    unknown = [n for n in names if n not in _BY_NAME]
    if unknown or not names:
        raise ConfigurationError(
            f"unknown suite or problem {', '.join(unknown) or repr(selection)}; suites: {', '.join(SUITES)}; "
            f"problems: {', '.join(_BY_NAME)}",
            source="--suite",
        )
    return [_BY_NAME[n] for n in dict.fromkeys(names)]


@functools.lru_cache(maxsize=None)
def function_problem(name: str) -> FunctionProblem:
    """The :class:`FunctionProblem` of a ``function`` entry (smoke problems reuse their full-size function)."""
    from models.benchmarks.emulators import DATASETS, emulator_problem
    from models.benchmarks.synthetic import synthetic_problems

    base = name.removeprefix("smoke-")
    if base in DATASETS:
        return emulator_problem(base)
    synthetic = synthetic_problems()
    if base == "gramacy":
        base = "gramacy-constrained"
    if base not in synthetic:
        raise ConfigurationError(f"{name!r} is not a function problem", source="--suite")
    return synthetic[base]
