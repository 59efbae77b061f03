"""Benchmark problems with known optima or targets and a noise model: synthetic functions, real-data
emulators, and the suite's table (which problems tune, which report). Pure functions: no clock, no
devices, no bluesky; the runner is ``lab.bench.suite``."""

from models.benchmarks.problem import FunctionProblem
from models.benchmarks.suite import PROBLEMS, SPLITS, SUITES, SuiteEntry, function_problem, suite_entries

__all__ = [
    "FunctionProblem",
    "SuiteEntry",
    "PROBLEMS",
    "SUITES",
    "SPLITS",
    "suite_entries",
    "function_problem",
]
