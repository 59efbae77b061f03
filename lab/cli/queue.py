"""qdlab serve and agent: a reactor behind bluesky-queueserver, and the loop that keeps its queue fed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lab.cli.app import app, sim_lab_path
from lab.view.console import emit_json, err, out
from models.errors import ConfigurationError

__all__ = ["serve", "agent"]

QueueOpt = Annotated[
    list[str],
    typer.Option(
        "--queue",
        help="a reactor's queue server, NAME=tcp://HOST:CONTROL,tcp://HOST:INFO (its two 0MQ sockets; "
        "repeat for each reactor)",
    ),
]


@app.command()
def serve(
    lab: Annotated[Optional[Path], typer.Option("--lab", help="this reactor's lab TOML file")] = None,
    sim: Annotated[
        Optional[str], typer.Option("--sim", help="a simulated reactor of MATERIAL (e.g. CdSe)")
    ] = None,
    material: Annotated[str, typer.Option("--material", help="a simulated --lab's material")] = "CdSe",
    seed: Annotated[int, typer.Option("--seed", min=0, help="the simulated world's seed")] = 0,
    folder: Annotated[Path, typer.Option("--folder", help="where the server keeps its files")] = Path(
        "queue"
    ),
    redis_addr: Annotated[str, typer.Option("--redis-addr", help="Redis, HOST:PORT")] = "127.0.0.1:6379",
    redis_prefix: Annotated[str, typer.Option("--redis-prefix", help="this server's Redis keys")] = "qdlab",
    zmq_control_addr: Annotated[
        str, typer.Option("--zmq-control-addr", help="control socket")
    ] = "tcp://127.0.0.1:60615",
    zmq_info_addr: Annotated[
        str, typer.Option("--zmq-info-addr", help="info socket")
    ] = "tcp://127.0.0.1:60625",
    tiled: Annotated[
        Optional[str],
        typer.Option("--tiled", help="also stream every campaign's documents to this Tiled server"),
    ] = None,
    realtime: Annotated[bool, typer.Option("--realtime", help="simulate at wall-clock speed")] = False,
) -> None:
    """Run one reactor behind a bluesky-queueserver RE manager (its plans: calibrate, experiment, settle,
    make_safe); runs until stopped."""
    from lab.config.files import load_lab
    from lab.queue.server import ServeOptions, serve as become_manager

    if (sim is None) == (lab is None):
        raise ConfigurationError("give exactly one of --sim MATERIAL or --lab LAB.toml", source="qdlab serve")
    lab_path = sim_lab_path(sim) if sim is not None else lab
    load_lab(lab_path)  # a bad file: one line here, not a worker's traceback in the server's log
    options = ServeOptions(
        lab=Path(lab_path),
        material=sim or material,
        seed=seed,
        folder=folder,
        redis_addr=redis_addr,
        zmq_control_addr=zmq_control_addr,
        zmq_info_addr=zmq_info_addr,
        redis_prefix=redis_prefix,
        tiled=tiled,
        realtime=realtime,
    )
    err.print(
        f"qdlab serve: {lab_path} on {zmq_control_addr} (Redis {redis_addr})", markup=False, soft_wrap=True
    )
    become_manager(options)


@app.command()
def agent(
    campaign: Annotated[Optional[Path], typer.Argument(help="campaign TOML file (or --resume DIR)")] = None,
    queue: QueueOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    resume: Annotated[
        Optional[Path], typer.Option("--resume", help="continue the agent-driven campaign in DIR")
    ] = None,
    lab: Annotated[Optional[Path], typer.Option("--lab", help="the reactors' lab TOML file")] = None,
    sim: Annotated[bool, typer.Option("--sim", help="the reactors are simulated (the example lab)")] = False,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="campaign directory (default runs/NAME)")
    ] = None,
    budget: Annotated[
        Optional[int], typer.Option("--budget", min=1, help="experiments to carry through")
    ] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, help="the optimiser's seed")] = None,
    force: Annotated[bool, typer.Option("--force", help="replace a campaign already in --out")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the result as JSON on stdout")] = False,
) -> None:
    """Run a campaign's closed loop outside the RunEngine: each experiment is queued on a free reactor's
    queue server (qdlab serve), proposals account for what the others run, the log is the truth."""
    from lab.queue.queues import parse_queue

    if not queue:
        raise ConfigurationError("give at least one --queue NAME=CONTROL,INFO", source="qdlab agent")
    addresses = [parse_queue(q) for q in queue]
    if len({a.name for a in addresses}) != len(addresses):
        raise ConfigurationError("two --queue options share a name", source="--queue")
    if (campaign is None) == (resume is None):
        raise ConfigurationError("give a campaign file or --resume DIR, not both", source="qdlab agent")
    session = _agent_session(
        campaign, resume, lab=lab, sim=sim, out=out, budget=budget, seed=seed, force=force
    )
    result = _drive(session, addresses, resume=resume is not None)
    _summary(result, json_out)


def _agent_session(campaign, resume, *, lab, sim, out, budget, seed, force):
    """The session whose decisions the agent makes: a new campaign's (checked as qdlab run checks it), or the
    one in --resume's directory (as qdlab resume opens it)."""
    if resume is not None:
        if campaign is not None or lab is not None or sim or seed is not None or out is not None:
            raise ConfigurationError(
                "--resume takes the campaign as it began: only --budget", source="--resume"
            )
        from lab.run.session import open_for_resume

        return open_for_resume(resume, budget=budget)
    if sim == (lab is not None):
        raise ConfigurationError("give exactly one of --sim or --lab LAB.toml", source="qdlab agent")
    from lab.config.files import load_campaign, load_lab
    from lab.store.out_dir import check_out_dir

    spec = load_campaign(campaign)
    updates = {k: v for k, v in (("budget", budget), ("seed", seed)) if v is not None}
    spec = spec.model_copy(update=updates) if updates else spec
    lab_path = sim_lab_path(spec.material) if sim else lab
    lab_cfg = load_lab(lab_path)
    directory = out or Path("runs") / spec.name
    target = check_out_dir(directory, force=force)
    try:
        from lab.run.session import CampaignSession

        session = CampaignSession(
            spec, lab_cfg, directory, campaign_source=str(campaign), lab_source=str(lab_path)
        )
        session.preflight(fresh=True)
        target.replace()
    finally:
        target.release()
    return session


