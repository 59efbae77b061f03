"""Candidate defaults of a strategy, judged on the suite's tuning problems only (docs/adr/0004).

``python -m lab.bench.tune --candidate NAME='{"num_restarts": 8}' [--candidate ...] [--problems
branin,snar,hartmann6] [--repeats 8] [--workers 2] [--strategy botorch] [--budget N] [--out
PATH.json]`` runs each candidate's
options through the ask/tell loop of ``qdlab bench --suite`` (:func:`lab.bench.suite.function_task`:
the same problem seeds and noise streams, so candidates meet the same noise), each run stopped at
its first experiment on target, and prints per problem the experiments to target of every repeat
and their median (an unreached run counts budget + 1). ``default`` (``{}``) is always run first.

Only function problems of the ``tuning`` split are accepted: a default is chosen where it will not
be reported (``models/benchmarks/suite.py`` states the split), so asking for a reporting problem is
refused in one line with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from models.benchmarks import suite_entries
from models.errors import ConfigurationError

__all__ = ["tune", "markdown"]

DEFAULT_PROBLEMS = "branin,snar,hartmann6"


def _tuning_entries(problems: str):
    entries = suite_entries(problems)
    wrong = [e.name for e in entries if e.split != "tuning" or e.kind != "function"]
    if wrong:
        raise ConfigurationError(
            f"{', '.join(wrong)}: not a function problem of the tuning split; allowed: "
            + ", ".join(e.name for e in suite_entries("tuning") if e.kind == "function"),
            source="--problems",
        )
    return entries


def _check_candidates(candidates: dict[str, dict[str, Any]], problem: str, strategy: str) -> None:
    """Each candidate's optimiser built once, so an unknown strategy or option is one ConfigurationError
    here, not a traceback from a worker process."""
    from lab.bench.suite import _optimizer
    from models.benchmarks import function_problem

    for label, options in candidates.items():
        try:
            _optimizer(function_problem(problem), strategy, 0, options)
        except ConfigurationError as exc:
            raise ConfigurationError(str(exc), source=f"--candidate {label}") from exc


def _run(args: tuple) -> tuple[str, str, int, int | None, list[float]]:
    from lab.bench.suite import function_task

    label, options, name, strategy, repeat, budget = args
    r = function_task(name, strategy, repeat, budget, options=options, stop_at_target=True)
    return label, name, repeat, r["experiments_to_target"], r["proposal_latency_s"]


def tune(
    candidates: dict[str, dict[str, Any]],
    *,
    problems: str = DEFAULT_PROBLEMS,
    repeats: int = 8,
    strategy: str = "botorch",
    workers: int = 2,
    budget: int | None = None,
    on_done=None,
) -> dict[str, Any]:
    """Experiments to target of every (candidate, problem, repeat) (``budget`` overrides each
    problem's own); JSON-able:
    ``{"problems": {name: budget}, "candidates": {label: {"options", "results": {name: [n, ...]},
    "medians": {name: m}, "latency_p95_s"}}}`` (unreached: budget + 1)."""
    entries = _tuning_entries(problems)
    _check_candidates(candidates, entries[0].name, strategy)
    budgets = {e.name: budget or e.budget for e in entries}
    jobs = [
        (label, options, e.name, strategy, r, budgets[e.name])
        for label, options in candidates.items()
        for e in entries
        for r in range(repeats)
    ]
    found: dict[tuple[str, str, int], int] = {}
    latencies: dict[str, list[float]] = {label: [] for label in candidates}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for label, name, repeat, first, lat in pool.map(_run, jobs):
            found[label, name, repeat] = budgets[name] + 1 if first is None else first
            latencies[label] += lat
            if on_done:
                on_done(label, name, repeat, found[label, name, repeat])
    out: dict[str, Any] = {"problems": budgets, "repeats": repeats, "strategy": strategy, "candidates": {}}
    for label, options in candidates.items():
        results = {n: [found[label, n, r] for r in range(repeats)] for n in budgets}
        lat = sorted(latencies[label])
        out["candidates"][label] = {
            "options": options,
            "results": results,
            "medians": {n: statistics.median(v) for n, v in results.items()},
            "latency_p95_s": lat[int(0.95 * (len(lat) - 1))] if lat else None,
        }
    return out


def markdown(result: dict[str, Any]) -> str:
    names = list(result["problems"])
    head = "| candidate | options | " + " | ".join(f"{n} (per repeat; median)" for n in names) + " | p95 s |"
    lines = [head, "|" + "---|" * (len(names) + 3)]
    for label, c in result["candidates"].items():
        cells = [f"{' '.join(map(str, c['results'][n]))}; **{c['medians'][n]:g}**" for n in names]
        p95 = c["latency_p95_s"]
        lines.append(
            f"| {label} | `{json.dumps(c['options'])}` | "
            + " | ".join(cells)
            + f" | {'-' if p95 is None else f'{p95:.2f}'} |"
        )
    return "\n".join(lines)


def _candidate(text: str) -> tuple[str, dict[str, Any]]:
    label, sep, options = text.partition("=")
    try:
        parsed = json.loads(options) if sep else None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{label}: options are not JSON ({exc.msg})", source="--candidate") from exc
    if not label or not isinstance(parsed, dict):
        raise ConfigurationError(
            f"{text!r}: expected NAME='{{\"option\": value}}' (a JSON object)", source="--candidate"
        )
    return label, parsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab.bench.tune", description=__doc__.splitlines()[0])
    ap.add_argument("--candidate", action="append", default=[], help="NAME='{json options}'")
    ap.add_argument("--problems", default=DEFAULT_PROBLEMS)
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--strategy", default="botorch")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--budget", type=int, help="override each problem's budget")
    ap.add_argument("--out", help="write the JSON result here")
    a = ap.parse_args(argv)
    try:
        for flag, value in (
            ("--repeats", a.repeats),
            ("--workers", a.workers),
            ("--budget", 1 if a.budget is None else a.budget),
        ):
            if value < 1:
                raise ConfigurationError(f"{value}: must be at least 1", source=flag)
        candidates = {"default": {}, **dict(_candidate(c) for c in a.candidate)}
        _check_candidates(candidates, _tuning_entries(a.problems)[0].name, a.strategy)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def progress(label, name, repeat, n):
        print(f"{label} {name} repeat {repeat}: {n}", file=sys.stderr, flush=True)

    result = tune(
        candidates,
        problems=a.problems,
        repeats=a.repeats,
        strategy=a.strategy,
        workers=a.workers,
        budget=a.budget,
        on_done=progress,
    )
    if a.out:
        with open(a.out, "w") as f:
            json.dump(result, f, indent=1)
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
