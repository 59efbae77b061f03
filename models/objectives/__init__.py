"""The campaign objective and what is defined from it alone: feasibility, the incumbent, the Pareto front.

- :mod:`models.objectives.objective`: outcomes of one experiment -> one number (or several);
- :mod:`models.objectives.constraints`: outcome constraints (``plqy >= 0.3``);
- :mod:`models.objectives.pareto`: the one non-dominance rule;
- :mod:`models.objectives.incumbent`: the one incumbent ("best experiment") and Pareto front.
"""

from models.objectives.constraints import OutcomeConstraint, outcome_constraints
from models.objectives.incumbent import failed, incumbent, incumbent_trace, is_feasible, pareto_positions
from models.objectives.objective import (
    MultiObjective,
    Objective,
    ObjectiveTerm,
    failure_reason,
    is_failed,
    make_objective,
)
from models.objectives.pareto import non_dominated

__all__ = [
    "Objective",
    "MultiObjective",
    "ObjectiveTerm",
    "make_objective",
    "is_failed",
    "failure_reason",
    "OutcomeConstraint",
    "outcome_constraints",
    "non_dominated",
    "failed",
    "is_feasible",
    "incumbent",
    "incumbent_trace",
    "pareto_positions",
]
