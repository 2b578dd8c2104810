"""The live dashboard: a view of a :class:`~hpo_lab.Session` in JupyterLab.

The dashboard keeps its own model of the session (:class:`DashboardModel`), loaded from storage
and then fed by the session's events. Each view has a pure function that computes its data from
the model (testable without a browser) and a step that applies it to widgets
(:class:`TraceSync` for plotly figures).
"""

from ._changes import Changes
from ._curves import CurvesData, curves_data
from ._detail import DetailData, TrialDetail, detail_data
from ._downsample import downsample, minmax_indices
from ._history import HistoryData, history_data
from ._model import ActionRecord, DashboardModel, HistoryEntry, TrialRecord
from ._params import ParamAxis, ParamsData, params_data
from ._status import StatusBar, StatusData, status_data
from ._table import TrialTable
from ._traces import TraceSpec, TraceSync

__all__ = [
    "ActionRecord",
    "Changes",
    "CurvesData",
    "DashboardModel",
    "DetailData",
    "HistoryData",
    "HistoryEntry",
    "ParamAxis",
    "ParamsData",
    "StatusBar",
    "StatusData",
    "TraceSpec",
    "TraceSync",
    "TrialDetail",
    "TrialRecord",
    "TrialTable",
    "curves_data",
    "detail_data",
    "downsample",
    "history_data",
    "minmax_indices",
    "params_data",
    "status_data",
]