def _drive(session, addresses, *, resume: bool):
    from lab.queue.agent import Agent
    from lab.queue.queues import Queue

    queues = [Queue(a) for a in addresses]

    def progress(record, reactor: str) -> None:
        objective = record.outcomes.get("objective")
        shown = (
            "failed: " + record.outcomes["failure"]
            if record.outcomes.get("failure")
            else f"objective {objective}"
        )
        err.print(f"experiment {record.index} on {reactor}: {shown}", markup=False, highlight=False)

    try:
        return Agent(session, queues, resume=resume, progress=progress).run()
    finally:
        for q in queues:
            q.close()


def _summary(result, json_out: bool) -> None:
    """Experiments, the target, and each reactor's time (its clock at its last measurement, and at the
    target's); JSON on stdout with --json."""
    from lab.queue.reactors import reactor_times

    times = reactor_times(result)
    console = err if json_out else out
    console.print(f"{len(result.records)} experiments in {result.directory}", markup=False)
    if times["reached_at"] is not None:
        console.print(
            f"target reached at experiment {times['reached_at']} ({times['experiments_to_target']} experiments, "
            f"{times['reactor_s_to_target']:.0f} s on its reactor's clock)",
            markup=False,
        )
    elif result.objective.reached_ranges:
        console.print("target not reached", markup=False)
    for name, seconds in times["reactor_s"].items():
        console.print(
            f"reactor {name}: {times['experiments_on'][name]} experiments, {seconds:.0f} s", markup=False
        )
    if json_out:
        emit_json({"directory": str(result.directory), "experiments": len(result.records), **times})
