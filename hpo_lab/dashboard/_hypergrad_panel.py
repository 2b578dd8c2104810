"""The hypergradients tab: hyperparameter values over steps on top, their hypergradients below,
for the selected trial (or the running ones, or the best), live while trials run.

It applies once a trial has reported a trace (a ``hyper/`` or ``hypergrad/`` series). A
dashboard opened before that adds the tab, as its last one, when the first trace arrives (see
:class:`~hpo_lab.dashboard.Dashboard`'s ``panels``), so sessions that never trace hypergradients
never show it.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import plotly.graph_objects as go

from . import _style as st
from ._changes import Changes
from ._figure import LiveFigure
from ._hypergrad import HypergradData, has_traces, hypergrad_data, is_trace_series
from ._model import DashboardModel
from ._pacing import FramePacer
from ._panel import Panel, register_panel
from ._send import send_restyle
from ._traces import TraceSync

VALUES_DOMAIN = (0.54, 1.0)
GRADS_DOMAIN = (0.0, 0.46)
SHOW_OPTIONS = (
    ("Selected, else running, else best", "auto"),
    ("Selected trial", "selected"),
    ("Running trials", "running"),
    ("Best trial", "best"),
    ("Latest trials", "all"),
)


@register_panel
class HypergradPanel(Panel):
    """Hyperparameter values and hypergradients against step, one trace per hyperparameter
    (and trial), downsampled, live. Clicking a trace selects its trial."""

    name = "hypergrad"
    title = "Hypergradients"
    order = 40

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.show = "auto"
        self.log_y = False
        self.figure: go.FigureWidget | None = None
        self._layout_state: tuple[Any, ...] | None = None

    @classmethod
    def available(cls, model: DashboardModel) -> bool:
        return has_traces(model)

    def build(self) -> w.Widget:
        height = int(self.context.options.get("height", 400))
        layout = st.base_layout(
            max(height, 420),
            xaxis=st.axis(anchor="y", domain=[0.0, 1.0], showticklabels=False),
            yaxis=st.axis(domain=list(VALUES_DOMAIN), title={"text": "hyperparameter"}),
            xaxis2=st.axis(anchor="y2", matches="x", title={"text": "step"}),
            yaxis2=st.axis(
                domain=list(GRADS_DOMAIN),
                anchor="x2",
                title={"text": "hypergradient"},
                zeroline=True,
                zerolinecolor=st.AXIS_COLOR,
            ),
        )
        layout["legend"].update({"x": 1.0, "xanchor": "right"})
        self.figure = LiveFigure(layout=layout)
        self.figure.add_class("hpo-dash-figure")
        self.figure.add_class("hpo-dash-hypergrad-figure")
        self.pacer = FramePacer(self.figure, on_ready=lambda: self.context.flush(self))
        self.traces = TraceSync(self.figure, on_click=self.context.select)
        self.picker = w.Dropdown(
            options=list(SHOW_OPTIONS),
            value=self.show,
            description="Show",
            layout=w.Layout(width="300px"),
        )
        self.picker.style.description_width = "40px"
        self.picker.add_class("hpo-dash-hypergrad-show")
        self.picker.observe(self._on_show, "value")
        self.log_toggle = w.ToggleButton(
            value=self.log_y,
            description="Log scale",
            tooltip="Logarithmic axis for the hyperparameter values",
            icon="line-chart",
            layout=w.Layout(width="110px"),
        )
        self.log_toggle.observe(self._on_log, "value")
        self.info = w.HTML(layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.info.add_class("hpo-dash-info")
        self.info.add_class("hpo-dash-hypergrad-info")
        toolbar = w.HBox([self.picker, self.log_toggle, self.info])
        toolbar.add_class("hpo-dash-toolbar")
        box = w.VBox([toolbar, self.figure])
        box.add_class("hpo-dash-hypergrad")
        return box

    def _on_show(self, change: dict[str, Any]) -> None:
        self.show = change["new"]
        self.context.refresh(self)

    def _on_log(self, change: dict[str, Any]) -> None:
        self.log_y = bool(change["new"])
        self.context.refresh(self)

    def wants(self, changes: Changes) -> bool:
        return bool(
            changes.reset
            or changes.selection
            or changes.states
            or changes.finished
            or changes.best
            or changes.series_names
            or any(is_trace_series(name) for name in changes.points)
        )

    def compute(self, model: DashboardModel) -> HypergradData:
        return hypergrad_data(
            model,
            show=self.show,
            selected=self.context.selected,
            log_y=self.log_y,
            max_points=int(self.context.options.get("max_points", 200)),
        )

    def apply(self, data: HypergradData) -> None:
        fig = self.figure
        if fig is None:
            raise RuntimeError("HypergradPanel.apply called before build()")
        self.traces.prepare(data.traces)
        state = (data.log_y, data.message)
        relayout = state != self._layout_state
        if relayout:
            self._layout_state = state
            with fig.batch_update():
                fig.layout.yaxis.type = "log" if data.log_y else "linear"
                fig.layout.annotations = _annotations(data)
        if send_restyle(fig, self.traces.diff(data.traces)) or relayout:
            self.pacer.sent()
        self.info.value = _info(data)

    def ready(self) -> bool:
        return self.figure is None or self.pacer.ready()

    def close(self) -> None:
        if self.figure is not None:
            self.figure.close()


def _annotations(data: HypergradData) -> list[dict[str, Any]]:
    out = []
    if data.message:
        out.append(st.placeholder(data.message, 0.5, 0.5))
    return out


def _info(data: HypergradData) -> str:
    if not data.trials:
        return f"<span class='hpo-dash-muted'>{data.total} trials with traces</span>"
    shown = ", ".join(f"#{n}" for n in data.trials)
    names = ", ".join(h.name for h in data.hyperparameters)
    return (
        f"Trial{'s' if len(data.trials) > 1 else ''} <b>{shown}</b> · {names}"
        f" <span class='hpo-dash-muted'>· {data.total} trials with traces · click a trace to"
        " select its trial</span>"
    )
