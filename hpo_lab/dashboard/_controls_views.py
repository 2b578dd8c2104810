"""The lineage tree and the action log: two small anywidgets (``widgets/controls.js``) instead
of plotly figures. Clicking a trial in either selects it in the dashboard."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import anywidget
import ipywidgets
import traitlets

from ._action_log import ActionLogData
from ._assets import asset_path
from ._lineage import LineageData

logger = logging.getLogger(__name__)


class _TrialsView(anywidget.AnyWidget):
    """A view whose front end sends ``{"type": "select", "number": int}`` on a click."""

    _esm = asset_path("controls.js")
    _css = asset_path("controls.css")

    kind = traitlets.Unicode(help="Which view the front end draws.").tag(sync=True)
    data = traitlets.Dict(help="The view's data, ready for JSON.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._select_callbacks = ipywidgets.CallbackDispatcher()
        self.on_msg(self._handle_message)

    def on_select(self, callback: Callable[[int], Any], remove: bool = False) -> None:
        """Registers ``callback(number)``, called when a trial is clicked."""
        self._select_callbacks.register_callback(callback, remove=remove)

    def _handle_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, Mapping) else None
        number = content.get("number") if isinstance(content, Mapping) else None
        if kind == "select" and isinstance(number, int) and number >= 0:
            self._select_callbacks(number)
        else:
            logger.warning("%s ignored a front-end message: %r", type(self).__name__, content)


class LineageView(_TrialsView):
    """The lineage tree: one row per trial, indented under the trial it forked from.

    Example:
        >>> view = LineageView()
        >>> view.show(LineageData((), 0, 0, None))
        >>> view.data
        {'nodes': [], 'n_forks': 0, 'truncated': 0, 'selected': None}
    """

    kind = traitlets.Unicode("lineage").tag(sync=True)

    def show(self, data: LineageData) -> None:
        """Sends ``data`` to the front end."""
        self.data = {
            "nodes": [n._asdict() for n in data.nodes],
            "n_forks": data.n_forks,
            "truncated": data.truncated,
            "selected": data.selected,
        }


class ActionLogView(_TrialsView):
    """The action log: time, action, trial, source, result and what it did; newest first."""

    kind = traitlets.Unicode("actions").tag(sync=True)

    def show(self, data: ActionLogData) -> None:
        """Sends ``data`` to the front end."""
        self.data = {
            "rows": [r._asdict() for r in data.rows],
            "total": data.total,
            "sources": [list(s) for s in data.sources],
        }
