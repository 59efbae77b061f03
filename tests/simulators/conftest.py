import numpy as np
import pytest
from scipy.stats import qmc

import simulators


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
