"""The first tab: learning curves and the optimization history, side by side in one figure."""

from __future__ import annotations

from typing import Any, NamedTuple

import ipywidgets as w
import plotly.graph_objects as go

from . import _style as st
from ._changes import Changes
from ._curves import (
    HEADS_MARKER,
    HEADS_STYLE,
    LAYER,
    LEGEND,
    RUNNING_STYLE,
    RUNNING_WIDTH,
    CurvesData,
    curves_data,
    default_series,
)
from ._figure import LiveFigure
from ._history import LAYERS as HISTORY_LAYERS
from ._history import HistoryData, history_data
from ._hover import trial_line
from ._model import DashboardModel
from ._pacing import FramePacer
from ._panel import Panel, register_panel
from ._send import animatable, send_animate, send_restyle
from ._traces import Change, TraceSync

#: Past this many points drawn, finished curves switch from SVG to WebGL (``scattergl``). In the
#: headless chromium of the tests (software WebGL) SVG was faster at every size measured, up to
#: 200,000 points (``python benchmarks/dashboard_stream.py --only-plotly``), so the threshold is
#: above what the default ``budget`` draws: WebGL comes in only for a larger budget, where a
#: real GPU is the likelier reason to ask for it.
GL_THRESHOLD = 150_000
CURVES_DOMAIN = (0.0, 0.6)
HINT = (
    "<span class='hpo-dash-muted'>Hover a curve for its trial's parameters · click to select it"
    " · drag to zoom, double-click to reset</span>"
)
HISTORY_DOMAIN = (0.68, 1.0)
#: At most this many running trials' traces are made before any trial runs (see
#: ``CurvesPanel._reserve``); more trials at once get theirs when they start.
MAX_RESERVED = 32
#: Room ahead on an axis whose points grow to the right while trials run, as a share of its span.
ROOM = 0.25


class CurvesPanelData(NamedTuple):
    """The two views of the tab."""

    curves: CurvesData
    history: HistoryData


