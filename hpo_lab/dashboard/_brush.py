"""`BrushRelay`: box and lasso selections of a plotly figure, relayed to the kernel reliably."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import anywidget
import ipywidgets
import traitlets

from ._assets import asset_path

logger = logging.getLogger(__name__)
BrushCallback = Callable[[list[tuple[str, int]]], Any]


class BrushRelay(anywidget.AnyWidget):
    """An invisible widget that watches the plotly figure beside it (in the same Pareto panel,
    found by its CSS class ``target``) and reports each selection as ``[(xaxis, number), ...]``:
    the subplot's x axis (``"x"``, ``"x2"``...) and the trial number (the point's customdata)
    of every point brushed; an empty list when the selection is cleared.

    plotly's own ``on_selection`` callbacks arrive through the attribute that also carries hover
    events, which ipywidgets merges while a message is in flight: a hover right after a selection
    replaces it. Custom messages are not merged.

    Example:
        >>> relay = BrushRelay(target="my-figure")
        >>> relay.on_brush(print)
        >>> relay._handle_message(relay, {"type": "brush", "points": [["x2", 7.0]]}, [])
        [('x2', 7)]
    """

    _esm = asset_path("brush_relay.js")

    target = traitlets.Unicode(help="CSS class of the figure to watch").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("layout", ipywidgets.Layout(width="0px", height="0px", overflow="hidden"))
        super().__init__(**kwargs)
        self._callbacks = ipywidgets.CallbackDispatcher()
        self.on_msg(self._handle_message)

    def on_brush(self, callback: BrushCallback, remove: bool = False) -> None:
        """Registers ``callback(points)``, called with each selection."""
        self._callbacks.register_callback(callback, remove=remove)

    def _handle_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not (isinstance(content, Mapping) and content.get("type") == "brush"):
            logger.warning("BrushRelay ignored a front-end message: %r", content)
            return
        points = []
        for item in content.get("points") or []:
            try:
                axis, number = str(item[0]), float(item[1])
            except (TypeError, ValueError, IndexError):
                continue
            if math.isfinite(number):
                points.append((axis, int(number)))
        self._callbacks(points)
