"""Physical models (sizing curves, spectrum -> figures of merit) and ask/tell optimisers.

Public names are imported lazily so that ``import models.errors`` (done by every layer) does not
pay for torch/BoTorch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what __getattr__ hands out, for type checkers (nothing is imported at run time)
    from models.analysis import analyze_absorbance, analyze_pl, figures_of_merit
    from models.objectives import MultiObjective, Objective, make_objective
    from models.optimizers import STRATEGIES, Optimizer, make_optimizer

__all__ = [
    "make_optimizer",
    "STRATEGIES",
    "Optimizer",
    "Objective",
    "MultiObjective",
    "make_objective",
    "analyze_absorbance",
    "analyze_pl",
    "figures_of_merit",
]

_WHERE = {
    "make_optimizer": "models.optimizers",
    "STRATEGIES": "models.optimizers",
    "Optimizer": "models.optimizers",
    "Objective": "models.objectives",
    "MultiObjective": "models.objectives",
    "make_objective": "models.objectives",
    "analyze_absorbance": "models.analysis",
    "analyze_pl": "models.analysis",
    "figures_of_merit": "models.analysis",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