@register_panel
class CurvesPanel(Panel):
    """Learning curves (a series picker and a log-scale toggle) and the optimization history.

    Clicking a curve or a history point selects its trial.
    """

    name = "curves"
    title = "Curves & history"
    order = 10

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.series: str | None = context.options.get("series")
        self.log_y: bool = bool(context.options.get("log_y", False))
        self._chunks: dict[str, Any] = {}
        self._history_memo: tuple[Any, HistoryData] | None = None
        self._layout_state: tuple[Any, ...] | None = None
        self._ranges: dict[str, tuple[float, float] | None] = {}
        #: Each subplot's points' box at the last full redraw (where its axes autorange).
        self._drawn: dict[str, tuple[float, ...] | None] = {}
        self.figure: go.FigureWidget | None = None
        self._syncing = False

    # ------------------------------------------------------------------ build
    def build(self) -> w.Widget:
        height = int(self.context.options.get("height", 400))
        layout = st.base_layout(
            height,
            xaxis=st.axis(domain=CURVES_DOMAIN, title={"text": "step"}),
            yaxis=st.axis(title={"text": ""}),
            xaxis2=st.axis(domain=HISTORY_DOMAIN, anchor="y2", title={"text": "trial"}),
            yaxis2=st.axis(anchor="x2", title={"text": ""}),
        )
        layout["legend"].update({"x": CURVES_DOMAIN[1], "xanchor": "right", "y": 1.01})
        self.figure = LiveFigure(layout=layout)
        self.figure.add_class("hpo-dash-figure")
        self.pacer = FramePacer(self.figure, on_ready=lambda: self.context.flush(self))
        select, hover = self.context.select, self._on_hover
        self.curves = TraceSync(self.figure, "x", "y", on_click=select, on_hover=hover)
        # running trials come and go: their traces are parked, not hidden, for the next ones
        self.live = TraceSync(
            self.figure, "x", "y", on_click=select, on_hover=hover, layer_base=50, park=True
        )
        self.history = TraceSync(
            self.figure, "x2", "y2", on_click=select, on_hover=hover, layer_base=100
        )
        self._reserve()
        self.picker = w.Dropdown(
            options=[], description="Series", layout=w.Layout(width="260px"), disabled=True
        )
        self.picker.style.description_width = "48px"
        self.picker.add_class("hpo-dash-series")
        self.log_toggle = w.ToggleButton(
            value=self.log_y,
            description="Log scale",
            tooltip="Logarithmic value axis for the learning curves",
            icon="line-chart",
            layout=w.Layout(width="110px"),
        )
        self.log_toggle.add_class("hpo-dash-log")
        self.info = w.HTML(HINT, layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.info.add_class("hpo-dash-info")
        self.picker.observe(self._on_series, "value")
        self.log_toggle.observe(self._on_log, "value")
        toolbar = w.HBox([self.picker, self.log_toggle, self.info])
        toolbar.add_class("hpo-dash-toolbar")
        box = w.VBox([toolbar, self.figure])
        box.add_class("hpo-dash-curves")
        return box

    def _reserve(self) -> None:
        """Traces for what the figure will draw, made before it is shown (see
        :meth:`TraceSync.reserve`): a hidden one for each kind of finished curve, marker and
        legend entry; parked ones for as many running trials as the session runs at once (at
        most :data:`MAX_RESERVED`) and their latest points, so that trials that start are
        drawn without a redraw of the figure."""
        for layer in ("PRUNED", "FAIL", "COMPLETE", "best", "selected"):
            self.curves.reserve(LAYER[layer], 1)
        self.curves.reserve(LAYER["legend"], len(LEGEND))
        for layer in range(HISTORY_LAYERS):
            self.history.reserve(layer, 1)
        count = min(MAX_RESERVED, self.context.session.n_workers)
        color = st.running_color(0)
        line = {"color": color, "width": RUNNING_WIDTH}
        self.live.reserve(LAYER["RUNNING"], count, {**RUNNING_STYLE, "line": line})
        marker = {**HEADS_MARKER, "color": [color]}
        self.live.reserve(LAYER["marks"], 1, {**HEADS_STYLE, "marker": marker})

    def _on_series(self, change: dict[str, Any]) -> None:
        if not self._syncing and change["new"] and change["new"] != self.series:
            self.series = change["new"]
            self.context.refresh(self)

    def _on_hover(self, number: int | None) -> None:
        """Shows the hovered trial's parameters in the toolbar (the hint when none)."""
        with self.context.lock:
            t = None if number is None else self.context.model.trials.get(number)
            if t is None:
                text = HINT
            else:
                names = self.context.model.param_names
                text = trial_line(t.number, t.display_state, t.values, t.params, names)
            if self.info.value != text:
                self.info.value = text

    def _on_log(self, change: dict[str, Any]) -> None:
        self.log_y = bool(change["new"])
        self.context.refresh(self)

    # ------------------------------------------------------------------ compute / apply
    def wants(self, changes: Changes) -> bool:
        series = self.series
        return bool(
            changes.reset
            or changes.states
            or changes.finished
            or changes.params
            or changes.best
            or changes.selection
            or changes.series_names
            or changes.param_names
            or (changes.points.get(series) if series else changes.points)
        )

    def compute(self, model: DashboardModel) -> CurvesPanelData:
        options = self.context.options
        selected = self.context.selected
        series = self.series if self.series in model.by_name else default_series(model)
        curves = curves_data(
            model,
            series,
            selected=selected,
            log_y=self.log_y,
            max_points=int(options.get("max_points", 200)),
            budget=int(options.get("budget", 15_000)),
            chunk=int(options.get("chunk", 250)),
            cache=self._chunks,
        )
        key = (model.outcome_version, selected, len(model.trials))
        if self._history_memo is None or self._history_memo[0] != key:
            self._history_memo = (key, history_data(model, selected=selected))
        return CurvesPanelData(curves, self._history_memo[1])

    def apply(self, data: CurvesPanelData) -> None:
        fig = self.figure
        if fig is None:
            raise RuntimeError("CurvesPanel.apply called before build()")
        c, h = data.curves, data.history
        if c.n_points > GL_THRESHOLD and not self.curves.gl:
            self.curves.clear()
            self.curves.gl = True
        self.curves.prepare(c.traces)
        self.live.prepare(c.live)
        self.history.prepare(h.traces)
        layout_state = (c.series, c.log_y, c.message, h.message, h.objective, h.direction)
        layout: dict[str, Any] = {}  # what changes in the layout, in plotly's relayout terms
        if layout_state != self._layout_state:
            self._layout_state = layout_state
            arrow = "↓" if h.direction == "minimize" else "↑"
            layout["yaxis.type"] = "log" if c.log_y else "linear"
            layout["yaxis.title.text"] = c.series or ""
            layout["yaxis2.title.text"] = f"{h.objective} {arrow}"
            layout["annotations"] = _annotations(c, h)
        # Every change of the frame in one message: plotly.js recomputes and redraws the whole
        # figure for each restyle, whatever it holds (see ._send).
        curves = self.curves.diff(c.traces) + self.live.diff(c.live)
        history = self.history.diff(h.traces)
        ranges = {}
        for axis, wanted in (("yaxis", c.y_range), ("yaxis2", h.y_range)):
            shown = self._ranges.get(axis)
            if not _same_range(shown, wanted):
                if wanted is not None:  # some room, so that the next points need no relayout
                    room = 0.1 * (wanted[1] - wanted[0])
                    wanted = (wanted[0] - room, wanted[1] + room)
                self._ranges[axis] = wanted
                ranges[axis] = wanted
        # While trials run, points appear to the right (steps, trial numbers): room ahead.
        boxes = {
            "curves": _union(self.curves.extent(), self.live.extent()),
            "history": self.history.extent(),
        }
        for axis, subplot in (("xaxis", "curves"), ("xaxis2", "history")):
            box = boxes[subplot] if c.live else None
            wanted = _room_ahead(self._ranges.get(axis), box, self._drawn.get(subplot))
            if wanted != self._ranges.get(axis):
                self._ranges[axis] = ranges[axis] = wanted
        for axis, wanted in ranges.items():
            if wanted is None:
                layout[f"{axis}.autorange"] = True
            else:
                layout[f"{axis}.range"] = list(wanted)
        if not layout and self._may_animate(curves, history):
            # Only traces shown already changed, within the axes drawn: redraw just them.
            sent = send_animate(fig, curves + history + self._anchors(curves, history))
        else:
            sent = send_restyle(fig, curves + history, layout)
            if sent:
                self._drawn = boxes
        if sent:
            self.pacer.sent()
        self._sync_picker(c)

    def ready(self) -> bool:
        return self.figure is None or self.pacer.ready()

    def _may_animate(self, curves: list[Change], history: list[Change]) -> bool:
        """Whether the frame's changes can go without a redraw of the figure: they only change
        traces shown already (no legend, no WebGL), and each subplot's axes, as drawn last,
        still hold every point changed (an animation does not rescale them)."""
        changes = curves + history
        if not animatable(changes) or self.curves.gl or self.history.gl:
            return False
        for subplot, axes, mine, views in (
            ("curves", ("xaxis", "yaxis"), curves, (self.curves, self.live)),
            ("history", ("xaxis2", "yaxis2"), history, (self.history,)),
        ):
            traces = [ch.trace for ch in mine]
            box = _union(*(v.extent(traces) for v in views))  # as diff() recorded them
            if box is None:
                continue
            drawn = self._drawn.get(subplot)
            shown_x, shown_y = (self._ranges.get(a) for a in axes)
            x0, x1 = shown_x if shown_x is not None else (drawn or (0.0, -1.0, 0.0, -1.0))[:2]
            y0, y1 = shown_y if shown_y is not None else (drawn or (0.0, -1.0, 0.0, -1.0))[2:]
            if not (x0 <= box[0] and box[1] <= x1 and y0 <= box[2] and box[3] <= y1):
                return False
        return True

    def _anchors(self, curves: list[Change], history: list[Change]) -> list[Change]:
        """A trace for each subplot the frame does not touch: an animation clears the others."""
        out = []
        for mine, views in ((curves, (self.live, self.curves)), (history, (self.history,))):
            if not mine:
                anchor = next((a for v in views if (a := v.anchor()) is not None), None)
                if anchor is not None:
                    out.append(anchor)
        return out

    def _sync_picker(self, c: CurvesData) -> None:
        self.series = c.series
        names = list(c.series_names)
        self._syncing = True  # the picker's observer must not take these for a user's choice
        try:
            if list(self.picker.options) != names:
                self.picker.options = names
            if c.series in names and self.picker.value != c.series:
                self.picker.value = c.series
            self.picker.disabled = not names
        finally:
            self._syncing = False

    def close(self) -> None:
        if self.figure is not None:
            self.figure.close()


def _union(*boxes: tuple[float, float, float, float] | None) -> tuple[float, ...] | None:
    """The box around ``boxes`` (``(xmin, xmax, ymin, ymax)``; None: empty)."""
    real = [b for b in boxes if b is not None]
    if not real:
        return None
    return (
        min(b[0] for b in real),
        max(b[1] for b in real),
        min(b[2] for b in real),
        max(b[3] for b in real),
    )


def _room_ahead(
    shown: tuple[float, float] | None,
    box: tuple[float, ...] | None,
    drawn: tuple[float, ...] | None = None,
) -> tuple[float, float] | None:
    """An axis's range for points (``box``, x first) that grow to the right while trials run:
    ``shown`` while it holds them, else their span and a :data:`ROOM` share more, so that the
    axis is not rescaled (nor the figure redrawn) for every step; None (autorange) without
    points, when no trial runs, or while the axis autoranges and the points' box at its last
    full redraw (``drawn``) still holds them (trials that start among longer finished ones).

    Example:
        >>> _room_ahead(None, (0.0, 100.0, 0.5, 2.0))
        (0.0, 125.0)
        >>> _room_ahead((0.0, 125.0), (0.0, 110.0, 0.5, 2.0))
        (0.0, 125.0)
        >>> _room_ahead(None, (0.0, 30.0, 0.5, 2.0), drawn=(0.0, 99.0, 0.1, 3.0)) is None
        True
    """
    if box is None:
        return None
    if shown is None and drawn is not None and drawn[0] <= box[0] and box[1] <= drawn[1]:
        return None
    if shown is not None and shown[0] <= box[0] and box[1] <= shown[1]:
        return shown
    span = box[1] - box[0] or 1.0
    return (box[0], box[1] + ROOM * span)


def _same_range(shown: tuple[float, float] | None, wanted: tuple[float, float] | None) -> bool:
    """Whether the axis may keep ``shown`` for ``wanted``: a range is changed when it cuts
    off what is wanted or shows more than a quarter of room, not for every new point."""
    if shown is None or wanted is None:
        return shown is wanted
    span = wanted[1] - wanted[0]
    inside = shown[0] <= wanted[0] and shown[1] >= wanted[1]
    return inside and (shown[1] - shown[0]) <= 1.5 * span


def _annotations(c: CurvesData, h: HistoryData) -> list[dict[str, Any]]:
    series = f" · {c.series}" if c.series else ""
    out = [
        st.subplot_title(f"Learning curves{series}", CURVES_DOMAIN[0]),
        st.subplot_title("Optimization history", HISTORY_DOMAIN[0]),
    ]
    for text, domain in ((c.message, CURVES_DOMAIN), (h.message, HISTORY_DOMAIN)):
        if text:
            out.append(st.placeholder(text, (domain[0] + domain[1]) / 2, 0.5))
    return out
