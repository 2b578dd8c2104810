"""Exporting a trial: a runnable script, a notebook, JSON or YAML."""

from hpo_lab.export._capture import CapturedObjective, CaptureError, capture_objective
from hpo_lab.export._fixed import FixedTrial
from hpo_lab.export._select import Choice, choose_trial
from hpo_lab.export._store import StoredObjective, record_objective, stored_objectives

__all__ = [
    "CaptureError",
    "CapturedObjective",
    "Choice",
    "FixedTrial",
    "StoredObjective",
    "capture_objective",
    "choose_trial",
    "record_objective",
    "stored_objectives",
]
