"""qdlab simulate and emulate: the simulated reactor and the wire-level emulators, on their own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lab.cli.app import app
from lab.view.console import err
from models.materials import MATERIALS

__all__ = ["emulate", "simulate"]


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
