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


def _imports(path: str) -> set[str]:
    """Every module ``path`` imports, at the top or in a function (``from a import b`` counts a and a.b)."""
    import ast

    tree = ast.parse((ROOT / path).read_text())
    found: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            found |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.module:
            found |= {n.module, *(f"{n.module}.{a.name}" for a in n.names)}
    return found


def test_lab_tiled_and_tiled_sync_import_no_circle():
    """lab.store.tiled_sync brings a server up to date through a lab.store.tiled sink; the sink module
    imports nothing of the sync, not even lazily, and both take the URI helpers from lab.store.tiled_uri."""
    tiled, sync, uri = (_imports(f"lab/store/{m}.py") for m in ("tiled", "tiled_sync", "tiled_uri"))
    assert "lab.store.tiled_sync" not in tiled
    assert "lab.store.tiled" in sync  # the one direction (a type)
    assert {"lab.store.tiled_uri.redact", "lab.store.tiled_uri.shown"} <= tiled & sync
    assert not {"lab.store.tiled", "lab.store.tiled_sync"} & uri
