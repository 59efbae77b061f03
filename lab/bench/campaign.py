"""``qdlab bench``: strategies compared on simulated campaigns, in simulated time, in parallel on Dask.

Each (strategy, repeat) is one whole campaign: the built-in simulator runs through the same devices,
plans and log as ``qdlab run --sim`` (in a scratch directory). Targets and ``best_true`` are
judged on the noise-free steady state (``evaluate_true``) of the conditions actually run, so a lucky
noisy measurement does not count as success. A user's ``--reactor-model PATH.py:FUNC`` replaces the
spectra: the same campaign runs, and its outcomes come from ``FUNC`` (which is then also the truth).
"""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from campaigns.spec import CampaignSpec
from lab.config.lab_toml import LabConfig
from lab.config.files import campaign_to_data, lab_to_data
from lab.run.user_model import load_reactor_model

__all__ = ["bench_task", "run_bench", "summarise", "dask_client"]


def _true_outcomes(
    material: str, lab: LabConfig, setpoints: list[dict[str, Any]], world: Any | None = None
) -> list[dict[str, Any]]:
    """Noise-free steady state at each set point (``Setpoints.as_dict()``); figures that do not exist
    are None. With ``world``, that simulated world's chemistry (its precursor lot: what the campaign's
    instrument measured, without noise); without, this lab's reactor and nominal stocks."""
    import simulators

    conditions = [
        {"temperature": sp["temperature_c"], **{f"flow_{r}": q for r, q in sp["flows_ul_min"].items()}}
        for sp in setpoints
    ]
    if world is not None:
        many = world.evaluate_many(conditions)
    else:
        many = simulators.evaluate_many(
            material,
            conditions,
            reactor=lab.reactor.geometry(),
            stocks_mM=lab.stocks_mM,
        )
    rows = []
    for i in range(len(conditions)):
        row = {}
        for k, v in many.items():
            value = v[i].item() if hasattr(v[i], "item") else v[i]
            row[k] = None if isinstance(value, float) and not math.isfinite(value) else value
        rows.append(row)
    return rows


def bench_task(
    spec_data: dict,
    lab_data: dict,
    strategy: str,
    repeat: int,
    budget: int,
    reactor_model: str | None = None,
    hv_target: float | None = None,
) -> dict[str, Any]:
    """One campaign; returns per-experiment true objective, reached flags and proposal latencies.

    A multi-objective campaign's "best true" is the hypervolume of the true outcomes run so far
    (``models.benchmarks.hypervolume``), and its target is reached when that is at least ``hv_target``.
    """
    from lab.run.runtime import configure_numerics
    from models.objectives import MultiObjective
    from models.optimizers.base import derive_seed

    configure_numerics()  # one campaign per core, one thread each
    seed = derive_seed(int(spec_data.get("seed", 0)), repeat)
    spec = CampaignSpec.model_validate({**spec_data, "strategy": strategy, "seed": seed, "budget": budget})
    lab = LabConfig.model_validate(lab_data)
    started = time.perf_counter()
    if reactor_model:  # the user's model is the truth; its noise is its own
        rows, _ = _sim_campaign(spec, lab, load_reactor_model(reactor_model))
        true_outcomes = [r["measured"] for r in rows]
    else:
        rows, world = _sim_campaign(spec, lab)
        true_outcomes = _true_outcomes(spec.material, lab, [r["setpoints"] for r in rows], world)
    if isinstance(spec.parsed_objective, MultiObjective):
        first, trace, mean = _hypervolume_figures(spec, true_outcomes, hv_target)
    else:
        first, trace, mean = _single_figures(spec, rows, true_outcomes)
    return {
        "strategy": strategy,
        "repeat": repeat,
        "seed": seed,
        "experiments_to_target": first,
        "best_true": trace[-1] if trace else None,
        "best_true_trace": trace,
        "proposal_latency_s": [r["latency_s"] for r in rows],
        "failures": sum(1 for r in rows if r["measured"].get("failure")),
        "wall_s": time.perf_counter() - started,
        "n_experiments": len(rows),
        "mean_true_objective": mean,
    }


def _hypervolume_figures(spec: CampaignSpec, true_outcomes: list[dict], hv_target: float | None):
    """A multi-objective campaign's ``(experiments to target, best-true trace, None)``: the hypervolume of
    the true outcomes run so far, the target reached once that is at least ``hv_target``."""
    from models.benchmarks.hypervolume import hypervolume_trace

    trace = hypervolume_trace(spec.parsed_objective, spec.outcome_constraints, true_outcomes)
    first = next((i + 1 for i, v in enumerate(trace) if hv_target is not None and v >= hv_target), None)
    return first, trace, None


def _single_figures(spec: CampaignSpec, rows: list[dict], true_outcomes: list[dict]):
    """A single-objective campaign's ``(experiments to target, best-true trace, mean true objective)``."""
    import numpy as np

    from models.objectives import incumbent_trace

    objective = spec.parsed_objective
    true_values = [objective.value(o) for o in true_outcomes]
    reached = [bool(objective.reached(o)) for o in true_outcomes]
    # the incumbent (models.objectives.incumbent): the best *measured* experiment, scored on its true outcome
    trace = incumbent_trace(objective, [r["measured"] for r in rows], spec.outcome_constraints)
    best_true = [None if k is None else true_values[k] for k in trace]
    first = next((i + 1 for i, ok in enumerate(reached) if ok), None)
    return first, best_true, float(np.mean([v for v in true_values if v is not None] or [np.nan]))


