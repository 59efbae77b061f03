import importlib.util
import pathlib
import sys

import numpy as np
import pytest
from scipy.stats import qmc

import simulators

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_script(name: str):
    """``scripts/<name>.py`` as a module (loaded once; ``scripts/`` on the path for its own imports)."""
    if name in sys.modules:
        return sys.modules[name]
    sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def sobol_conditions(material: str, n: int = 256, seed: int = 0) -> dict[str, np.ndarray]:
    ds = simulators.describe(material)
    x = qmc.Sobol(len(ds), seed=seed).random(n)
    return {d["name"]: d["low"] + x[:, i] * (d["high"] - d["low"]) for i, d in enumerate(ds)}


@pytest.fixture(scope="session")
def sobol_results():
    cache = {}

    def get(material):
        if material not in cache:
            cache[material] = simulators.evaluate_many(material, sobol_conditions(material))
        return cache[material]

    return get


@pytest.fixture(scope="session")
def sobol():
    return sobol_conditions
