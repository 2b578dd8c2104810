"""The live dashboard: a view of a :class:`~hpo_lab.Session` in JupyterLab.

``session.dashboard()`` (or a bare ``session`` at the end of a cell) shows it. Each view has a
pure function that computes its data from the dashboard's model (testable without a browser) and
a step that applies it to widgets; tabs are :class:`Panel` subclasses, registered with
:func:`register_panel`.
"""

from ._action_log import ActionLogData, action_log_data
from ._changes import Changes
from ._controls_panel import ControlsData, ControlsPanel, controls_data
from ._curves import CurvesData, curves_data
from ._curves_panel import CurvesPanel
from ._dashboard import Dashboard
from ._detail import DetailData, TrialDetail, detail_data
from ._downsample import downsample, minmax_indices
from ._history import HistoryData, history_data
from ._hypergrad import HypergradData, Hyperparameter, hypergrad_data
from ._hypergrad_panel import HypergradPanel
from ._lineage import LineageData, lineage_data
from ._model import ActionRecord, DashboardModel, HistoryEntry, TrialRecord
from ._panel import Panel, PanelContext, register_panel, registered_panels, unregister_panel
from ._params import ParamAxis, ParamsData, params_data
from ._params_panel import ParamsPanel
from ._pareto import ParetoCache, ParetoViewData, pareto_view_data
from ._pareto_panel import ParetoPanel
from ._status import StatusBar, StatusData, status_data
from ._table import TrialTable
from ._traces import TraceSpec, TraceSync

__all__ = [
    "ActionLogData",
    "ActionRecord",
    "Changes",
    "ControlsData",
    "ControlsPanel",
    "CurvesData",
    "CurvesPanel",
    "Dashboard",
    "DashboardModel",
    "DetailData",
    "HistoryData",
    "HistoryEntry",
    "HypergradData",
    "HypergradPanel",
    "Hyperparameter",
    "LineageData",
    "Panel",
    "PanelContext",
    "ParamAxis",
    "ParamsData",
    "ParamsPanel",
    "ParetoCache",
    "ParetoPanel",
    "ParetoViewData",
    "StatusBar",
    "StatusData",
    "TraceSpec",
    "TraceSync",
    "TrialDetail",
    "TrialRecord",
    "TrialTable",
    "action_log_data",
    "controls_data",
    "curves_data",
    "detail_data",
    "downsample",
    "history_data",
    "hypergrad_data",
    "lineage_data",
    "minmax_indices",
    "params_data",
    "pareto_view_data",
    "register_panel",
    "registered_panels",
    "status_data",
    "unregister_panel",
]
