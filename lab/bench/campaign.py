"""``qdlab bench``: strategies compared on simulated campaigns, in simulated time, in parallel on Dask.

Each (strategy, repeat) is one whole campaign: the built-in simulator runs through the same devices,
plans and log as ``qdlab run --sim`` (in a scratch directory). Targets and ``best_true`` are
judged on the noise-free steady state (``evaluate_true``) of the conditions actually run, so a lucky
noisy measurement does not count as success. A user's ``--reactor-model PATH.py:FUNC`` replaces the
spectra: the same campaign runs, and its outcomes come from ``FUNC`` (which is then also the truth).

What the rig spent (docs/benchmarks.md, Reactor hours and precursor): reactor time and reagent volumes
are :func:`lab.store.records.resource_use` of the campaign's log (the rig clock's ``timer_time`` and the
pumps' ``dispensed`` counters in each measurement), counted from the campaign's first set point: the
calibration flush before it (solvent only, the same for every loop and strategy) is taken off. An
experiment's figures end at its measurement. ``precursor`` is every reagent pump but the solvent's,
whose volume is given apart (``solvent_ml``).

``loops`` (:data:`LOOPS`): protocol overrides, each (strategy, loop, repeat) one campaign; the default,
``campaign``, is the campaign's own protocol.
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

from campaigns.flow import calibration_flush_s, dispensed_ul
from campaigns.spec import CampaignSpec
from lab.config.lab_toml import LabConfig
from lab.config.files import campaign_to_data, lab_to_data
from lab.run.user_model import load_reactor_model
from models.numbers import is_finite_number

__all__ = ["bench_task", "run_bench", "summarise", "dask_client", "LOOPS", "loop_overrides", "run_key"]

LOOPS: dict[str, dict[str, Any]] = {
    "campaign": {},
    "current": {"steady_state": "fixed", "overlap": False, "cost_aware": False},
    "time-aware": {"steady_state": "detect", "overlap": False, "cost_aware": True},
    "time-aware+overlap": {"steady_state": "detect", "overlap": True, "cost_aware": True},
    "detect": {"steady_state": "detect", "overlap": False, "cost_aware": False},
    "overlap": {"steady_state": "fixed", "overlap": True, "cost_aware": False},
    "cost-aware": {"steady_state": "fixed", "overlap": False, "cost_aware": True},
    "dynamic": {"mode": "dynamic", "steady_state": "fixed", "overlap": False, "cost_aware": False},
    "dynamic+time-aware": {"mode": "dynamic", "steady_state": "detect", "overlap": False, "cost_aware": True},
}
"""``--loops`` names and their ``[protocol]`` overrides: ``campaign`` (the campaign's own protocol),
``current`` (fixed wait, serial, cost-blind), ``time-aware`` (issue 17: steady state detected and
cost-aware choice), ``time-aware+overlap`` (with proposals overlapping the wait as well: on the simulated
rig that saves no time and costs the running experiment's information, docs/adr/0015), and each
change alone (``detect``, ``overlap``, ``cost-aware``: what each one costs or saves), and ``dynamic`` (issue 18:
trajectories with steady-state confirmations, docs/adr/0016; only a confirmation reaches the target),
``dynamic+time-aware`` (the same, each trajectory's destination chosen cost-aware and each confirmation
waiting for detected steady state, as the time-aware loop does)."""
DEFAULT_LOOP = "campaign"


def loop_overrides(names: list[str]) -> list[str]:
    """The loop names, checked against :data:`LOOPS` (a ``ValueError`` names the unknown ones)."""
    unknown = [n for n in names if n not in LOOPS]
    if unknown or not names:
        raise ValueError(f"unknown loop {', '.join(unknown) or '(none)'}; known: {', '.join(LOOPS)}")
    return names


def run_key(run: dict[str, Any]) -> str:
    """Where a run's figures are summarised: its strategy, or ``strategy/loop`` for a loop other than
    the campaign's own protocol."""
    loop = run.get("loop") or DEFAULT_LOOP
    return run["strategy"] if loop == DEFAULT_LOOP else f"{run['strategy']}/{loop}"


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
    loop: str = DEFAULT_LOOP,
) -> dict[str, Any]:
    """One campaign; returns per-experiment true objective, reached flags and proposal latencies, and
    what the rig spent (reactor hours, precursor and solvent, to target and in all) and how far the
    measurements were from the truth (``measurement_error``).

    A multi-objective campaign's "best true" is the hypervolume of the true outcomes run so far
    (``models.benchmarks.hypervolume``), and its target is reached when that is at least ``hv_target``.
    ``loop``: a name in :data:`LOOPS`, whose overrides replace the campaign's ``[protocol]`` keys.
    """
    from lab.run.runtime import configure_numerics
    from models.objectives import MultiObjective
    from models.optimizers.base import derive_seed

    configure_numerics()  # one campaign per core, one thread each
    seed = derive_seed(int(spec_data.get("seed", 0)), repeat)
    protocol = {**spec_data.get("protocol", {}), **LOOPS[loop]}
    spec = CampaignSpec.model_validate(
        {**spec_data, "strategy": strategy, "seed": seed, "budget": budget, "protocol": protocol}
    )
    lab = LabConfig.model_validate(lab_data)
    started = time.perf_counter()
    if reactor_model:  # the user's model is the truth; its noise is its own
        rows, _ = _sim_campaign(spec, lab, load_reactor_model(reactor_model))
        true_outcomes = [r["measured"] for r in rows]
    else:
        rows, world = _sim_campaign(spec, lab)
        true_outcomes = _true_outcomes(spec.material, lab, [r["setpoints"] for r in rows], world)
        # a trajectory measured no one condition: its samples are data, never the target reached
        true_outcomes = [{} if r.get("trajectory") else t for r, t in zip(rows, true_outcomes)]
    if isinstance(spec.parsed_objective, MultiObjective):
        first, trace, mean = _hypervolume_figures(spec, true_outcomes, hv_target)
    else:
        first, trace, mean = _single_figures(spec, rows, true_outcomes)
    return {
        "strategy": strategy,
        "loop": loop,
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
        **_spent_figures(rows, first),
        "measurement_error": measurement_error(spec.parsed_objective.outcomes, rows, true_outcomes),
        **({} if reactor_model else _sample_error(spec, lab, rows, world)),
    }


def _sample_error(
    spec: CampaignSpec, lab: LabConfig, rows: list[dict[str, Any]], world: Any
) -> dict[str, Any]:
    """``{"sample_error": ...}``: :func:`measurement_error` of a dynamic campaign's learnt samples at their
    assigned conditions (docs/adr/0016); nothing when the campaign ran no trajectory."""
    samples = [{"measured": s, "setpoints": sp} for r in rows for s, sp in r.get("samples", [])]
    if not samples:
        return {}
    truth = _true_outcomes(spec.material, lab, [s["setpoints"] for s in samples], world)
    return {"sample_error": measurement_error(spec.parsed_objective.outcomes, samples, truth)}


def _spent_figures(rows: list[dict[str, Any]], first: int | None) -> dict[str, Any]:
    """Reactor hours, precursor and solvent (mL) from the first set point: to the end of experiment
    ``first`` (1-based; None, unreached: None) and of the whole campaign, and the cumulative hours after
    each experiment (``reactor_hours_trace``). Rows without ``spent`` (no rig clock): all None."""
    spent = [r.get("spent") for r in rows]
    if not spent or any(s is None for s in spent):
        return dict.fromkeys(
            (
                "reactor_hours_to_target",
                "precursor_ml_to_target",
                "solvent_ml_to_target",
                "reactor_hours",
                "precursor_ml",
                "solvent_ml",
                "reactor_hours_trace",
            )
        )
    hours = [s["reactor_s"] / 3600.0 for s in spent]
    precursor = [s["precursor_ul"] / 1000.0 for s in spent]
    solvent = [s["solvent_ul"] / 1000.0 for s in spent]
    at = None if first is None else first - 1
    return {
        "reactor_hours_to_target": None if at is None else hours[at],
        "precursor_ml_to_target": None if at is None else precursor[at],
        "solvent_ml_to_target": None if at is None else solvent[at],
        "reactor_hours": hours[-1],
        "precursor_ml": precursor[-1],
        "solvent_ml": solvent[-1],
        "reactor_hours_trace": hours,
    }


def measurement_error(
    outcomes: tuple[str, ...], rows: list[dict[str, Any]], true_outcomes: list[dict[str, Any]]
) -> dict[str, dict[str, float | None]]:
    """For each outcome: the median and p95 of |measured - true| over the experiments where both are
    numbers (a failed measurement has none); None where no experiment has both."""
    out: dict[str, dict[str, float | None]] = {}
    for name in outcomes:
        errors = []
        for row, truth in zip(rows, true_outcomes):
            measured, true = row["measured"].get(name), truth.get(name)
            if is_finite_number(measured) and is_finite_number(true):
                errors.append(abs(float(measured) - float(true)))
        out[name] = {"median": _percentile(errors, 0.5), "p95": _percentile(errors, 0.95)}
    return out


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
        calibration = calibration_spent(spec, lab, session.flush_flow_ul_min())
    spent = _spent_since_first_setpoint(result.records, lab, calibration)
    rows = [
        {
            "parameters": r.parameters,
            "setpoints": r.setpoints,
            "measured": r.outcome_row(),
            "latency_s": r.proposal_latency_s,
            "spent": used,
            "trajectory": r.trajectory is not None,
            # a trajectory's learnt samples with the set points of their assigned conditions
            "samples": [
                (row, session.setpoints(_searched(spec, row)).as_dict()) for row in r.observation_rows()
            ]
            if r.trajectory is not None
            else [],
        }
        for r, used in zip(result.records, spent)
    ]
    return rows, result.world


def _searched(spec: CampaignSpec, row: dict[str, Any]) -> dict[str, float]:
    return {p.name: float(row[p.name]) for p in spec.search.parameters}


def calibration_spent(spec: CampaignSpec, lab: LabConfig, flush_flow_ul_min: float) -> dict[str, float]:
    """What the calibration before the first set point costs (``campaigns.plans.calibrate``): its
    solvent flush's seconds (``reactor_s``) and microlitres (``solvent_ul``)."""
    flush_s = calibration_flush_s(
        lab.reactor.volume,
        lab.reactor.transfer_volume,
        flush_flow_ul_min,
        spec.protocol.flush_residence_times,
    )
    return {"reactor_s": flush_s, "solvent_ul": dispensed_ul(flush_flow_ul_min, flush_s)}


def _spent_since_first_setpoint(
    records: list, lab: LabConfig, calibration: dict[str, float]
) -> list[dict[str, float] | None]:
    """Each record's cumulative reactor seconds, precursor and solvent microlitres since the first set
    point (:func:`lab.store.records.resource_use`, less the calibration); None before any measurement."""
    from campaigns.conditions import SOLVENT
    from lab.store.records import resource_use

    solvent_pump = lab.pump_for(SOLVENT)
    out: list[dict[str, float] | None] = []
    for use in resource_use(records):
        if use.reactor_s is None and use.cumulative_reactor_s == 0.0:
            out.append(None)
            continue
        reagents = use.cumulative_reagents_ul
        out.append(
            {
                "reactor_s": max(0.0, use.cumulative_reactor_s - calibration["reactor_s"]),
                "precursor_ul": sum(v for p, v in reagents.items() if p != solvent_pump),
                "solvent_ul": max(0.0, reagents.get(solvent_pump, 0.0) - calibration["solvent_ul"]),
            }
        )
    return out


def _percentile(values: list[float], q: float) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    k = (len(values) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summarise(results: list[dict[str, Any]], *, budget: int) -> dict[str, Any]:
    """Figures across repeats, per :func:`run_key` (strategy, or strategy/loop). Medians of what a run
    spent to target count an unreached repeat as its whole campaign's figure (``reached``: how many did
    reach it, ``reached_per_repeat`` which)."""
    out: dict[str, Any] = {}
    for key in dict.fromkeys(run_key(r) for r in results):
        rs = sorted((r for r in results if run_key(r) == key), key=lambda r: r["repeat"])
        ett = [r["experiments_to_target"] for r in rs]
        latencies = [x for r in rs for x in r["proposal_latency_s"] if x is not None]
        best = [r["best_true"] for r in rs]
        out[key] = {
            "strategy": rs[0]["strategy"],
            "loop": rs[0].get("loop") or DEFAULT_LOOP,
            "experiments_to_target": ett,
            "median_experiments_to_target": statistics.median([budget + 1 if e is None else e for e in ett]),
            "reached": sum(e is not None for e in ett),
            "reached_per_repeat": [e is not None for e in ett],
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
            **_spent_summary(rs),
        }
    return out


_SPENT = (("reactor_hours", "reactor_hours"), ("precursor_ml", "precursor_ml"), ("solvent_ml", "solvent_ml"))


def _spent_summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per repeat and median: reactor hours, precursor and solvent to target (an unreached repeat
    counted as its whole campaign's) and in all; the median over repeats of each outcome's median and
    p95 measurement error. Runs without these figures (a function problem): nothing."""
    if not rs or "measurement_error" not in rs[0]:
        return {}
    out: dict[str, Any] = {}
    for figure, whole in _SPENT:
        to_target = [r.get(f"{figure}_to_target") for r in rs]
        campaign = [r.get(whole) for r in rs]
        counted = [t if t is not None else c for t, c in zip(to_target, campaign)]
        out[f"{figure}_to_target"] = to_target
        out[f"median_{figure}_to_target"] = _median(counted)
        out[whole] = campaign
        out[f"median_{whole}"] = _median(campaign)
    for key in ("measurement_error", "sample_error"):
        errors: dict[str, dict[str, float | None]] = {}
        for name in dict.fromkeys(k for r in rs for k in (r.get(key) or {})):
            per = [r[key].get(name, {}) for r in rs if r.get(key)]
            errors[name] = {q: _median([e.get(q) for e in per]) for q in ("median", "p95")}
        if errors or key == "measurement_error":
            out[f"median_{key}"] = errors
    return out


def _median(values: list[Any]) -> float | None:
    """The median of the values that are numbers; None when none is (a missing figure is not zero)."""
    numbers = [v for v in values if v is not None]
    return statistics.median(numbers) if numbers else None


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
    loops: list[str] | None = None,
) -> dict[str, Any]:
    """Run every (strategy, loop, repeat) campaign on a Dask cluster and summarise. Repeats are numbered
    from ``first_repeat``: a later block of repeats meets fresh simulated worlds (held-out checks); each
    loop of a repeat meets the same world (the seed is the strategy's and the repeat's)."""
    from dask.distributed import as_completed

    # TOML-like data with units: the worker validates exactly what the command line did
    spec_data = json.loads(json.dumps(campaign_to_data(spec)))
    lab_data = json.loads(json.dumps(lab_to_data(lab)))
    loops = loop_overrides(loops or [DEFAULT_LOOP])
    with dask_client(scheduler, workers) as client:
        futures = [
            client.submit(
                bench_task,
                spec_data,
                lab_data,
                s,
                r,
                budget,
                reactor_model,
                loop=loop,
                pure=False,
                key=f"bench-{s}-{loop}-{r}",
            )
            for s in strategies
            for loop in loops
            for r in range(first_repeat, first_repeat + repeats)
        ]
        results = []
        for future in as_completed(futures):
            results.append(future.result())
            if on_done:
                on_done(results[-1])
    # in the order asked for (strategies, then loops, then repeats), however they finished
    order = {(s, loop): k for k, (s, loop) in enumerate((s, loop) for s in strategies for loop in loops)}
    results.sort(key=lambda r: (order[(r["strategy"], r["loop"])], r["repeat"]))
    return {
        "campaign": spec.name,
        "material": spec.material,
        "budget": budget,
        "repeats": repeats,
        "first_repeat": first_repeat,
        "reactor_model": reactor_model,
        "loops": {name: LOOPS[name] for name in loops},
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
