"""The Pareto tab (sessions with two objectives or more): the trials on the objectives with the
front as a step line, and the hypervolume after each trial, in one figure.

Three objectives or more make a scatter matrix (every pair of objectives, one subplot each).
Clicking a point selects its trial; brushing points (box or lasso select, the figure's default
drag) offers to turn the region into outcome constraints for the rest of the search
(``session.constrain(..., source="dashboard")``). The reference point of the hypervolume is
suggested from the trials until the user types one.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import ipywidgets as w
import plotly.graph_objects as go

from . import _style as st
from ._brush import BrushRelay
from ._changes import Changes
from ._figure import LiveFigure
from ._hover import fmt_value
from ._model import DashboardModel
from ._pacing import FramePacer
from ._panel import Panel, register_panel
from ._pareto import (
    INFEASIBLE_COLOR,
    ParetoCache,
    ParetoViewData,
    pareto_view_data,
    region_constraints,
)
from ._send import send_restyle
from ._traces import TraceSync

#: Past this many points on the scatters, they are drawn with WebGL (``scattergl``): thousands of
#: SVG markers make every redraw slow.
GL_THRESHOLD = 6_000
SCATTER_RIGHT = 0.62
HV_LEFT = 0.71
CELL_HEIGHT = 190
HINT = (
    "<span class='hpo-dash-muted'>Click a point to select its trial · drag a box around points"
    " to turn that region into constraints</span>"
)
_OPS = {"<=": "≤", ">=": "≥", "<": "<", ">": ">"}


@register_panel
class ParetoPanel(Panel):
    """The live Pareto front, its hypervolume, a reference point to set, and brushing into
    outcome constraints.

    Infeasible trials (an outcome constraint of the session, or a sampler's constraints, is
    violated) are drawn apart, as red crosses; dominated trials are faded.
    """

    name = "pareto"
    title = "Pareto front"
    order = 30

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.reference: tuple[float, ...] | None = None  # None: suggested
        self.figure: go.FigureWidget | None = None
        self._cache = ParetoCache()
        self._decor_key: tuple[Any, ...] | None = None
        self._brushed: dict[int, set[int]] = {}
        self._region: tuple[int, tuple[str, ...]] | None = None
        self._data: ParetoViewData | None = None
        self._syncing = False

    @classmethod
    def available(cls, model: DashboardModel) -> bool:
        return model.n_objectives >= 2

    # ------------------------------------------------------------------ build
    def build(self) -> w.Widget:
        height = int(self.context.options.get("height", 400))
        model = self.context.model
        self.figure = LiveFigure(layout=_layout(model.objective_labels, model.directions, height))
        self.figure.add_class("hpo-dash-figure")
        self.figure.add_class("hpo-dash-pareto-figure")
        self.pacer = FramePacer(self.figure, on_ready=lambda: self.context.flush(self))
        self.points = TraceSync(self.figure, on_click=self.context.select)
        self.hv = TraceSync(self.figure, on_click=self.context.select, layer_base=100)
        labels = model.objective_labels
        self.fields = [
            w.FloatText(description=name, layout=w.Layout(width="180px")) for name in labels
        ]
        for field in self.fields:
            field.style.description_width = "auto"
            field.add_class("hpo-dash-ref-field")
            field.observe(self._on_field, "value")
        self.auto = w.ToggleButton(
            value=True,
            description="Suggested",
            tooltip="Follow the reference point suggested from the trials (type a value to fix it)",
            icon="magic",
            layout=w.Layout(width="118px"),
        )
        self.auto.add_class("hpo-dash-ref-auto")
        self.auto.observe(self._on_auto, "value")
        self.summary = w.HTML(layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.summary.add_class("hpo-dash-info")
        self.summary.add_class("hpo-dash-pareto-summary")
        ref_label = w.HTML("<b>Reference point</b>", layout=w.Layout(width="auto"))
        ref_bar = w.HBox([ref_label, *self.fields, self.auto, self.summary])
        ref_bar.add_class("hpo-dash-toolbar")
        ref_bar.layout = w.Layout(flex_flow="row wrap", align_items="center")
        self.region = w.HTML(HINT, layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.region.add_class("hpo-dash-info")
        self.region.add_class("hpo-dash-pareto-region")
        self.constrain_button = w.Button(
            description="Constrain to this region",
            icon="filter",
            disabled=True,
            button_style="primary",
            layout=w.Layout(width="210px"),
        )
        self.constrain_button.add_class("hpo-dash-pareto-constrain")
        self.constrain_button.on_click(lambda _: self.constrain_to_region())
        self.relax_button = w.Button(
            description="Relax objectives",
            icon="undo",
            disabled=True,
            tooltip="Remove the outcome constraints on the objectives",
            layout=w.Layout(width="150px"),
        )
        self.relax_button.add_class("hpo-dash-pareto-relax")
        self.relax_button.on_click(lambda _: self.relax_objectives())
        self.relay = BrushRelay(target="hpo-dash-pareto-figure")
        self.relay.on_brush(self._on_brush)
        brush_bar = w.HBox([self.region, self.constrain_button, self.relax_button, self.relay])
        brush_bar.add_class("hpo-dash-toolbar")
        box = w.VBox([ref_bar, brush_bar, self.figure])
        box.add_class("hpo-dash-pareto")
        return box

    # ------------------------------------------------------------------ compute / apply
    def wants(self, changes: Changes) -> bool:
        return bool(
            changes.reset
            or changes.finished
            or changes.best
            or changes.selection
            or changes.actions
        )

    def compute(self, model: DashboardModel) -> ParetoViewData:
        return pareto_view_data(
            model,
            reference_point=self.reference,
            infeasible=model.infeasible,  # judged by the dashboard
            selected=self.context.selected,
            cache=self._cache,
        )

    def apply(self, data: ParetoViewData) -> None:
        fig = self.figure
        if fig is None:
            raise RuntimeError("ParetoPanel.apply called before build()")
        self._data = data
        if data.n_points > GL_THRESHOLD and not self.points.gl:
            self.points.clear()
            self.points.gl = True
        self.points.prepare(data.traces)
        self.hv.prepare(data.hv_traces)
        decor_key = (data.message, data.bounds, data.pairs)
        relayout = decor_key != self._decor_key
        if relayout:
            self._decor_key = decor_key
            with fig.batch_update():
                fig.layout.annotations = _annotations(data)
                fig.layout.shapes = _shapes(data)
        changes = self.points.diff(data.traces) + self.hv.diff(data.hv_traces)
        if send_restyle(fig, changes) or relayout:
            self.pacer.sent()
        self._sync_fields(data)
        self.summary.value = _summary(data)
        self.relax_button.disabled = not (data.bounds and data.constrainable)

    def ready(self) -> bool:
        return self.figure is None or self.pacer.ready()

    def close(self) -> None:
        if self.figure is not None:
            self.figure.close()
            self.relay.close()

    # ------------------------------------------------------------------ reference point
    def set_reference_point(self, point: Any) -> None:
        """Fixes the hypervolume's reference point (None: follow the suggested one)."""
        if point is not None:
            point = tuple(float(v) for v in point)
            m = len(self.context.model.directions)
            if len(point) != m or not all(math.isfinite(v) for v in point):
                raise ValueError(f"reference point must be {m} finite numbers, got {point!r}")
        self.reference = point
        self.context.refresh(self)

    def _on_field(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self._set_auto(False)
        self.set_reference_point([f.value for f in self.fields])

    def _on_auto(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        if change["new"]:
            self.set_reference_point(None)
        elif self._data is not None and self._data.reference_point is not None:
            self.set_reference_point(self._data.reference_point)

    def _set_auto(self, value: bool) -> None:
        self._syncing = True
        try:
            self.auto.value = value
        finally:
            self._syncing = False

    def _sync_fields(self, data: ParetoViewData) -> None:
        self._syncing = True
        try:
            ref = data.reference_point
            for k, field in enumerate(self.fields):
                field.disabled = ref is None
                if ref is not None and field.value != ref[k]:
                    field.value = ref[k]
            if self.auto.value != data.auto_reference:
                self.auto.value = data.auto_reference
        finally:
            self._syncing = False

    # ------------------------------------------------------------------ brushing
    def _on_brush(self, points: list[tuple[str, int]]) -> None:
        """A selection in the browser: ``(xaxis, trial number)`` of each point brushed."""
        with self.context.lock:
            n_pairs = len(self._data.pairs) if self._data is not None else 0
            brushed: dict[int, set[int]] = {}
            for axis, number in points:
                pair = int(axis[1:] or 1) - 1
                if 0 <= pair < n_pairs:  # not the hypervolume's
                    brushed.setdefault(pair, set()).add(number)
            self._brushed = brushed
            self._show_region()

    def brush(self, pair: int, numbers: Any) -> tuple[str, ...]:
        """Brushes trials ``numbers`` on scatter ``pair`` (as a box selection does); returns the
        constraints that :meth:`constrain_to_region` would add."""
        with self.context.lock:
            self._brushed = {int(pair): {int(n) for n in numbers}}
            self._show_region()
            return self._region[1] if self._region is not None else ()

    def _show_region(self) -> None:
        data = self._data
        self._region = None
        if not self._brushed or data is None or not data.pairs:
            self.region.value = HINT
            self.constrain_button.disabled = True
            return
        p, numbers = max(self._brushed.items(), key=lambda item: len(item[1]))
        i, j = data.pairs[p]
        trials = self.context.model.trials
        xs = [trials[n].values[i] for n in numbers if n in trials and trials[n].values]
        ys = [trials[n].values[j] for n in numbers if n in trials and trials[n].values]
        if not xs:
            self.region.value = HINT
            self.constrain_button.disabled = True
            return
        box = (min(xs), max(xs), min(ys), max(ys))
        exprs = region_constraints(data.names, (i, j), box, data.low, data.high)
        what = f"<b>{len(xs)} trial{'s' if len(xs) != 1 else ''}</b> brushed"
        if not data.constrainable:  # "value 0 <= 1" would name nothing a trial reports
            self.region.value = (
                f"{what} · <span class='hpo-dash-muted'>name the objectives (directions="
                "{'error': 'minimize', ...}) to turn a region into constraints</span>"
            )
            self.constrain_button.disabled = True
            return
        if not exprs:
            self.region.value = f"{what} · the region holds every trial: nothing to constrain"
            self.constrain_button.disabled = True
            return
        self._region = (p, exprs)
        self.region.value = f"{what} → " + ", ".join(html.escape(_pretty(e)) for e in exprs)
        self.constrain_button.disabled = False

    def _clear_selection(self) -> None:
        """Drops plotly's own marking of the brushed points (it fades every other point)."""
        if self.figure is None:
            return
        with self.figure.batch_update():
            for t in self.figure.data:
                if t.selectedpoints is not None:
                    t.selectedpoints = None

    def constrain_to_region(self) -> bool:
        """Turns the brushed region into outcome constraints for the rest of the search: the
        constraints on its two objectives are replaced by the region's bounds.

        Returns:
            Whether the session took them (an error is shown in the panel, not raised).
        """
        with self.context.lock:
            region, data = self._region, self._data
        if region is None or data is None or not data.constrainable:
            return False
        p, exprs = region
        names = [data.names[k] for k in data.pairs[p]]
        session = self.context.session
        try:
            in_force = {c.name for c in session.constraints.outcomes}
            for name in names:
                if name in in_force:
                    session.relax(name, source="dashboard")
            for expr in exprs:
                session.constrain(expr, source="dashboard")
        except Exception as exc:
            self._say(f"constrain: {exc}", error=True)
            return False
        with self.context.lock:
            self._brushed = {}
            self._show_region()
            self._clear_selection()
        self._say("Constrained the rest of the search: " + ", ".join(map(_pretty, exprs)))
        return True

    def relax_objectives(self) -> bool:
        """Removes the outcome constraints on the objectives (``session.relax``)."""
        data = self._data
        if data is None:
            return False
        session = self.context.session
        try:
            for name in sorted({b.name for b in data.bounds}):
                session.relax(name, source="dashboard")
        except Exception as exc:
            self._say(f"relax: {exc}", error=True)
            return False
        self._say("Removed the constraints on the objectives")
        return True

    def _say(self, text: str, error: bool = False) -> None:
        color = INFEASIBLE_COLOR if error else st.STATE_COLORS["COMPLETE"]
        with self.context.lock:
            self.region.value = f"<span style='color:{color}'>{html.escape(text)}</span>"


# ---------------------------------------------------------------------------------- layout
def _pretty(expr: str) -> str:
    for op, sign in _OPS.items():
        if f" {op} " in expr:
            return expr.replace(f" {op} ", f" {sign} ")
    return expr


def _pairs(m: int) -> tuple[tuple[int, int], ...]:
    return tuple((i, j) for i in range(m) for j in range(i + 1, m))


def _grid(m: int) -> dict[int, tuple[float, float, float, float]]:
    """Each pair's ``(x0, x1, y0, y1)`` in paper fractions: one cell each, a lower triangle."""
    cells = m - 1
    gap_x, gap_y = 0.06, 0.1 if cells > 1 else 0.0
    width = (SCATTER_RIGHT - gap_x * (cells - 1)) / cells
    height = (1 - gap_y * (cells - 1)) / cells
    out = {}
    for p, (i, j) in enumerate(_pairs(m)):
        row, col = j - 1, i
        x0 = col * (width + gap_x)
        y1 = 1 - row * (height + gap_y)
        out[p] = (x0, min(x0 + width, 1.0), max(y1 - height, 0.0), y1)  # no -1e-17
    return out


def _layout(names: Sequence[str], directions: Sequence[str], height: int) -> dict[str, Any]:
    """The figure's layout: a scatter per pair of objectives, the hypervolume on the right.

    Given when the figure is made: a later change of ``height`` would make plotly.js stop
    fitting the figure to its container's width.
    """
    m = len(names)
    pairs = _pairs(m)

    def title(k: int) -> str:
        return f"{names[k]} {'↓' if directions[k] == 'minimize' else '↑'}"

    axes: dict[str, Any] = {}
    for p, (x0, x1, y0, y1) in _grid(m).items():
        i, j = pairs[p]
        suffix = "" if p == 0 else str(p + 1)
        axes[f"xaxis{suffix}"] = st.axis(
            domain=[x0, x1], anchor=f"y{suffix}", title={"text": title(i) if j == m - 1 else ""}
        )
        axes[f"yaxis{suffix}"] = st.axis(
            domain=[y0, y1], anchor=f"x{suffix}", title={"text": title(j) if i == 0 else ""}
        )
    hv = str(len(pairs) + 1)
    axes[f"xaxis{hv}"] = st.axis(domain=[HV_LEFT, 1.0], anchor=f"y{hv}", title={"text": "trials"})
    axes[f"yaxis{hv}"] = st.axis(anchor=f"x{hv}")
    layout = st.base_layout(
        max(height, CELL_HEIGHT * (m - 1) + 40) if m > 2 else height,
        dragmode="select",
        selectdirection="any",
        **axes,
    )
    layout["legend"].update({"x": 0, "y": 1.04})
    return layout


def _annotations(data: ParetoViewData) -> list[dict[str, Any]]:
    out = [st.subplot_title("Hypervolume", HV_LEFT, y=1.0)]
    if data.message:
        out.append(st.placeholder(data.message, SCATTER_RIGHT / 2, 0.5))
    return out


def _shapes(data: ParetoViewData) -> list[dict[str, Any]]:
    """A dashed line at each outcome bound on an objective, on every scatter showing it."""
    out = []
    for p, (i, j) in enumerate(data.pairs):
        suffix = "" if p == 0 else str(p + 1)
        for b in data.bounds:
            line = {"color": INFEASIBLE_COLOR, "width": 1.2, "dash": "dash"}
            if b.objective == i:
                out.append(
                    {
                        "type": "line",
                        "xref": f"x{suffix}",
                        "yref": f"y{suffix} domain",
                        "x0": b.bound,
                        "x1": b.bound,
                        "y0": 0,
                        "y1": 1,
                        "line": line,
                        "layer": "below",
                    }
                )
            if b.objective == j:
                out.append(
                    {
                        "type": "line",
                        "xref": f"x{suffix} domain",
                        "yref": f"y{suffix}",
                        "x0": 0,
                        "x1": 1,
                        "y0": b.bound,
                        "y1": b.bound,
                        "line": line,
                        "layer": "below",
                    }
                )
    return out


def _summary(data: ParetoViewData) -> str:
    hv = "—" if data.hypervolume is None else fmt_value(data.hypervolume)
    parts = [
        f"Hypervolume <b>{hv}</b>",
        f"front {len(data.front)}",
        f"dominated {data.n_dominated}",
    ]
    if data.n_infeasible:
        parts.append(
            f"<span style='color:{INFEASIBLE_COLOR}'>infeasible {data.n_infeasible}</span>"
        )
    if data.n_skipped:
        parts.append(f"{data.n_skipped} without finite values")
    if data.bounds:
        text = ", ".join(f"{b.name} {_OPS[b.op]} {fmt_value(b.bound)}" for b in data.bounds)
        parts.append(f"constraints: {html.escape(text)}")
    return " · ".join(parts)
