"""qdlab bench: strategies compared on simulated campaigns, or on a benchmark suite (lab.bench)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lab.cli.app import app, sim_lab_path
from lab.view.console import campaign_progress, emit_json, err, fmt, out, target_status
from models.errors import ConfigurationError

__all__ = ["bench"]

CampaignOpt = Annotated[Optional[Path], typer.Option("--campaign", help="campaign TOML file")]
SuiteOpt = Annotated[
    Optional[str],
    typer.Option(
        "--suite",
        help="a benchmark suite (tuning, reporting, independent, "
        "all, functions, smoke) or problems, comma-separated "
        "(docs/benchmarks.md)",
    ),
]
StrategiesOpt = Annotated[str, typer.Option("--strategies", help="comma-separated")]
LoopsOpt = Annotated[
    str,
    typer.Option(
        "--loops",
        help="comma-separated: campaign (its own [protocol]), current (fixed wait, serial, cost-blind), "
        "time-aware (detect, cost_aware), time-aware+overlap, or one of those alone: detect, overlap, "
        "cost-aware; dynamic (trajectories and confirmations), dynamic+time-aware (cost-aware "
        "trajectories, detected confirmations); --campaign only",
    ),
]
RepeatsOpt = Annotated[int, typer.Option("--repeats", min=1)]
FirstRepeatOpt = Annotated[
    int,
    typer.Option(
        "--first-repeat", min=0, help="number repeats from here (fresh worlds for a held-out check)"
    ),
]
BudgetOpt = Annotated[Optional[int], typer.Option("--budget", min=1, help="experiments per campaign")]
LabOpt = Annotated[Optional[Path], typer.Option("--lab", help="lab TOML (default: the simulated lab)")]
ReactorModelOpt = Annotated[
    Optional[str], typer.Option("--reactor-model", help="PATH.py:FUNC steady-state model")
]
SchedulerOpt = Annotated[Optional[str], typer.Option("--scheduler", help="Dask scheduler address")]
WorkersOpt = Annotated[int, typer.Option("--workers", min=1, help="local Dask workers")]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="write the JSON result here (and a .png plot)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout")]
LatencyObservationsOpt = Annotated[
    int,
    typer.Option(
        "--latency-observations", min=0, help="also time proposals with this many observations (0: skip)"
    ),
]


@app.command()
def bench(
    campaign: CampaignOpt = None,
    suite: SuiteOpt = None,
    strategies: StrategiesOpt = "botorch,sobol,random",
    loops: LoopsOpt = "campaign",
    repeats: RepeatsOpt = 5,
    first_repeat: FirstRepeatOpt = 0,
    budget: BudgetOpt = None,
    lab: LabOpt = None,
    reactor_model: ReactorModelOpt = None,
    scheduler: SchedulerOpt = None,
    workers: WorkersOpt = 2,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    latency_observations: LatencyObservationsOpt = 100,
) -> None:
    """Compare strategies on simulated campaigns or a benchmark suite (simulated time, parallel on Dask)."""
    if (campaign is None) == (suite is None):
        raise ConfigurationError("give one of --campaign FILE or --suite NAME", source="bench")
    runner = {"strategies": strategies, "repeats": repeats, "scheduler": scheduler, "workers": workers}
    if suite is not None:
        if reactor_model or lab or first_repeat or loops != "campaign":
            raise ConfigurationError(
                "--reactor-model, --lab, --first-repeat and --loops apply to --campaign only",
                source="--suite",
            )
        from lab.bench.suite import suite_command

        suite_command(suite, budget=budget, out=out, json_out=json_out, **runner)
        return
    _bench_campaign(
        campaign,
        lab=lab,
        reactor_model=reactor_model,
        budget=budget,
        first_repeat=first_repeat,
        latency_observations=latency_observations,
        out_path=out,
        json_out=json_out,
        loops=_loop_names(loops),
        **runner,
    )


def _loop_names(loops: str) -> list[str]:
    """``--loops``, checked (:data:`lab.bench.campaign.LOOPS`)."""
    from lab.bench.campaign import loop_overrides

    try:
        return loop_overrides([s.strip() for s in loops.split(",") if s.strip()])
    except ValueError as exc:
        raise ConfigurationError(str(exc), source="--loops") from None


def _bench_campaign(
    campaign: Path,
    *,
    lab: Path | None,
    strategies: str,
    repeats: int,
    budget,
    latency_observations: int,
    out_path,
    json_out: bool,
    reactor_model,
    **options,
) -> None:
    """qdlab bench --campaign: the campaigns under a progress bar, proposal latency at N observations,
    then the table, files and JSON (``options``: run_bench's first_repeat, scheduler and workers)."""
    spec, lab_cfg, names = _load_bench_files(campaign, lab, strategies, reactor_model)
    budget = budget or spec.budget
    result = _run_with_progress(
        spec, lab_cfg, names, repeats=repeats, budget=budget, reactor_model=reactor_model, **options
    )
    if latency_observations and not reactor_model:
        from lab.bench.campaign import latency_at

        for name in names:
            at_n = latency_at(spec, lab_cfg, name, latency_observations)
            for figures in result["strategies"].values():
                if figures["strategy"] == name:
                    figures["proposal_latency_at_n_s"] = at_n
    _show_bench(
        result, spec.name, repeats, budget, latency_observations, out_path=out_path, json_out=json_out
    )


def _load_bench_files(campaign: Path, lab: Path | None, strategies: str, reactor_model: str | None):
    """The campaign, the (simulated) lab and the strategies named: ``(spec, lab_cfg, names)``."""
    from lab.config.files import load_campaign, load_lab
    from lab.run.user_model import load_reactor_model
    from lab.bench.suite import strategy_names

    # the model first, here rather than in a worker: the campaign may name only the outcomes it declares
    model = load_reactor_model(reactor_model) if reactor_model else None
    spec = load_campaign(campaign, outcomes=model.outcomes if model else None)
    names = strategy_names(strategies)
    lab_path = lab or sim_lab_path(spec.material)
    lab_cfg = load_lab(lab_path)
    if any(p.type != "sim" for p in lab_cfg.pumps.values()):
        raise ConfigurationError(
            "bench runs simulated campaigns only; give a simulated lab", source=str(lab_path)
        )
    return spec, lab_cfg, names


def _run_with_progress(spec, lab_cfg, names: list[str], *, repeats: int, **options) -> dict:
    """:func:`lab.bench.campaign.run_bench` under a progress bar, one step per campaign."""
    from lab.bench.campaign import run_bench

    with campaign_progress() as progress:
        task = progress.add_task(f"bench {spec.name}", total=len(names) * repeats, status="")

        def on_done(r: dict) -> None:
            from lab.bench.campaign import run_key

            label = f"{run_key(r)} #{r['repeat']}"
            progress.update(task, advance=1, status=target_status(label, r["experiments_to_target"]))

        total = len(names) * repeats * len(options.get("loops") or [None])
        progress.update(task, total=total)
        return run_bench(spec, lab_cfg, strategies=names, repeats=repeats, on_done=on_done, **options)


def _show_bench(
    result: dict, name: str, repeats: int, budget: int, latency_observations: int, *, out_path, json_out
) -> None:
    """The table (stdout, or stderr with --json), the --out file with its table (.md) and plot (.png),
    and the --json object."""
    console = err if json_out else out
    console.print(_bench_table(result, name, repeats, budget, latency_observations))
    if out_path:
        import json

        from lab.bench.plot import plot_bench

        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(result, indent=1))
        out_path.with_suffix(".md").write_text(bench_markdown(result, name, repeats, budget))
        plot_bench(result, out_path.with_suffix(".png"))
        console.print(f"wrote {out_path}, {out_path.with_suffix('.md')} and {out_path.with_suffix('.png')}")
    if json_out:
        emit_json({k: v for k, v in result.items() if k != "runs"})


