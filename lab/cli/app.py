"""The one typer app every command group registers on, and what more than one group needs."""

from __future__ import annotations

from pathlib import Path
import typer

from models.errors import ConfigurationError

__all__ = ["app", "sim_lab_path"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Self-driving flow synthesis of colloidal quantum dots.",
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"qdlab {version('qdlab')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            print("qdlab (not installed: no version)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="print qdlab's version and exit"
    ),
) -> None:
    """Self-driving flow synthesis of colloidal quantum dots."""


def sim_lab_path(material: str) -> Path:
    """The example simulated lab of a material (qdlab run --sim, qdlab bench)."""
    from lab.config.files import EXAMPLES

    path = EXAMPLES["lab"] / f"sim-{material.lower()}.toml"
    if not path.exists():
        raise ConfigurationError(f"no simulated lab for material '{material}'", source="--sim")
    return path
