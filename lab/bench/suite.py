"""``qdlab bench --suite NAME``: every strategy on every problem of a suite, in simulated time, on Dask.

A ``function`` problem (``models.benchmarks``) runs as the ask/tell loop: ``make_optimizer`` proposes
one point at a time, the problem observes it with its noise, the optimiser ingests the row. The
optimiser's seed and the noise stream are functions of (problem, repeat) only, so every strategy
meets the same noise: experiment k of repeat r adds the same standard normal to whatever point a
strategy chose. A ``campaign`` problem runs as ``qdlab bench --campaign`` does (``lab.bench.campaign``).

Figures per (problem, strategy), all judged on the noise-free truth of the conditions run:
experiments to target (the first experiment whose true value reaches the target; unreached counts
as budget + 1 in the median), success rate, the true value of the incumbent (the best *observed*
feasible experiment) at the budget, seconds per proposal, and against the references ``sobol`` and
``random`` the acceleration and enhancement factors (:func:`acceleration_factor`,
:func:`enhancement_factor`; docs/benchmarks.md).
"""

from __future__ import annotations

import json
import math
import statistics
import time
import zlib
from typing import Any

from lab.bench.campaign import bench_task, dask_client, summarise
from models.benchmarks import SuiteEntry, function_problem, suite_entries
from models.errors import ConfigurationError

__all__ = [
    "function_task",
    "run_suite",
    "acceleration_factor",
    "enhancement_factor",
    "markdown_table",
    "REFERENCES",
]

REFERENCES = ("sobol", "random")
_HV_SHARE = 0.9  # a multi-objective campaign's target: this share of the Sobol sample's front's hypervolume
_CAMPAIGN_SAMPLE = 1024  # Sobol points of a campaign's box for its median and its hypervolume target


def _problem_seed(name: str, repeat: int, stream: int) -> int:
    from models.optimizers.base import derive_seed

    return derive_seed(zlib.crc32(name.encode()), repeat, stream)


def function_task(
    name: str,
    strategy: str,
    repeat: int,
    budget: int,
    options: dict[str, Any] | None = None,
    stop_at_target: bool = False,
) -> dict[str, Any]:
    """One ask/tell run of function problem ``name`` (module docstring); the shape of ``lab.bench.campaign.bench_task``.

    ``options`` are the strategy's (``make_optimizer(..., options=)``; None: the defaults a campaign gets);
    ``stop_at_target`` ends the run at the first experiment on target (``lab.bench.tune``: a candidate
    default is judged by experiments to target, and the rest of the budget would tell nothing more)."""
    import numpy as np

    from lab.run.runtime import configure_numerics
    from models.objectives import incumbent_trace

    configure_numerics()
    problem = function_problem(name)
    seed = _problem_seed(name, repeat, 0)
    normals = np.random.default_rng(_problem_seed(name, repeat, 1)).standard_normal(budget)
    optimizer = _optimizer(problem, strategy, seed, options)
    _warm_up(problem, strategy, seed, options)
    started = time.perf_counter()
    latencies, rows, true_values = [], [], []
    first = None
    for k in range(budget):
        t0 = time.perf_counter()
        point = optimizer.suggest(1)[0]
        latencies.append(time.perf_counter() - t0)
        X = problem.to_array([point])
        truth, feasible = float(problem.evaluate_true(X)[0]), bool(problem.feasible(X)[0])
        row = problem.observe(X, normals[k : k + 1])[0]
        optimizer.ingest([row])
        rows.append(row)
        true_values.append(truth)
        if feasible and first is None and problem.reached(truth):
            first = k + 1
            if stop_at_target:
                break
    # the incumbent (models.objectives.incumbent) of the observed rows (constraints observed noise-free),
    # scored on its true value
    positions = incumbent_trace(optimizer.objective, rows, optimizer.outcome_constraints)
    trace = [None if k is None else true_values[k] for k in positions]
    return {
        "strategy": strategy,
        "repeat": repeat,
        "seed": seed,
        "experiments_to_target": first,
        "best_true": trace[-1],
        "best_true_trace": trace,
        "proposal_latency_s": latencies,
        "failures": 0,
        "wall_s": time.perf_counter() - started,
        "n_experiments": len(rows),
        "mean_true_objective": float(np.mean(true_values)),
    }


def _optimizer(problem, strategy: str, seed: int, options: dict[str, Any] | None = None):
    """A fresh optimiser for function ``problem``, with the defaults a campaign gets (or ``options``)."""
    from models.optimizers import make_optimizer

    return make_optimizer(
        strategy,
        parameters=list(problem.parameters),
        objective=problem.objective_spec(),
        seed=seed,
        outcome_constraints=problem.outcome_constraints() or None,
        outcomes=problem.outcomes(),
        options=options,
    )


