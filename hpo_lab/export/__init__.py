"""Exporting a trial: a runnable script, a notebook, JSON or YAML.

``session.export()`` writes the best trial as ``best.py``: the objective's source as written
in the notebook, what it uses, the trial's parameters, and a ``__main__`` that runs it with an
:class:`FixedTrial`. The source is captured when the session starts and kept with the study,
so ``hpo-lab export --study NAME`` works from storage alone, in another process.
"""

from hpo_lab.export._capture import CapturedObjective, CaptureError, capture_objective
from hpo_lab.export._export import (
    export_from_storage,
    export_session,
    export_study,
    load_export,
)
from hpo_lab.export._fixed import FixedTrial
from hpo_lab.export._record import ExportRecord
from hpo_lab.export._render import FORMATS
from hpo_lab.export._select import Choice, choose_trial
from hpo_lab.export._store import StoredObjective, record_objective, stored_objectives

__all__ = [
    "FORMATS",
    "CaptureError",
    "CapturedObjective",
    "Choice",
    "ExportRecord",
    "FixedTrial",
    "StoredObjective",
    "capture_objective",
    "choose_trial",
    "export_from_storage",
    "export_session",
    "export_study",
    "load_export",
    "record_objective",
    "stored_objectives",
]