def _sim_campaign(spec: CampaignSpec, lab: LabConfig, reactor_model=None) -> tuple[list[dict[str, Any]], Any]:
    """The campaign's rows and its simulated world."""
    from lab.run.session import CampaignSession

    with tempfile.TemporaryDirectory(prefix="qdlab-bench-") as scratch:
        session = CampaignSession(
            spec,
            lab,
            Path(scratch) / "c",
            campaign_source="bench",
            lab_source="bench",
            run_engine_kwargs={"context_managers": []},
            reactor_model=reactor_model,
        )
        result = session.run()
    rows = [
        {
            "parameters": r.conditions,
            "setpoints": r.setpoints,
            "measured": r.outcome_row(),
            "latency_s": r.proposal_latency_s,
        }
        for r in result.records
    ]
    return rows, result.world


def _percentile(values: list[float], q: float) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    k = (len(values) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summarise(results: list[dict[str, Any]], *, budget: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for strategy in dict.fromkeys(r["strategy"] for r in results):
        rs = sorted((r for r in results if r["strategy"] == strategy), key=lambda r: r["repeat"])
        ett = [r["experiments_to_target"] for r in rs]
        latencies = [x for r in rs for x in r["proposal_latency_s"] if x is not None]
        best = [r["best_true"] for r in rs]
        out[strategy] = {
            "experiments_to_target": ett,
            "median_experiments_to_target": statistics.median([budget + 1 if e is None else e for e in ett]),
            "reached": sum(e is not None for e in ett),
            "best_true": best,
            "median_best_true": statistics.median([b for b in best if b is not None])
            if any(b is not None for b in best)
            else None,
            "proposal_latency_s": {
                "p50": _percentile(latencies, 0.5),
                "p95": _percentile(latencies, 0.95),
                "max": max(latencies) if latencies else None,
            },
            "failures": [r["failures"] for r in rs],
            "wall_s": sum(r["wall_s"] for r in rs),
        }
    return out


def run_bench(
    spec: CampaignSpec,
    lab: LabConfig,
    *,
    strategies: list[str],
    repeats: int,
    budget: int,
    scheduler: str | None = None,
    reactor_model: str | None = None,
    workers: int = 2,
    on_done=None,
    first_repeat: int = 0,
) -> dict[str, Any]:
    """Run every (strategy, repeat) campaign on a Dask cluster and summarise. Repeats are numbered
    from ``first_repeat``: a later block of repeats meets fresh simulated worlds (held-out checks)."""
    from dask.distributed import as_completed

    # TOML-like data with units: the worker validates exactly what the command line did
    spec_data = json.loads(json.dumps(campaign_to_data(spec)))
    lab_data = json.loads(json.dumps(lab_to_data(lab)))
    with dask_client(scheduler, workers) as client:
        futures = [
            client.submit(
                bench_task, spec_data, lab_data, s, r, budget, reactor_model, pure=False, key=f"bench-{s}-{r}"
            )
            for s in strategies
            for r in range(first_repeat, first_repeat + repeats)
        ]
        results = []
        for future in as_completed(futures):
            results.append(future.result())
            if on_done:
                on_done(results[-1])
    return {
        "campaign": spec.name,
        "material": spec.material,
        "budget": budget,
        "repeats": repeats,
        "first_repeat": first_repeat,
        "reactor_model": reactor_model,
        "strategies": summarise(results, budget=budget),
        "runs": results,
    }


@contextlib.contextmanager
def dask_client(scheduler: str | None, workers: int):
    """A Dask client on ``scheduler`` (an address), or on a local cluster of ``workers`` processes with
    one thread each; closed (and the local cluster shut down) on exit."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        client, cluster = Client(scheduler), None
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def latency_at(
    spec: CampaignSpec, lab: LabConfig, strategy: str, n_observations: int, *, proposals: int = 12
) -> dict[str, float]:
    """Proposal latency (s) with ``n_observations`` already ingested: p50 and p95 over ``proposals``
    fresh optimisers (each fits its model from scratch, as a resumed campaign would), after one untimed
    warm-up proposal.

    The observations are the noise-free steady state at scrambled Sobol points of the search space.
    """
    import numpy as np

    from campaigns.conditions import to_setpoints
    from campaigns.preflight import sample_points
    from campaigns.strategy import campaign_row_outcomes, optimizer_for
    from lab.run.runtime import configure_numerics

    configure_numerics()
    stocks = lab.stocks_mM
    names = [p.name for p in spec.search.parameters]
    points = sample_points(spec, n_observations + proposals + 64)[-(n_observations + proposals) :]
    setpoints = [
        to_setpoints(
            values, kind=spec.search.kind, reactor_volume_ul=lab.reactor.volume, stocks_mM=stocks
        ).as_dict()
        for values in points
    ]
    truth = _true_outcomes(spec.material, lab, setpoints)
    known = set(campaign_row_outcomes(spec)) | {"failure"}  # the truth also holds conditions and internals
    rows = [
        {**{n: values[n] for n in names}, **{k: v for k, v in outcomes.items() if k in known}}
        for values, outcomes in zip(points, truth)
    ]
    # one untimed proposal first: a campaign with this many observations has long since paid the
    # one-off costs (lazy imports inside BoTorch, first-call allocations) a fresh process pays here
    warm = optimizer_for(spec.model_copy(update={"strategy": strategy}))
    warm.ingest(rows[proposals : proposals + n_observations])
    warm.suggest(1)
    latencies = []
    for k in range(proposals):
        optimizer = optimizer_for(spec.model_copy(update={"strategy": strategy}))
        optimizer.ingest(rows[k : k + n_observations])
        t0 = time.perf_counter()
        optimizer.suggest(1)
        latencies.append(time.perf_counter() - t0)
    return {
        "n_observations": n_observations,
        "p50": float(np.percentile(latencies, 50)),
        "p95": float(np.percentile(latencies, 95)),
        "max": float(max(latencies)),
    }
