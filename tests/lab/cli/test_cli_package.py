"""lab.cli is a package of command groups on one app (docs/adr/0014-lab-wings.md)."""

import re
import subprocess
import sys
from pathlib import Path

from lab.cli import app, main
from lab.cli.app import app as the_app

ROOT = Path(__file__).resolve().parents[3]
COMMANDS = [
    "run",
    "resume",
    "sync",
    "refill",
    "replay",
    "report",
    "watch",
    "export",
    "simulate",
    "emulate",
    "bench",
    "serve",
    "agent",
]


def test_every_group_registers_on_the_one_app_in_help_order():
    assert app is the_app
    assert [c.callback.__name__ for c in app.registered_commands] == COMMANDS
    modules = [c.callback.__module__ for c in app.registered_commands]
    assert (
        modules
        == ["lab.cli.run"] * 4
        + ["lab.cli.review"] * 4
        + ["lab.cli.tools"] * 2
        + ["lab.cli.bench"]
        + ["lab.cli.queue"] * 2
    )


def test_help_lists_the_commands_in_that_order(capsys):
    assert main(["--help"]) == 0
    listed = re.findall(r"^│ (\w+) ", capsys.readouterr().out, flags=re.MULTILINE)
    assert listed == COMMANDS


def test_python_dash_m_lab_cli_is_qdlab():
    result = subprocess.run(
        [sys.executable, "-m", "lab.cli", "refill"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr == "qdlab: Missing argument 'directory'.\n"  # main's one line, as qdlab's


def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"qdlab {version('qdlab')}\n"
