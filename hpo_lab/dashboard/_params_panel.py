"""The parameters tab: parallel coordinates over every parameter and the objective, and one
slice (objective against the parameter) per parameter, in one figure."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import ipywidgets as w
import numpy as np
import plotly.graph_objects as go

from . import _style as st
from ._changes import Changes
from ._figure import LiveFigure
from ._model import DashboardModel
from ._panel import Panel, register_panel
from ._params import ParamAxis, ParamsData, params_data
from ._traces import TraceSpec, TraceSync

PARCOORDS_HEIGHT = 250
SLICE_HEIGHT = 190
MAX_COLUMNS = 4


@register_panel
class ParamsPanel(Panel):
    """Parallel coordinates and per-parameter slices of the complete trials, live.

    Clicking a slice point selects its trial.
    """

    name = "params"
    title = "Parameters"
    order = 20

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.figure: go.FigureWidget | None = None
        self._axes_names: tuple[str, ...] | None = None
        self._memo: tuple[Any, ParamsData] | None = None

    def build(self) -> w.Widget:
        self.figure = LiveFigure(layout=st.base_layout(PARCOORDS_HEIGHT + SLICE_HEIGHT))
        self.figure.add_class("hpo-dash-figure")
        self.figure.add_trace(go.Parcoords(visible=False))
        self.parcoords = self.figure.data[0]
        self.slices = TraceSync(self.figure, on_click=self.context.select, layer_base=10)
        box = w.VBox([self.figure])
        box.add_class("hpo-dash-params")
        return box

    def wants(self, changes: Changes) -> bool:
        return bool(
            changes.reset
            or changes.finished
            or changes.best
            or changes.selection
            or changes.param_names
        )

    def compute(self, model: DashboardModel) -> ParamsData:
        key = (model.outcome_version, self.context.selected)
        if self._memo is None or self._memo[0] != key:
            self._memo = (key, params_data(model, selected=self.context.selected))
        return self._memo[1]

    def apply(self, data: ParamsData) -> None:
        fig = self.figure
        if fig is None:
            raise RuntimeError("ParamsPanel.apply called before build()")
        names = tuple(a.name for a in data.axes)
        specs = _slice_traces(data)
        self.slices.prepare(specs)
        if names != self._axes_names:
            # One whole axis per message: plotly.js refuses a relayout that sets an axis and one
            # of its attributes at once (as a batch of nested edits would), and plotly's
            # relayout shortcut only takes axes the layout already has.
            self._axes_names = names
            for key, value in _layout(data).items():
                fig.layout[key] = value
        fig.plotly_relayout({"annotations": _annotations(data)})
        fig.plotly_restyle({k: [v] for k, v in _parcoords(data).items()}, [0])
        self.slices.update(specs)

    def close(self) -> None:
        if self.figure is not None:
            self.figure.close()


def _grid(n: int) -> tuple[int, int]:
    cols = min(max(n, 1), MAX_COLUMNS)
    return cols, max(1, math.ceil(n / cols))


def _heights(n_axes: int) -> tuple[int, float, float]:
    """The figure's height, and where (in paper fractions) the slices and the parallel
    coordinates begin."""
    _, rows = _grid(n_axes)
    height = PARCOORDS_HEIGHT + rows * SLICE_HEIGHT + 20
    slices_top = 1 - (PARCOORDS_HEIGHT + 10) / height
    return height, slices_top, 1 - 60 / height


def _layout(data: ParamsData) -> dict[str, Any]:
    """Axes for one slice per parameter under the parallel coordinates."""
    n = len(data.axes)
    cols, rows = _grid(n)
    height, slices_top, _ = _heights(n)
    out: dict[str, Any] = {"height": height}
    gap_x, gap_y = 0.05, 60 / height
    width = (1 - gap_x * (cols - 1)) / cols
    row_h = (slices_top - gap_y * rows) / rows
    for i, axis in enumerate(data.axes):
        r, c = divmod(i, cols)
        x0 = c * (width + gap_x)
        y1 = slices_top - gap_y - r * (row_h + gap_y)
        suffix = "" if i == 0 else str(i + 1)
        xa: dict[str, Any] = st.axis(
            domain=[x0, x0 + width],
            anchor=f"y{suffix}",
            type="log" if axis.log else "linear",
            title={"text": axis.name},
        )
        if axis.categories is not None:
            xa.update(tickvals=list(range(len(axis.categories))), ticktext=list(axis.categories))
        out[f"xaxis{suffix}"] = xa
        out[f"yaxis{suffix}"] = st.axis(
            domain=[max(0.0, y1 - row_h), y1],
            anchor=f"x{suffix}",
            title={"text": data.objective if c == 0 else ""},
        )
    return out


def _annotations(data: ParamsData) -> list[dict[str, Any]]:
    out = [st.subplot_title("Parallel coordinates", 0.0)]
    if data.axes:
        _, slices_top, _ = _heights(len(data.axes))
        out.append(st.subplot_title("Slices", 0.0, y=slices_top - 0.01))
    if data.message:
        out.append(st.placeholder(data.message, 0.5, 0.6))
    return out


def _dimension(axis: ParamAxis) -> dict[str, Any]:
    values = axis.values
    if axis.categories is not None:
        return {
            "label": axis.name,
            "values": np.nan_to_num(values, nan=-1.0),
            "tickvals": list(range(len(axis.categories))),
            "ticktext": list(axis.categories),
            "range": [-0.5, max(0.5, len(axis.categories) - 0.5)],
        }
    if axis.log and np.all(values[~np.isnan(values)] > 0):
        logs = np.log10(values)
        finite = logs[np.isfinite(logs)]
        lo, hi = (math.floor(finite.min()), math.ceil(finite.max())) if len(finite) else (0, 1)
        ticks = list(range(lo, hi + 1))
        return {
            "label": f"{axis.name} (log)",
            "values": logs,
            "tickvals": ticks,
            "ticktext": [f"1e{t}" for t in ticks],
        }
    return {"label": axis.name, "values": values}


def _parcoords(data: ParamsData) -> dict[str, Any]:
    """The parallel-coordinates trace's properties (hidden while there is nothing to show)."""
    if not len(data.numbers) or not data.axes:
        return {"visible": False}
    _, slices_top, top = _heights(len(data.axes))
    arrow = "↓" if data.direction == "minimize" else "↑"
    dims = [_dimension(a) for a in data.axes]
    dims.append({"label": f"{data.objective} {arrow}", "values": data.values})
    return {
        "visible": True,
        "domain": {"x": [0.03, 0.97], "y": [slices_top + 0.06, top]},
        "dimensions": dims,
        "line": {
            "color": data.values,
            "colorscale": st.VALUE_SCALE,
            "reversescale": data.direction == "minimize",
            "showscale": False,
        },
        "labelfont": {"size": 11, "color": st.TEXT_COLOR},
        "tickfont": {"size": 10, "color": st.MUTED_TEXT},
        "rangefont": {"size": 9, "color": st.MUTED_TEXT},
    }


