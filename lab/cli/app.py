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


def sim_lab_path(material: str) -> Path:
    """The example simulated lab of a material (qdlab run --sim, qdlab bench)."""
    from lab.config.files import EXAMPLES

    path = EXAMPLES["lab"] / f"sim-{material.lower()}.toml"
    if not path.exists():
        raise ConfigurationError(f"no simulated lab for material '{material}'", source="--sim")
    return path
