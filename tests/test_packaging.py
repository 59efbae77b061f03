"""A wheel of qdlab, installed (not editable) into a fresh virtualenv, runs from any directory through
its own ``qdlab`` script: the examples, the simulator's material data and the benchmark data are package
data, and ``qdlab --version`` reads the installed version. (The virtualenv borrows this environment's
dependencies through a ``.pth`` file, so no torch is installed twice; qdlab itself is only the wheel's.)"""

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
    venv = base / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    vpy = venv / "bin" / "python"
    site = subprocess.run(
        [vpy, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    install = subprocess.run(
        [vpy, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    # the dependencies: this environment's site-packages, after the virtualenv's own (a path in a .pth
    # file is added without running the .pth files inside it, so this checkout's editable hook stays out)
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (Path(site) / "qdlab-test-deps.pth").write_text("\n".join(deps) + "\n")
    return venv


def _qdlab(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [venv / "bin" / "qdlab", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_installed_copy_is_the_one_imported_and_has_its_data(installed, tmp_path):
    probe = subprocess.run(
        [
            installed / "bin" / "python",
            "-c",
            "import lab.cli, simulators, models.benchmarks; from lab.config.files import EXAMPLES; "
            "print(lab.cli.__file__); print(sorted(p.name for p in EXAMPLES['campaigns'].glob('*.toml')))",
        ],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr
    first, examples = probe.stdout.splitlines()[:2]
    assert first.startswith(str(installed)) and "site-packages" in first
    assert "cdse-green.toml" in examples


def test_an_installed_qdlab_runs_a_simulated_campaign_from_another_directory(installed, tmp_path):
    version = _qdlab(installed, tmp_path, "--version")
    assert version.returncode == 0 and version.stdout.startswith("qdlab ")
    (campaign,) = installed.glob("lib/python*/site-packages/campaigns/examples/cdse-green.toml")
    text = campaign.read_text().replace('strategy = "botorch"', 'strategy = "sobol"')
    (tmp_path / "c.toml").write_text(text)
    run = _qdlab(installed, tmp_path, "run", "c.toml", "--sim", "--out", "out", "--budget", "1")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out" / "documents.jsonl").stat().st_size > 0
