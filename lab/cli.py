"""``qdlab``: the command line (DESIGN.md, Command line).

Exit status: 0 success, 1 campaign failed (device or safety stop, a stop that could not confirm a
device safe, or its document log could not be written: disk full, I/O error; resumable), 2 bad usage or
bad input, 130 / 143 / 129 stopped by SIGINT (Ctrl-C) / SIGTERM / SIGHUP (resumable).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import click
import typer
from typer._click import exceptions as typer_click  # typer 0.29 vendors its own click

from lab.view.console import campaign_progress, emit_json, err, fmt, out, outcome_table
from models.errors import ConfigurationError, LogError, LogWriteError, QdlabError
from models.materials import MATERIALS

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Self-driving flow synthesis of colloidal quantum dots.",
)


def _sim_lab_path(material: str) -> Path:
    from lab.config.files import EXAMPLES

    path = EXAMPLES["lab"] / f"sim-{material.lower()}.toml"
    if not path.exists():
        raise ConfigurationError(f"no simulated lab for material '{material}'", source="--sim")
    return path


@app.command()
def run(
    campaign: Annotated[Path, typer.Argument(help="campaign TOML file")],
    lab: Annotated[Optional[Path], typer.Option("--lab", help="lab TOML file (real or emulated rig)")] = None,
    sim: Annotated[bool, typer.Option("--sim", help="run against the simulated reactor")] = False,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="campaign directory (default runs/NAME)")
    ] = None,
    budget: Annotated[
        Optional[int], typer.Option("--budget", min=1, help="experiments to carry through")
    ] = None,
    seed: Annotated[
        Optional[int], typer.Option("--seed", min=0, help="seed of optimiser and simulator")
    ] = None,
    realtime: Annotated[bool, typer.Option("--realtime", help="simulate at wall-clock speed")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="replace a campaign already in --out (moved aside to DIR.replaced-<time>, never deleted)",
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the result as JSON on stdout")] = False,
    tiled: Annotated[
        Optional[str],
        typer.Option(
            "--tiled", help="also stream the documents to this Tiled server, e.g. http://localhost:8000"
        ),
    ] = None,
    reactor_model: Annotated[
        Optional[str],
        typer.Option(
            "--reactor-model",
            help="PATH.py:FUNC, your steady-state model in place of the simulator's chemistry",
        ),
    ] = None,
) -> None:
    """Run a campaign on a simulated (--sim) or real (--lab) rig."""
    from lab.config.files import load_campaign, load_lab
    from lab.store.out_dir import check_out_dir

    if sim == (lab is not None):
        raise ConfigurationError("give exactly one of --sim or --lab LAB.toml", source="qdlab run")
    model = None
    if reactor_model:  # first: the campaign may name only the outcomes the model declares
        from lab.run.user_model import load_reactor_model

        model = load_reactor_model(reactor_model)
    spec = load_campaign(campaign, outcomes=model.outcomes if model else None)
    updates = {k: v for k, v in (("budget", budget), ("seed", seed)) if v is not None}
    spec = spec.model_copy(update=updates) if updates else spec
    lab_path = _sim_lab_path(spec.material) if sim else lab
    lab_cfg = load_lab(lab_path)
    if model is not None and any(p.type != "sim" for p in lab_cfg.pumps.values()):
        raise ConfigurationError(
            "--reactor-model replaces the simulator: use it with --sim or a simulated lab",
            source="--reactor-model",
        )
    directory = out or Path("runs") / spec.name
    target = check_out_dir(directory, force=force)  # holds a campaign it replaces by its lock from here
    try:
        from lab.run.session import CampaignSession  # torch, BoTorch, bluesky: only once the files are good

        session = CampaignSession(
            spec,
            lab_cfg,
            directory,
            campaign_source=str(campaign),
            lab_source=str(lab_path),
            realtime=realtime,
            reactor_model=model,
        )
        session.preflight(fresh=True)  # before the progress bar: a refused campaign prints one line only
        sink = None
        if tiled:
            from lab.store.tiled import TiledSink

            sink = TiledSink(tiled, directory, session.spec.id).connect()
            session.subscribers.append(sink)
        moved = target.replace()  # the whole command is checked: only now is an old campaign moved aside
    finally:
        target.release()
    if moved is not None:
        err.print(
            f"moved the campaign that was in {directory} aside to {moved}",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
    if tiled:
        from lab.store.tiled import shown

        err.print(
            f"streaming to Tiled at {shown(tiled)}, campaign id {session.spec.id}",
            markup=False,
            soft_wrap=True,
        )
    _run_streaming(session, json_out, sink)


@app.command()
def resume(
    directory: Annotated[Path, typer.Argument(help="campaign directory to continue")],
    budget: Annotated[
        Optional[int],
        typer.Option(
            "--budget", min=1, help="extend (or set) the budget to N experiments; recorded in the log"
        ),
    ] = None,
    realtime: Annotated[bool, typer.Option("--realtime", help="simulate at wall-clock speed")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the result as JSON on stdout")] = False,
    tiled: Annotated[
        Optional[str],
        typer.Option("--tiled", help="also stream to this Tiled server; runs it lacks are sent first"),
    ] = None,
) -> None:
    """Continue a campaign that stopped (crash, Ctrl-C, power cut) from its log alone; --budget extends one,
    finished or not."""
    from lab.run.session import open_for_resume

    session = open_for_resume(directory, budget=budget, realtime=realtime)
    if session.reactor_model is not None:
        err.print(
            f"reactor model: {session.reactor_model.source} (as the campaign ran)",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )
    if session.budget_changed_from is not None:
        err.print(
            f"budget: {session.budget_changed_from} -> {session.spec.budget} experiments "
            "(recorded in the log; campaign.toml stays as it began)"
        )
    sink = None
    if tiled:
        from lab.store.tiled import TiledSink, shown

        sink = TiledSink(tiled, directory, session.spec.id).connect()
        synced = sink.backfill()
        session.subscribers.append(sink)
        err.print(
            f"streaming to Tiled at {shown(tiled)}, campaign id {session.spec.id} (first the log: "
            f"{synced.line()})",
            markup=False,
            soft_wrap=True,
        )
    _run_streaming(session, json_out, sink, resume=True)


@app.command()
def sync(
    directory: Annotated[Path, typer.Argument(help="campaign directory whose log the server should hold")],
    tiled: Annotated[str, typer.Option("--tiled", help="the Tiled server, e.g. http://localhost:8000")],
) -> None:
    """Bring a Tiled server up to date with a campaign directory (after the server went away mid-campaign,
    or for a campaign run without --tiled): sends the runs it lacks or holds in part; runs nothing."""
    import fcntl

    from lab.store.sources import open_directory
    from lab.store.storage import LOCK_NAME
    from lab.store.tiled import TiledSink, shown

    spec = open_directory(directory).spec
    if not spec.id:
        raise LogError(f"{directory}: campaign.toml has no campaign id; it cannot be stored in Tiled")
    with open(directory / LOCK_NAME, "a") as lock:  # the lock a running campaign holds (lab.store.storage)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LogError(
                f"{directory}: a qdlab process is running this campaign; sync it once that ends "
                "(or continue it with qdlab resume DIR --tiled URI)"
            ) from None
        result = TiledSink(tiled, directory, spec.id).connect().backfill()
    out.print(
        f"Tiled at {shown(tiled)}, campaign id {spec.id}: {result.line()}", markup=False, soft_wrap=True
    )


def _run_streaming(session, json_out: bool, sink, *, resume: bool = False) -> None:
    """:func:`_run_session`, then wait (bounded) for the Tiled sink's last documents."""
    try:
        _run_session(session, json_out, resume=resume)
    finally:
        if sink is not None:
            sink.close()


