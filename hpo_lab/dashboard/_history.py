"""Optimization history: each complete trial's objective value, and the best value so far.

Trials that break a constraint (``DashboardModel.infeasible``) are drawn in the failure colour
and left out of the best, as Optuna leaves them out of ``best_trial``."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from . import _style as st
from ._hover import fmt_value
from ._model import DashboardModel
from ._scale import robust_range
from ._traces import TraceSpec

#: The history's layers, bottom to top: values, the best-so-far line, the best and the selected
#: trial's markers.
VALUES, BEST_SO_FAR, BEST, SELECTED = range(4)
LAYERS = 4


class HistoryData(NamedTuple):
    """What the optimization-history view draws.

    Attributes:
        objective: The objective shown (the first, for several).
        direction: ``"minimize"`` or ``"maximize"``.
        numbers: Complete trials with a finite value, in order.
        values: Their values.
        best_so_far: The best value up to each of them, of the feasible ones (±inf before the
            first feasible trial).
        best: ``(number, value)`` of the best feasible trial, if any.
        traces: The traces (see :class:`~hpo_lab.dashboard._traces.TraceSpec`).
        message: What to say instead, when no trial has completed.
        y_range: The value axis's range when outlying values are left out of it (None: it
            fits them all); see :func:`~hpo_lab.dashboard._scale.robust_range`.
    """

    objective: str
    direction: str
    numbers: np.ndarray
    values: np.ndarray
    best_so_far: np.ndarray
    best: tuple[int, float] | None
    traces: tuple[TraceSpec, ...]
    message: str | None
    y_range: tuple[float, float] | None = None


def history_data(model: DashboardModel, *, selected: int | None = None) -> HistoryData:
    """Computes the optimization history of the first objective.

    Example:
        >>> from hpo_lab.events import TrialFinished
        >>> m = DashboardModel("demo", ["minimize"])
        >>> _ = m.apply([TrialFinished(0, "COMPLETE", (3.0,)), TrialFinished(1, "PRUNED"),
        ...              TrialFinished(2, "COMPLETE", (1.0,)),
        ...              TrialFinished(3, "COMPLETE", (2.0,))])
        >>> data = history_data(m)
        >>> data.numbers.tolist(), data.best_so_far.tolist(), data.best
        ([0, 2, 3], [3.0, 1.0, 1.0], (2, 1.0))
    """
    direction = model.directions[0]
    objective = model.objective_labels[0]
    rows = [
        (n, t.values[0], t)
        for n, t in sorted(model.trials.items())
        if t.state == "COMPLETE" and t.values and math.isfinite(t.values[0])
    ]
    numbers = np.asarray([r[0] for r in rows], dtype=np.int64)
    values = np.asarray([r[1] for r in rows], dtype=np.float64)
    # Trials that break a constraint are drawn, but are never the best (as in Optuna).
    feasible = np.fromiter((n not in model.infeasible for n in numbers), bool, len(numbers))
    worst = -np.inf if direction == "maximize" else np.inf
    kept = np.where(feasible, values, worst)
    acc = np.maximum if direction == "maximize" else np.minimum
    best_so_far = acc.accumulate(kept)
    best = None
    first = int(np.argmax(feasible)) if feasible.any() else len(values)  # the first feasible
    if first < len(values):
        i = int(np.argmax(kept) if direction == "maximize" else np.argmin(kept))
        best = (int(numbers[i]), float(values[i]))

    xs = numbers.astype(np.float64)
    traces: list[TraceSpec] = []
    if len(rows):
        traces.append(
            TraceSpec(
                "values",
                VALUES,
                {
                    "x": xs,
                    "y": values,
                    "mode": "markers",
                    "marker": {
                        "size": 7,
                        "color": _point_colors(feasible),
                        "opacity": 0.75,
                        "line": {"color": "#ffffff", "width": 0.8},
                    },
                    "customdata": xs,
                    "name": objective,
                    "legendgroup": "history",
                    "showlegend": False,
                    "hovertemplate": f"<b>Trial %{{customdata:d}}</b><br>{objective} %{{y:.5g}}"
                    "<extra></extra>",
                },
                token=(xs.tobytes(), values.tobytes(), feasible.tobytes()),
                numbers=xs,
            )
        )
    if first < len(values):
        # The best-so-far line runs from the first feasible trial to the last trial, whatever
        # its state.
        last = max(model.trials) if model.trials else int(numbers[-1])
        line_x = np.append(xs[first:], float(max(last, numbers[-1])))
        line_y = np.append(best_so_far[first:], best_so_far[-1])
        traces.append(
            TraceSpec(
                "best-so-far",
                BEST_SO_FAR,
                {
                    "x": line_x,
                    "y": line_y,
                    "mode": "lines",
                    "line": {"color": st.BEST_COLOR, "width": 2.2, "shape": "hv"},
                    "name": "best so far",
                    "showlegend": False,
                    "hovertemplate": "best so far %{y:.5g}<extra></extra>",
                },
                token=(tuple(line_x.tolist()), tuple(line_y.tolist())),
            )
        )
    if best is not None:
        traces.append(_marker("best", BEST, best, st.BEST_COLOR, "star", 15, "best"))
    if selected is not None and selected in model.trials:
        t = model.trials[selected]
        if t.state == "COMPLETE" and t.values and math.isfinite(t.values[0]):
            traces.append(
                _marker(
                    "selected",
                    SELECTED,
                    (selected, t.values[0]),
                    st.SELECTED_COLOR,
                    "circle-open",
                    15,
                    "selected",
                )
            )
    message = None if len(rows) else "No complete trial yet"
    y_range = robust_range(values, values)
    return HistoryData(
        objective, direction, numbers, values, best_so_far, best, tuple(traces), message, y_range
    )


def _point_colors(feasible: np.ndarray) -> str | list[str]:
    """The values' colour: one for all, or per point when some break a constraint."""
    if feasible.all():
        return st.STATE_COLORS["COMPLETE"]
    ok, bad = st.STATE_COLORS["COMPLETE"], st.STATE_COLORS["FAIL"]
    return [ok if f else bad for f in feasible.tolist()]


def _marker(
    key: str, layer: int, point: tuple[int, float], color: str, symbol: str, size: int, word: str
) -> TraceSpec:
    number, value = point
    return TraceSpec(
        key,
        layer,
        {
            "x": np.asarray([float(number)]),
            "y": np.asarray([float(value)]),
            "mode": "markers",
            "marker": {
                "size": size,
                "color": color,
                "symbol": symbol,
                "line": {"color": color if symbol.endswith("open") else "#ffffff", "width": 2},
            },
            "name": word,
            "showlegend": False,
            "hovertemplate": f"<b>Trial {number}</b> · {word}<br>{fmt_value(value)}<extra></extra>",
        },
        token=(number, value),
        numbers=number,
    )
