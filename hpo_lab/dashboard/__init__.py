"""The live dashboard: a view of a :class:`~hpo_lab.Session` in JupyterLab.

The dashboard keeps its own model of the session (:class:`DashboardModel`), loaded from storage
and then fed by the session's events.
"""

from ._changes import Changes
from ._downsample import downsample, minmax_indices
from ._model import ActionRecord, DashboardModel, HistoryEntry, TrialRecord
from ._table import TrialTable

__all__ = [
    "ActionRecord",
    "Changes",
    "DashboardModel",
    "HistoryEntry",
    "TrialRecord",
    "TrialTable",
    "downsample",
    "minmax_indices",
]