def _slice_traces(data: ParamsData) -> list[TraceSpec]:
    out: list[TraceSpec] = []
    numbers = data.numbers.astype(np.float64)
    digest = hashlib.blake2b(data.values.tobytes() + numbers.tobytes(), digest_size=8).hexdigest()
    where = {n: i for i, n in enumerate(data.numbers.tolist())}
    for i, axis in enumerate(data.axes):
        suffix = "" if i == 0 else str(i + 1)
        axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
        text = f"<b>Trial %{{customdata:d}}</b><br>{axis.name} = %{{x}}<br>{data.objective} "
        out.append(
            TraceSpec(
                f"slice:{axis.name}",
                0,
                {
                    **axes,
                    "x": axis.values,
                    "y": data.values,
                    "mode": "markers",
                    "marker": {
                        "size": 7,
                        "color": numbers,
                        "colorscale": "Blues",
                        "cmin": 0,
                        "cmax": max(1.0, float(numbers.max()) if len(numbers) else 1.0),
                        "opacity": 0.8,
                        "line": {"color": "#ffffff", "width": 0.6},
                    },
                    "customdata": numbers,
                    "showlegend": False,
                    "name": axis.name,
                    "hovertemplate": text + "%{y:.5g}<extra></extra>",
                },
                token=(axis.name, axis.kind, axis.log, digest, axis.values.tobytes()),
                numbers=numbers,
            )
        )
        for key, number, color, symbol in (
            ("best", data.best, st.BEST_COLOR, "star"),
            ("selected", data.selected, st.SELECTED_COLOR, "circle-open"),
        ):
            if number is None or number not in where:
                continue
            j = where[number]
            out.append(
                TraceSpec(
                    f"{key}:{axis.name}",
                    1,
                    {
                        **axes,
                        "x": axis.values[j : j + 1],
                        "y": data.values[j : j + 1],
                        "mode": "markers",
                        "marker": {
                            "size": 14,
                            "color": color,
                            "symbol": symbol,
                            "line": {"color": color if key == "selected" else "#fff", "width": 2},
                        },
                        "customdata": numbers[j : j + 1],
                        "showlegend": False,
                        "name": key,
                        "hovertemplate": f"<b>Trial {number}</b> · {key}<extra></extra>",
                    },
                    numbers=number,
                )
            )
    return out
