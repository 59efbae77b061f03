"""The layer rule of DESIGN.md is a failing check, not a diagram."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert len(contracts) >= 5  # the layers, the no-ophyd models, the simulator's inner layers, ...
    assert f"Contracts: {len(contracts)} kept, 0 broken" in result.stdout


def test_top_level_packages_exist():
    for package in ("lab", "devices", "campaigns", "models", "simulators"):
        assert (ROOT / package / "__init__.py").is_file()


def test_simulator_chemistry_imports_without_the_device_layer():
    """``import simulators`` (the chemistry) loads neither ophyd, bluesky nor devices; the rig loads on use."""
    code = (
        "import sys, simulators; simulators.evaluate_true('CdSe', {}); "
        "print(sorted(m for m in ('ophyd', 'bluesky', 'devices', 'simulators.rig') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_lab_sources_and_lab_tiled_import_no_circle():
    """lab.store.sources reads a campaign from a directory or Tiled; lab.store.tiled knows nothing of it."""
    import ast

    tree = ast.parse((ROOT / "lab/store/tiled.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert "lab.store.sources" not in imported