def _run_session(session, json_out: bool, *, resume: bool = False) -> None:
    from rich.live import Live
    from lab.run.refill import estimate_lines

    estimate = getattr(session, "estimate", None) or session.preflight()
    err.print("\n".join(estimate_lines(estimate, refill=session.refill_mode)), soft_wrap=True, markup=False)

    from lab.view.console import CampaignLine
    from lab.view.watch import line_fields, show_current_conditions

    line = CampaignLine(session.spec.name, session.spec.budget)
    line.state.has_target = bool(session.objective.reached_ranges)
    records: list = []
    session.subscribers.append(show_current_conditions(line, session.spec))

    def on_progress(done: int, budget: int, record) -> None:
        if record is None and done and not records:  # resumed: what the log already holds
            records.extend(session.existing_records())
        if record is not None:
            records.append(record)
            line.state.running_index = None
        for key, value in line_fields(session.objective, records, session.spec.outcome_constraints).items():
            setattr(line.state, key, value)
        line.set_done(done)

    session.progress = on_progress
    try:
        with Live(
            line,
            console=err,
            refresh_per_second=2,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        ):
            result = session.run(resume=resume)
    finally:
        if not err.is_terminal:  # rich ends a live line with a newline on a terminal only
            err.line()
    _summarise(result, json_out)


