"""qdlab replay, report and watch: a campaign read back from its log, while it runs or after."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lab.cli.app import app
from lab.view.console import emit_json, err, fmt, out

__all__ = ["replay", "report", "watch", "export"]

TiledOpt = Annotated[Optional[str], typer.Option("--tiled", help="read the campaign from this Tiled server")]
CampaignIdOpt = Annotated[Optional[str], typer.Option("--campaign-id", help="campaign to read from Tiled")]


@app.command()
def replay(
    directory: Annotated[Optional[Path], typer.Argument(help="campaign directory (or use --tiled)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="one JSON object on stdout")] = False,
    tiled: TiledOpt = None,
    campaign_id: CampaignIdOpt = None,
) -> None:
    """Rebuild a campaign from its log and re-derive every decision."""
    from lab.tools.replay import replay_data
    from lab.store.sources import open_campaign

    result = replay_data(open_campaign(directory, tiled=tiled, campaign_id=campaign_id))
    if json_out:
        emit_json(result)
        return
    out.print(_replay_table(result))
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


def _replay_table(result: dict):
    """The replayed experiments, one row each."""
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
    return table


@app.command()
def report(
    directory: Annotated[
        Optional[Path],
        typer.Argument(help="campaign directory (with --tiled: where to write; default reports/CAMPAIGN_ID)"),
    ] = None,
    tiled: TiledOpt = None,
    campaign_id: CampaignIdOpt = None,
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
def export(
    directory: Annotated[Optional[Path], typer.Argument(help="campaign directory (or use --tiled)")] = None,
    csv_out: Annotated[bool, typer.Option("--csv", help="write CSV")] = False,
    parquet: Annotated[bool, typer.Option("--parquet", help="write Parquet (needs pyarrow)")] = False,
    out_path: Annotated[
        Optional[Path], typer.Option("--out", help="file to write (default DIR/experiments.csv or .parquet)")
    ] = None,
    tiled: TiledOpt = None,
    campaign_id: CampaignIdOpt = None,
) -> None:
    """One row per experiment run (parameters, set points, figures of merit, failure, reactor time,
    reagents used, decision), units in the column names, for a spreadsheet."""
    from lab.store.sources import open_campaign
    from lab.store.export import export_rows, write_csv, write_parquet
    from models.errors import ConfigurationError

    if csv_out == parquet:
        raise ConfigurationError("give one of --csv or --parquet", key="export")
    suffix = "csv" if csv_out else "parquet"
    if out_path is None:
        if directory is None:
            raise ConfigurationError("with --tiled, say where to write with --out", key="--out")
        out_path = directory / f"experiments.{suffix}"
    rows = export_rows(open_campaign(directory, tiled=tiled, campaign_id=campaign_id))
    written = (write_csv if csv_out else write_parquet)(rows, out_path)
    out.print(f"{len(rows)} runs -> {written}")