def _warm_up(problem, strategy: str, seed: int, options: dict[str, Any] | None = None) -> None:
    """One untimed proposal from a throwaway optimiser that holds 2d + 2 observations, so that the timed
    proposals do not pay a fresh worker's one-off costs (lazy imports, first model fit), as a lab's
    long-running controller would not."""
    import numpy as np

    from models.benchmarks.problem import space_sample

    n = 2 * problem.dimension + 2
    X = space_sample(problem.low, problem.high, 64)[-n:]
    warm = _optimizer(problem, strategy, seed, options)
    warm.ingest(problem.observe(X, np.zeros(n)))
    warm.suggest(1)


# ----------------------------------------------------------------------------------------- metrics
def _median_trace(traces: list[list[float | None]], sign: float, budget: int) -> list[float]:
    """Median over repeats of the oriented (higher is better) best-so-far value at experiments 1..budget;
    no value yet (or a run that stopped early, carried forward) counts as -inf."""
    rows = []
    for t in traces:
        t = list(t) + [t[-1] if t else None] * (budget - len(t))
        rows.append([-math.inf if v is None else sign * v for v in t[:budget]])
    return [statistics.median(col) for col in zip(*rows)] if rows else []


def _first_at_least(trace: list[float], level: float) -> int | None:
    return next((i + 1 for i, v in enumerate(trace) if v >= level), None)


def acceleration_factor(algorithm: list[float], reference: list[float], budget: int) -> float | None:
    """AF = n_ref / n_alg: experiments the reference needs to reach y_AF over those the algorithm needs,
    with y_AF the best value the reference's median trace reaches within the budget (traces: median,
    oriented so higher is better). An algorithm that never reaches y_AF counts budget + 1 experiments.
    None when the reference reaches nothing."""
    if not reference or not math.isfinite(reference[-1]):
        return None
    level = reference[-1]
    n_ref = _first_at_least(reference, level)
    n_alg = _first_at_least(algorithm, level) or budget + 1
    return n_ref / n_alg


def enhancement_factor(algorithm: list[float], reference: list[float], median: float) -> float | None:
    """EF = (y_alg(n) - y_med) / (y_ref(n) - y_med) at n = the budget: how much more of the way up from the
    median of the space the algorithm got than the reference (oriented median traces). None when the
    reference is not above the median, or either trace has no value."""
    if (
        not algorithm
        or not reference
        or not all(math.isfinite(v) for v in (algorithm[-1], reference[-1], median))
    ):
        return None
    gain = reference[-1] - median
    return (algorithm[-1] - median) / gain if gain > 0 else None


# -------------------------------------------------------------------------------- campaign problems
def _campaign_inputs(entry: SuiteEntry) -> tuple[Any, Any]:
    from lab.config.files import EXAMPLES, load_campaign, load_lab

    spec = load_campaign(EXAMPLES["campaigns"] / entry.campaign)
    return spec, load_lab(EXAMPLES["lab"] / f"sim-{spec.material.lower()}.toml")


def _campaign_space(spec, lab) -> dict[str, float | None]:
    """The median of a campaign's true objective over a Sobol sample of its box and, for a multi-objective,
    the hypervolume target (``_HV_SHARE`` of the sample front's); failures and infeasible points excluded."""
    from campaigns.conditions import to_setpoints
    from campaigns.preflight import sample_points
    from lab.bench.campaign import _true_outcomes
    from models.objectives import MultiObjective

    objective = spec.parsed_objective
    stocks = lab.stocks_mM
    points = sample_points(spec, _CAMPAIGN_SAMPLE, corners=False)
    setpoints = []
    for values in points:
        try:
            setpoints.append(
                to_setpoints(
                    values, kind=spec.search.kind, reactor_volume_ul=lab.reactor.volume, stocks_mM=stocks
                ).as_dict()
            )
        except ValueError:  # outside what the stocks allow: no experiment there
            continue
    truth = _true_outcomes(spec.material, lab, setpoints)
    if isinstance(objective, MultiObjective):
        from models.benchmarks.hypervolume import hypervolume_trace

        front = hypervolume_trace(objective, spec.outcome_constraints, truth)
        return {"median": 0.0, "hv_target": _HV_SHARE * front[-1], "sample_hypervolume": front[-1]}
    values = [v for v in (objective.value(t) for t in truth) if v is not None]
    return {"median": statistics.median(values) if values else None, "hv_target": None}


# ------------------------------------------------------------------------------------------ runner
def _skip_reason(entry: SuiteEntry, strategy: str, spec=None) -> str | None:
    """Why ``strategy`` cannot run on ``entry`` (not installed, multi-objective, outcome constraints), or None."""
    try:
        if entry.kind == "campaign":
            from campaigns.strategy import optimizer_for

            optimizer_for(spec, strategy=strategy)
        else:
            from models.optimizers import make_optimizer

            p = function_problem(entry.name)
            make_optimizer(
                strategy,
                parameters=list(p.parameters),
                objective=p.objective_spec(),
                outcome_constraints=p.outcome_constraints() or None,
                outcomes=p.outcomes(),
            )
    except ConfigurationError as exc:
        return str(exc)
    return None


