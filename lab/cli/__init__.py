"""``qdlab``: the command line (DESIGN.md, Command line).

One module per command group, each registering its commands on the one app (:mod:`lab.cli.app`):
:mod:`lab.cli.run` (run, resume, sync, refill), :mod:`lab.cli.review` (replay, report, watch, export),
:mod:`lab.cli.tools` (simulate, emulate), :mod:`lab.cli.bench` (bench), :mod:`lab.cli.queue` (serve, agent). They are imported here in the order
``qdlab --help`` lists the commands. Heavy libraries (torch, BoTorch, bluesky) are imported inside the
commands only, so ``qdlab --help`` and bad input stay quick.

Exit status: 0 success, 1 campaign failed (device or safety stop, a stop that could not confirm a
device safe, or its document log could not be written: disk full, I/O error; resumable), 2 bad usage or
bad input, 130 / 143 / 129 stopped by SIGINT (Ctrl-C) / SIGTERM / SIGHUP (resumable).
"""

from __future__ import annotations

import sys

import click
import typer
from typer._click import exceptions as typer_click  # typer 0.29 vendors its own click

from lab.cli import run, review, tools, bench, queue  # noqa: F401  registers the commands, in this order
from lab.cli.app import app
from models.errors import ConfigurationError, LogError, LogWriteError, QdlabError

__all__ = ["app", "main"]


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
