"""A wheel of qdlab, installed (not editable) elsewhere, runs from any directory: the examples, the
simulator's material data and the benchmark data are package data, and ``qdlab --version`` reads the
installed version. (The dependencies are this environment's; the wheel is installed without them.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("wheel")
    wheels = base / "dist"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            wheels,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("qdlab-*.whl")
    target = base / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", target, wheel],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return target


def _qdlab(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(target)}  # the installed copy first, ahead of the source tree
    code = "import sys; from lab.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_installed_copy_is_the_one_imported_and_has_its_data(installed, tmp_path):
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import lab.cli, simulators, models.benchmarks; from lab.config.files import EXAMPLES; "
            "print(lab.cli.__file__); print(sorted(p.name for p in EXAMPLES['campaigns'].glob('*.toml')))",
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(installed)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    first, examples = probe.stdout.splitlines()[:2]
    assert first.startswith(str(installed))
    assert "cdse-green.toml" in examples


def test_an_installed_qdlab_runs_a_simulated_campaign_from_another_directory(installed, tmp_path):
    version = _qdlab(installed, tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("qdlab ")
    campaign = installed / "campaigns" / "examples" / "cdse-green.toml"
    text = campaign.read_text().replace('strategy = "botorch"', 'strategy = "sobol"')
    (tmp_path / "c.toml").write_text(text)
    run = _qdlab(installed, tmp_path, "run", "c.toml", "--sim", "--out", "out", "--budget", "1")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "documents.jsonl").stat().st_size > 0
