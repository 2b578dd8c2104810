"""Constraints added while a search runs: on parameters and on outcomes."""

from hpo_lab.constraints._model import (
    Constraints,
    OutcomeConstraint,
    ParamConstraint,
    is_outcome_expression,
    make_param_constraint,
    parse_outcome,
)
from hpo_lab.constraints._sampler import ConstrainedSampler, evaluate_outcomes, unwrap
from hpo_lab.constraints._source import ConstraintSource

__all__ = [
    "ConstrainedSampler",
    "ConstraintSource",
    "Constraints",
    "OutcomeConstraint",
    "ParamConstraint",
    "evaluate_outcomes",
    "is_outcome_expression",
    "make_param_constraint",
    "parse_outcome",
    "unwrap",
]
