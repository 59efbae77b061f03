"""Ask/tell optimisers: BoTorch (single and multi-objective), baselines (random, Sobol, sklearn GP) and the
optional external back ends Ax and BayBE."""

from models.optimizers.base import Decision, Optimizer, OutcomeConstraint, SuggestInfo
from models.optimizers.botorch_multi import BoTorchMultiOptimizer
from models.optimizers.botorch_single import BoTorchOptimizer
from models.optimizers.cost import CostAware, CostWeighted
from models.optimizers.external import AxOptimizer, BayBEOptimizer
from models.optimizers.factory import STRATEGIES, make_optimizer
from models.optimizers.random import RandomOptimizer
from models.optimizers.sklearn_gp import SklearnGPOptimizer
from models.optimizers.sobol import SobolOptimizer
from models.optimizers.space import LinearConstraint, Parameter, Space

__all__ = [
    "Decision",
    "SuggestInfo",
    "Optimizer",
    "OutcomeConstraint",
    "BoTorchOptimizer",
    "BoTorchMultiOptimizer",
    "CostAware",
    "CostWeighted",
    "RandomOptimizer",
    "SobolOptimizer",
    "SklearnGPOptimizer",
    "AxOptimizer",
    "BayBEOptimizer",
    "STRATEGIES",
    "make_optimizer",
    "Parameter",
    "LinearConstraint",
    "Space",
]