def _summarise(result, json_out: bool) -> None:
    """The run's summary: a human table on stdout, or (``--json``) JSON on stdout and the table on stderr."""
    from campaigns.scoring import reached_at
    from lab.store.records import experiments_from_documents, resource_use
    from lab.store.storage import LOG_NAME, read_documents
    from lab.view.watch import usage_text

    console = err if json_out else out
    best = result.best()
    rows = [(r.index, r.outcome_row()) for r in result.records]
    target = reached_at(result.objective, rows) if result.objective.reached_ranges else None
    log = Path(result.directory) / LOG_NAME
    usage = resource_use(experiments_from_documents(read_documents(log))) if log.is_file() else []
    console.print(f"[bold]{len(result.records)}[/] experiments in {result.directory}")
    if result.objective.reached_ranges:
        console.print("target not reached" if target is None else f"target reached at experiment {target}")
    if usage:
        console.print(usage_text(usage[-1]))
    if best is None:
        console.print("no successful experiment yet")
    else:
        console.print(outcome_table(f"best: experiment {best.index}", {**best.conditions}))
        console.print(outcome_table("its outcomes", {k: v for k, v in best.outcomes.items()}))
    if json_out:
        last = usage[-1] if usage else None
        emit_json(
            {
                "directory": str(result.directory),
                "experiments": len(result.records),
                "best": None
                if best is None
                else {"index": best.index, "conditions": best.conditions, "outcomes": best.outcomes},
                "reached_at": target,
                "reactor_s": None if last is None else last.cumulative_reactor_s,
                "reagents_ul": None if last is None else last.cumulative_reagents_ul,
            }
        )


@app.command()
def refill(
    directory: Annotated[Path, typer.Argument(help="campaign directory waiting for a refill")],
    pump: Annotated[
        Optional[list[str]],
        typer.Option("--pump", help="pump refilled (repeatable; default: every pump the campaign waits for)"),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="every pump of the lab was refilled")] = False,
    volume: Annotated[
        Optional[str],
        typer.Option("--volume", help='what each syringe now holds, e.g. "8 mL" (default: full)'),
    ] = None,
) -> None:
    """Tell a campaign waiting for a syringe refill that it was refilled, so it continues."""
    from lab.run.refill import request_refill
    from models.units import parse_quantity

    volume_ul = None if volume is None else parse_quantity(volume, "uL", source="--volume")
    err.print(request_refill(directory, pumps=pump, every=every, volume_ul=volume_ul))