def _problem(entry: SuiteEntry, budget: int) -> tuple[dict[str, Any], Any, tuple, Any]:
    """A problem's facts, the task that runs one campaign of it and that task's leading arguments:
    ``(info, task, args, spec)`` (``spec``: the campaign of a campaign problem, else None)."""
    info: dict[str, Any] = {
        "kind": entry.kind,
        "split": entry.split,
        "dimension": entry.dimension,
        "budget": budget,
        "noise": entry.noise,
        "target_rule": entry.target,
        "skipped": {},
    }
    if entry.kind == "function":
        p = function_problem(entry.name)
        info.update(
            goal=p.goal,
            sign=p.sign,
            target=p.target,
            median=p.space_median,
            optimum=p.optimum,
            noise_sd=p.noise_sd,
            source=p.source,
        )
        return info, function_task, (entry.name,), None
    from lab.config.files import campaign_to_data, lab_to_data

    spec, lab = _campaign_inputs(entry)
    space = _campaign_space(spec, lab)
    info.update(
        goal="maximize",
        sign=1.0,
        target=space["hv_target"],
        median=space["median"],
        campaign=entry.campaign,
        material=spec.material,
    )
    spec_data = json.loads(json.dumps(campaign_to_data(spec)))
    lab_data = json.loads(json.dumps(lab_to_data(lab)))
    return info, bench_task, (spec_data, lab_data), spec


def _plan(entries: list[SuiteEntry], strategies: list[str], repeats: int, budget: int | None):
    """Each problem's facts (a strategy it cannot take under ``skipped``) and every job:
    ``(problems, jobs)``, a job being ``(problem, strategy, repeat, task, args)``."""
    problems: dict[str, dict[str, Any]] = {}
    jobs = []
    for entry in entries:
        b = budget or entry.budget
        info, task, args, spec = _problem(entry, b)
        for s in strategies:
            reason = _skip_reason(entry, s, spec)
            if reason:
                info["skipped"][s] = reason
                continue
            for r in range(repeats):
                extra = (b,) if entry.kind == "function" else (b, None, info["target"])
                jobs.append((entry.name, s, r, task, (*args, s, r, *extra)))
        problems[entry.name] = info
    return problems, jobs


def _run_jobs(
    jobs: list, names, scheduler: str | None, workers: int, on_done
) -> dict[str, list[dict[str, Any]]]:
    """Every job on one Dask cluster; the results by problem, in the order they finished."""
    from dask.distributed import as_completed

    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    with dask_client(scheduler, workers) as client:
        futures = {
            client.submit(task, *args, pure=False, key=f"suite-{name}-{s}-{r}"): name
            for name, s, r, task, args in jobs
        }
        for future in as_completed(futures):
            result = {"problem": futures[future], **future.result()}
            runs[result["problem"]].append(result)
            if on_done:
                on_done(result)
    return runs


def run_suite(
    selection: str,
    *,
    strategies: list[str],
    repeats: int,
    budget: int | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    on_done=None,
) -> dict[str, Any]:
    """Every (problem, strategy, repeat) of suite ``selection`` on one Dask cluster, then the figures.

    ``budget`` overrides each problem's own. Strategies a problem cannot take are listed under
    ``skipped`` with the reason. Returns JSON-able data: ``problems[name]`` with the problem's facts,
    ``strategies`` (per-strategy figures) and ``runs``.
    """
    entries = suite_entries(selection)
    started = time.perf_counter()
    problems, jobs = _plan(entries, strategies, repeats, budget)
    runs = _run_jobs(jobs, problems, scheduler, workers, on_done)
    for name, info in problems.items():
        info["strategies"] = _figures(info, runs[name], strategies)
        info["runs"] = sorted(runs[name], key=lambda r: (r["strategy"], r["repeat"]))
    return {
        "suite": selection,
        "strategies": strategies,
        "repeats": repeats,
        "budget_override": budget,
        "references": list(REFERENCES),
        "wall_s": time.perf_counter() - started,
        "problems": problems,
    }


def _figures(info: dict[str, Any], runs: list[dict[str, Any]], order: list[str]) -> dict[str, Any]:
    budget, sign = info["budget"], info["sign"]
    ran = summarise(runs, budget=budget) if runs else {}
    out = {s: ran[s] for s in order if s in ran}
    traces = {
        s: _median_trace([r["best_true_trace"] for r in runs if r["strategy"] == s], sign, budget)
        for s in out
    }
    median = None if info.get("median") is None else sign * info["median"]
    for s, figures in out.items():
        figures["success_rate"] = figures["reached"] / len(figures["experiments_to_target"])
        figures["median_best_true_trace"] = [None if not math.isfinite(v) else sign * v for v in traces[s]]
        for ref in REFERENCES:
            if ref in traces:
                figures[f"af_vs_{ref}"] = acceleration_factor(traces[s], traces[ref], budget)
                figures[f"ef_vs_{ref}"] = (
                    None if median is None else enhancement_factor(traces[s], traces[ref], median)
                )
    return out