_COLUMNS = (
    "strategy",
    "exp. to target",
    "reached",
    "reactor h to target",
    "precursor mL to target",
    "reactor h",
    "best true",
    "latency p50 s",
    "latency p95 s",
)
"""The table's columns: medians over repeats (an unreached repeat counted as its whole campaign)."""


def _row(s: dict, repeats: int) -> list[str]:
    """One key's figures as the table shows them: experiments, reactor hours and precursor to target
    side by side (medians; an unreached repeat counted as its whole campaign)."""
    return [
        fmt(s["median_experiments_to_target"]),
        f"{s['reached']}/{repeats}",
        fmt(s.get("median_reactor_hours_to_target"), 3),
        fmt(s.get("median_precursor_ml_to_target"), 3),
        fmt(s.get("median_reactor_hours"), 3),
        fmt(s["median_best_true"]),
        fmt(s["proposal_latency_s"]["p50"], 3),
        fmt(s["proposal_latency_s"]["p95"], 3),
    ]


def _bench_table(result: dict, name: str, repeats: int, budget: int, latency_observations: int):
    """One row per strategy (or strategy/loop): experiments, reactor hours and precursor to target,
    best true value and proposal latency."""
    from rich.table import Table

    table = Table(title=f"{name}: {repeats} repeats, budget {budget} (medians)")
    table.add_column(_COLUMNS[0], justify="right", no_wrap=True)
    for col in (*_COLUMNS[1:], f"p95 s at {latency_observations} obs."):
        table.add_column(col, justify="right")
    for key, s in result["strategies"].items():
        at_n = s.get("proposal_latency_at_n_s", {}).get("p95")
        table.add_row(key, *_row(s, repeats), fmt(at_n, 3))
    return table


def bench_markdown(result: dict, name: str, repeats: int, budget: int) -> str:
    """The table as markdown (the ``--out`` file's .md), then each key's median measurement error."""
    lines = [
        f"# {name}: {repeats} repeats, budget {budget}",
        "",
        "Medians over repeats; a repeat that did not reach the target counts as its whole campaign "
        "(reactor hours and precursor from the first set point; docs/benchmarks.md).",
        "",
        "| " + " | ".join(_COLUMNS) + " |",
        "|" + "---|" * len(_COLUMNS),
    ]
    for key, s in result["strategies"].items():
        lines.append("| " + " | ".join([key, *_row(s, repeats)]) + " |")
    errors = {k: s.get("median_measurement_error") for k, s in result["strategies"].items()}
    errors |= {  # a dynamic loop's learnt samples, at their assigned conditions (docs/adr/0016)
        f"{k} (samples)": s["median_sample_error"]
        for k, s in result["strategies"].items()
        if s.get("median_sample_error")
    }
    outcomes = list(dict.fromkeys(o for e in errors.values() for o in (e or {})))
    if outcomes:
        lines += [
            "",
            "Measurement error |measured - true|, median over repeats of each repeat's median / p95:",
            "",
            "| strategy | " + " | ".join(outcomes) + " |",
            "|" + "---|" * (len(outcomes) + 1),
        ]
        for key, e in errors.items():
            cells = [
                f"{fmt((e or {}).get(o, {}).get('median'), 3)} / {fmt((e or {}).get(o, {}).get('p95'), 3)}"
                for o in outcomes
            ]
            lines.append("| " + " | ".join([key, *cells]) + " |")
    return "\n".join(lines) + "\n"