@app.command()
def replay(
    directory: Annotated[Optional[Path], typer.Argument(help="campaign directory (or use --tiled)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
    tiled: Annotated[
        Optional[str], typer.Option("--tiled", help="read the campaign from this Tiled server")
    ] = None,
    campaign_id: Annotated[
        Optional[str], typer.Option("--campaign-id", help="campaign to read from Tiled")
    ] = None,
) -> None:
    """Rebuild a campaign from its log and re-derive every decision."""
    from lab.tools.replay import replay_data
    from lab.store.sources import open_campaign

    result = replay_data(open_campaign(directory, tiled=tiled, campaign_id=campaign_id))
    if json_out:
        emit_json(result)
        return
    from rich.table import Table

    table = Table(
        title=f"{result['campaign']['name']} ({result['campaign']['strategy']}, seed "
        f"{result['campaign']['seed']}, budget {result['campaign']['budget']})"
    )
    names = list(result["experiments"][0]["conditions"]) if result["experiments"] else []
    for col in ["#", *names, "PL nm", "FWHM nm", "PLQY", "objective", "failure"]:
        table.add_column(col, justify="right")
    for e in result["experiments"]:
        o = e["outcomes"]
        table.add_row(
            str(e["index"]),
            *[fmt(e["conditions"][n]) for n in names],
            fmt(o.get("pl_peak_nm")),
            fmt(o.get("pl_fwhm_nm")),
            fmt(o.get("plqy"), 3),
            fmt(o.get("objective"), 3),
            o.get("failure") or "",
        )
    out.print(table)
    if result["best"]:
        out.print(f"best: experiment {result['best']['index']}")
    if result["has_target"]:
        out.print(
            f"target reached at experiment {result['reached_at']}"
            if result["reached_at"] is not None
            else "target not reached"
        )
    out.print(
        "decisions: all re-derived identically"
        if not result["divergences"]
        else f"[red]{len(result['divergences'])} divergence(s)[/]: {result['divergences'][:3]}"
    )


@app.command()
def report(
    directory: Annotated[
        Optional[Path],
        typer.Argument(help="campaign directory (with --tiled: where to write; default reports/CAMPAIGN_ID)"),
    ] = None,
    tiled: Annotated[
        Optional[str], typer.Option("--tiled", help="read the campaign from this Tiled server")
    ] = None,
    campaign_id: Annotated[
        Optional[str], typer.Option("--campaign-id", help="campaign to read from Tiled")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="the summary as JSON on stdout")] = False,
) -> None:
    """Write DIR/report.html (self-contained) and DIR/plots/*.png, and print a summary."""
    from lab.view.report import run_report

    run_report(directory, tiled=tiled, campaign_id=campaign_id, json_out=json_out)


@app.command()
def watch(
    directory: Annotated[Path, typer.Argument(help="campaign directory being run")],
    once: Annotated[bool, typer.Option("--once", help="print the current state and exit")] = False,
    interval: Annotated[float, typer.Option("--interval", min=0.1, help="seconds between looks")] = 1.0,
    json_out: Annotated[bool, typer.Option("--json", help="the final state as JSON on stdout")] = False,
    stale_after: Annotated[
        Optional[float],
        typer.Option(
            "--stale-after",
            min=1.0,
            help="seconds without a new document before an unfinished campaign "
            "counts as stopped (default: the longest an experiment can take)",
        ),
    ] = None,
) -> None:
    """Follow a campaign from another terminal: waits for it to appear, exits once it has finished or stopped."""
    from lab.view.watch import watch as do_watch

    state = do_watch(
        directory, once=once, interval_s=interval, stale_after_s=stale_after, console=err if json_out else out
    )
    if json_out:
        emit_json(state.as_dict())


@app.command()
def simulate(
    material: Annotated[
        str, typer.Option("--material", help=f"{', '.join(MATERIALS[:-1])} or {MATERIALS[-1]}")
    ] = "CdSe",
    describe: Annotated[bool, typer.Option("--describe", help="list the settable conditions")] = False,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="NAME=VALUE (repeatable)")] = None,
    input_csv: Annotated[
        Optional[Path], typer.Option("--input", help="CSV of conditions, one row each")
    ] = None,
    noisy: Annotated[
        bool, typer.Option("--noisy", help="a noisy measurement instead of the true state")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
    benchmark: Annotated[
        int,
        typer.Option(
            "--benchmark", min=0, help="time N vectorised steady-state evaluations and print the rate"
        ),
    ] = 0,
) -> None:
    """Evaluate the simulated reactor at given conditions."""
    from lab.tools.simulate import run_benchmark, run_simulate

    if benchmark:
        run_benchmark(material=material, n=benchmark, seed=seed, json_out=json_out)
        return
    run_simulate(
        material=material,
        describe=describe,
        assignments=set_ or [],
        input_csv=input_csv,
        noisy=noisy,
        seed=seed,
        json_out=json_out,
    )