# ------------------------------------------------------------------------------------------ output
def _f(x: Any, digits: int = 3) -> str:
    from lab.view.console import fmt

    return fmt(x, digits)


def markdown_table(result: dict[str, Any]) -> str:
    """The suite's figures as one markdown table (and the skipped strategies with their reasons)."""
    lines = [
        f"Suite `{result['suite']}`: {result['repeats']} repeats, {result['wall_s']:.0f} s wall.",
        "",
        "| problem | split | d | budget | target | strategy | median exp. to target | success | "
        "median best true | AF vs sobol | AF vs random | EF vs sobol | EF vs random | proposal s p50 | p95 |",
        "|" + "---|" * 15,
    ]
    skipped = []
    for name, p in result["problems"].items():
        for s, f in p["strategies"].items():
            lat = f["proposal_latency_s"]
            lines.append(
                f"| {name} | {p['split']} | {p['dimension']} | {p['budget']} | {_f(p['target'], 4)} | {s} | "
                f"{_f(f['median_experiments_to_target'])} | {f['reached']}/{len(f['experiments_to_target'])} | "
                f"{_f(f['median_best_true'], 4)} | {_f(f.get('af_vs_sobol'))} | {_f(f.get('af_vs_random'))} | "
                f"{_f(f.get('ef_vs_sobol'))} | {_f(f.get('ef_vs_random'))} | {_f(lat['p50'], 2)} | "
                f"{_f(lat['p95'], 2)} |"
            )
        skipped += [f"- {name}, {s}: {why}" for s, why in p["skipped"].items()]
    if skipped:
        lines += ["", "Skipped:", *skipped]
    return "\n".join(lines) + "\n"


def strategy_names(strategies: str) -> list[str]:
    """The comma-separated strategies of ``--strategies``, each one known (else one line)."""
    from models.optimizers import STRATEGIES

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown or not names:
        raise ConfigurationError(
            f"unknown strategy {', '.join(unknown) or '(none)'}; known: {', '.join(STRATEGIES)}",
            source="--strategies",
        )
    return names


def suite_command(
    selection: str,
    *,
    strategies: str,
    repeats: int,
    budget: int | None,
    scheduler: str | None,
    workers: int,
    out,
    json_out: bool,
) -> None:
    """``qdlab bench --suite``: progress on stderr, the table; with ``out`` (a .json path) also the .md and
    .png beside it; with ``json_out`` the figures (without the runs) on stdout."""
    from lab.view.console import emit_json, err
    from lab.view.console import out as out_console

    entries = suite_entries(selection)  # a bad name is one line before any worker starts
    names = strategy_names(strategies)
    result = _run_with_progress(
        selection, len(entries), names, repeats=repeats, budget=budget, scheduler=scheduler, workers=workers
    )
    table = markdown_table(result)
    console = err if json_out else out_console
    console.print(table, markup=False, highlight=False, soft_wrap=True)
    if out:
        _write_out(result, table, out, console)
    if json_out:
        emit_json(
            {
                **result,
                "problems": {
                    n: {k: v for k, v in p.items() if k != "runs"} for n, p in result["problems"].items()
                },
            }
        )


def _run_with_progress(selection: str, n_entries: int, names: list[str], *, repeats: int, **options):
    """:func:`run_suite` under a progress bar, one step per campaign (skipped ones at the end)."""
    from lab.view.console import campaign_progress, target_status

    with campaign_progress() as progress:
        task = progress.add_task(f"suite {selection}", total=n_entries * len(names) * repeats, status="")

        def on_done(r: dict) -> None:
            label = f"{r['problem']} {r['strategy']} #{r['repeat']}"
            progress.update(task, advance=1, status=target_status(label, r["experiments_to_target"]))

        result = run_suite(selection, strategies=names, repeats=repeats, on_done=on_done, **options)
        skipped_runs = sum(len(p["skipped"]) for p in result["problems"].values()) * repeats
        progress.update(task, advance=skipped_runs)
    return result


def _write_out(result: dict[str, Any], table: str, out, console) -> None:
    """``out`` (JSON), and beside it the markdown table and the figure."""
    from lab.bench.plot import plot_suite

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    out.with_suffix(".md").write_text(table)
    plot_suite(result, out.with_suffix(".png"))
    console.print(
        f"wrote {out}, {out.with_suffix('.md')} and {out.with_suffix('.png')}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
