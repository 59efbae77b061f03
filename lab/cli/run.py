"""qdlab run, resume, sync and refill: running a campaign, and what it needs while it runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lab.cli.app import app, sim_lab_path
from lab.view.console import emit_json, err, out, outcome_table
from models.errors import ConfigurationError, LogError

__all__ = ["refill", "resume", "run", "sync"]

CampaignArg = Annotated[Path, typer.Argument(help="campaign TOML file")]
LabOpt = Annotated[Optional[Path], typer.Option("--lab", help="lab TOML file (real or emulated rig)")]
SimOpt = Annotated[bool, typer.Option("--sim", help="run against the simulated reactor")]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="campaign directory (default runs/NAME)")]
BudgetOpt = Annotated[Optional[int], typer.Option("--budget", min=1, help="experiments to carry through")]
SeedOpt = Annotated[Optional[int], typer.Option("--seed", min=0, help="seed of optimiser and simulator")]
RealtimeOpt = Annotated[bool, typer.Option("--realtime", help="simulate at wall-clock speed")]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="replace a campaign already in --out (moved aside to DIR.replaced-<time>, never deleted)",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the result as JSON on stdout")]
TiledOpt = Annotated[
    Optional[str],
    typer.Option(
        "--tiled", help="also stream the documents to this Tiled server, e.g. http://localhost:8000"
    ),
]
ReactorModelOpt = Annotated[
    Optional[str],
    typer.Option(
        "--reactor-model",
        help="PATH.py:FUNC, your steady-state model in place of the simulator's chemistry",
    ),
]


@app.command()
def run(
    campaign: CampaignArg,
    lab: LabOpt = None,
    sim: SimOpt = False,
    out: OutOpt = None,
    budget: BudgetOpt = None,
    seed: SeedOpt = None,
    realtime: RealtimeOpt = False,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
    tiled: TiledOpt = None,
    reactor_model: ReactorModelOpt = None,
) -> None:
    """Run a campaign on a simulated (--sim) or real (--lab) rig."""
    if sim == (lab is not None):
        raise ConfigurationError("give exactly one of --sim or --lab LAB.toml", source="qdlab run")
    spec, lab_cfg, lab_path, model = _load_run_files(
        campaign, lab, sim=sim, budget=budget, seed=seed, reactor_model=reactor_model
    )
    directory = out or Path("runs") / spec.name
    session, sink = _open_session(
        spec,
        lab_cfg,
        directory,
        campaign=campaign,
        lab_path=lab_path,
        realtime=realtime,
        model=model,
        force=force,
        tiled=tiled,
    )
    if tiled:
        from lab.store.tiled import shown

        err.print(
            f"streaming to Tiled at {shown(tiled)}, campaign id {session.spec.id}",
            markup=False,
            soft_wrap=True,
        )
    _run_streaming(session, json_out, sink)


def _load_run_files(campaign: Path, lab: Path | None, *, sim: bool, budget, seed, reactor_model):
    """The reactor model, the campaign (with --budget and --seed) and the lab: ``(spec, lab_cfg, lab_path,
    model)``."""
    from lab.config.files import load_campaign, load_lab

    model = None
    if reactor_model:  # first: the campaign may name only the outcomes the model declares
        from lab.run.user_model import load_reactor_model

        model = load_reactor_model(reactor_model)
    spec = load_campaign(campaign, outcomes=model.outcomes if model else None)
    updates = {k: v for k, v in (("budget", budget), ("seed", seed)) if v is not None}
    spec = spec.model_copy(update=updates) if updates else spec
    lab_path = sim_lab_path(spec.material) if sim else lab
    lab_cfg = load_lab(lab_path)
    if model is not None and any(p.type != "sim" for p in lab_cfg.pumps.values()):
        raise ConfigurationError(
            "--reactor-model replaces the simulator: use it with --sim or a simulated lab",
            source="--reactor-model",
        )
    return spec, lab_cfg, lab_path, model


def _open_session(spec, lab_cfg, directory: Path, *, campaign, lab_path, realtime, model, force, tiled):
    """The checked session (and its Tiled sink) in ``directory``; a campaign it replaces is moved aside only
    once every check passed. Returns ``(session, sink)``."""
    from lab.store.out_dir import check_out_dir

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
    return session, sink


@app.command()
def resume(
    directory: Annotated[Path, typer.Argument(help="campaign directory to continue")],
    budget: Annotated[
        Optional[int],
        typer.Option(
            "--budget", min=1, help="extend (or set) the budget to N experiments; recorded in the log"
        ),
    ] = None,
    realtime: RealtimeOpt = False,
    json_out: JsonOpt = False,
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
        from lab.store.tiled_sync import sync as sync_log

        sink = TiledSink(tiled, directory, session.spec.id).connect()
        synced = sync_log(sink)  # the log first, before any new document
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
    from lab.store.tiled_sync import sync as sync_log

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
        result = sync_log(TiledSink(tiled, directory, spec.id).connect())
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
        console.print(outcome_table(f"best: experiment {best.index}", {**best.parameters}))
        console.print(outcome_table("its outcomes", {k: v for k, v in best.outcomes.items()}))
    if json_out:
        last = usage[-1] if usage else None
        emit_json(
            {
                "directory": str(result.directory),
                "experiments": len(result.records),
                "best": None
                if best is None
                else {"index": best.index, "conditions": best.parameters, "outcomes": best.outcomes},
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