@app.command()
def emulate(
    device: Annotated[
        str, typer.Argument(help="ne1000 (syringe pumps) or tc (Modbus temperature controller)")
    ],
    link: Annotated[
        Path, typer.Option("--link", help="symlink to the pseudo-terminal, e.g. /tmp/qdlab-ne1000")
    ],
    address: Annotated[
        Optional[list[int]], typer.Option("--address", help="ne1000: pump address (repeatable)")
    ] = None,
    fault: Annotated[
        Optional[list[str]],
        typer.Option(
            "--fault", help="drop:P garble:P delay:S hang-after:N stall-after:N power-cycle-after:N"
        ),
    ] = None,
    speed: Annotated[
        float, typer.Option("--speed", help="the emulated world's clock, times real time")
    ] = 1.0,
    material: Annotated[str, typer.Option("--material", help="material of the emulated world")] = "CdSe",
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
) -> None:
    """Serve a wire-level emulator on a pseudo-terminal until Ctrl-C."""
    from lab.run.emulate import serve_forever

    serve_forever(
        device,
        link=link,
        addresses=address or [],
        speed=speed,
        faults=fault or [],
        seed=seed,
        material=material,
        announce=err.print,
    )


@app.command()
def bench(
    campaign: Annotated[Optional[Path], typer.Option("--campaign", help="campaign TOML file")] = None,
    suite: Annotated[
        Optional[str],
        typer.Option(
            "--suite",
            help="a benchmark suite (tuning, reporting, independent, "
            "all, functions, smoke) or problems, comma-separated "
            "(docs/benchmarks.md)",
        ),
    ] = None,
    strategies: Annotated[str, typer.Option("--strategies", help="comma-separated")] = "botorch,sobol,random",
    repeats: Annotated[int, typer.Option("--repeats", min=1)] = 5,
    first_repeat: Annotated[
        int,
        typer.Option(
            "--first-repeat", min=0, help="number repeats from here (fresh worlds for a held-out check)"
        ),
    ] = 0,
    budget: Annotated[Optional[int], typer.Option("--budget", min=1, help="experiments per campaign")] = None,
    lab: Annotated[
        Optional[Path], typer.Option("--lab", help="lab TOML (default: the simulated lab)")
    ] = None,
    reactor_model: Annotated[
        Optional[str], typer.Option("--reactor-model", help="PATH.py:FUNC steady-state model")
    ] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask scheduler address")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="local Dask workers")] = 2,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="write the JSON result here (and a .png plot)")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout")] = False,
    latency_observations: Annotated[
        int,
        typer.Option(
            "--latency-observations", min=0, help="also time proposals with this many observations (0: skip)"
        ),
    ] = 100,
) -> None:
    """Compare strategies on simulated campaigns or a benchmark suite (simulated time, parallel on Dask)."""
    import json as _json

    if (campaign is None) == (suite is None):
        raise ConfigurationError("give one of --campaign FILE or --suite NAME", source="bench")
    if suite is not None:
        if reactor_model or lab or first_repeat:
            raise ConfigurationError(
                "--reactor-model, --lab and --first-repeat apply to --campaign only", source="--suite"
            )
        from lab.bench.suite import suite_command

        suite_command(
            suite,
            strategies=strategies,
            repeats=repeats,
            budget=budget,
            scheduler=scheduler,
            workers=workers,
            out=out,
            json_out=json_out,
        )
        return

    from lab.bench.campaign import run_bench
    from lab.run.user_model import load_reactor_model
    from lab.view.console import out as out_console  # `out` is the option here
    from lab.config.files import load_campaign, load_lab
    from models.optimizers import STRATEGIES

    # the model first, here rather than in a worker: the campaign may name only the outcomes it declares
    model = load_reactor_model(reactor_model) if reactor_model else None
    spec = load_campaign(campaign, outcomes=model.outcomes if model else None)
    names = [s.strip() for s in strategies.split(",") if s.strip()]
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown or not names:
        raise ConfigurationError(
            f"unknown strategy {', '.join(unknown) or '(none)'}; known: {', '.join(STRATEGIES)}",
            source="--strategies",
        )
    lab_path = lab or _sim_lab_path(spec.material)
    lab_cfg = load_lab(lab_path)
    if any(p.type != "sim" for p in lab_cfg.pumps.values()):
        raise ConfigurationError(
            "bench runs simulated campaigns only; give a simulated lab", source=str(lab_path)
        )
    budget = budget or spec.budget
    total = len(names) * repeats
    with campaign_progress() as progress:
        task = progress.add_task(f"bench {spec.name}", total=total, status="")

        def on_done(r: dict) -> None:
            reached = r["experiments_to_target"]
            progress.update(
                task,
                advance=1,
                status=f"{r['strategy']} #{r['repeat']}: "
                + ("target not reached" if reached is None else f"target at experiment {reached}"),
            )

        result = run_bench(
            spec,
            lab_cfg,
            strategies=names,
            repeats=repeats,
            budget=budget,
            scheduler=scheduler,
            reactor_model=reactor_model,
            workers=workers,
            on_done=on_done,
            first_repeat=first_repeat,
        )
    if latency_observations and not reactor_model:
        from lab.bench.campaign import latency_at

        for name in names:
            result["strategies"][name]["proposal_latency_at_n_s"] = latency_at(
                spec, lab_cfg, name, latency_observations
            )
    from rich.table import Table

    table = Table(title=f"{spec.name}: {repeats} repeats, budget {budget}")
    for col in (
        "strategy",
        "median exp. to target",
        "reached",
        "median best true",
        "latency p50 s",
        "latency p95 s",
        f"p95 s at {latency_observations} obs.",
    ):
        table.add_column(col, justify="right")
    for name, s in result["strategies"].items():
        at_n = s.get("proposal_latency_at_n_s", {}).get("p95")
        table.add_row(
            name,
            fmt(s["median_experiments_to_target"]),
            f"{s['reached']}/{repeats}",
            fmt(s["median_best_true"]),
            fmt(s["proposal_latency_s"]["p50"], 3),
            fmt(s["proposal_latency_s"]["p95"], 3),
            fmt(at_n, 3),
        )
    console = err if json_out else out_console
    console.print(table)
    if out:
        from lab.bench.plot import plot_bench

        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(_json.dumps(result, indent=1))
        plot_bench(result, out.with_suffix(".png"))
        console.print(f"wrote {out} and {out.with_suffix('.png')}")
    if json_out:
        emit_json({k: v for k, v in result.items() if k != "runs"})


def _error(text: str) -> None:
    """One line on stderr, never wrapped (scripts and tests read it)."""
    sys.stderr.write(" ".join(text.split()) + "\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    """Console entry point: one clear line per error, never a traceback for bad input."""
    from models.errors import Interrupted  # not lab.run.session: --help and bad input stay quick

    try:
        app(args=argv, standalone_mode=False, prog_name="qdlab")
    except (click.exceptions.Exit, typer.Exit) as exc:
        return exc.exit_code
    except (click.exceptions.Abort, typer.Abort):
        _error("qdlab: stopped")
        return 130
    except (click.ClickException, typer_click.ClickException) as exc:
        _error(f"qdlab: {exc.format_message()}")
        return 2
    except (ConfigurationError, LogError) as exc:
        _error(f"qdlab: {exc}")
        return 2
    except Interrupted as exc:
        _error(f"qdlab: {exc}")
        return exc.exit_status
    except LogWriteError as exc:  # the campaign stopped safely; resumable once the disk is fixed
        _error(f"qdlab: {exc}")
        return 1
    except QdlabError as exc:
        _error(f"qdlab: {type(exc).__name__}: {exc}" + (f"; {exc.made_safe}" if exc.made_safe else ""))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
