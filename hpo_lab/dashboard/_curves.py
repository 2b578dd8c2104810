"""Learning curves: every trial's chosen series against step, computed from the model.

Finished trials are drawn many to a trace (``chunk`` trials of one state per trace, NaN between
curves), so a thousand trials are a handful of traces and a trial that ends resends one chunk.
Running trials get a trace each (their own colour, thicker), so the ones that grow are the only
traces sent while they run. The best and the selected trial are drawn again on top.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, NamedTuple

import numpy as np

from . import _style as st
from ._hover import params_html, state_word
from ._model import DashboardModel, TrialRecord
from ._scale import Extremes, range_of
from ._series import Series
from ._traces import TraceSpec

#: Layers, bottom to top.
LAYER = {
    "PRUNED": 0,
    "FAIL": 1,
    "COMPLETE": 2,
    "RUNNING": 3,
    "marks": 4,
    "best": 5,
    "selected": 6,
    "legend": 7,
}
CHUNK_STYLE = {
    "COMPLETE": {"color": st.STATE_COLORS["COMPLETE"], "width": 1.3, "opacity": 0.5},
    "PRUNED": {"color": st.STATE_COLORS["PRUNED"], "width": 1.0, "opacity": 0.3},
    "FAIL": {"color": st.STATE_COLORS["FAIL"], "width": 1.2, "opacity": 0.75, "dash": "dot"},
}
LEGEND = (
    ("RUNNING", "running", st.STATE_COLORS["RUNNING"]),
    ("COMPLETE", "complete", st.STATE_COLORS["COMPLETE"]),
    ("PRUNED", "pruned", st.STATE_COLORS["PRUNED"]),
    ("FAIL", "failed", st.STATE_COLORS["FAIL"]),
    ("best", "best", st.BEST_COLOR),
    ("selected", "selected", st.SELECTED_COLOR),
)
_NAN = np.array([np.nan])
#: What every running trial's trace shares (its points, colour, name and hover text differ).
RUNNING_STYLE: dict[str, Any] = {
    "mode": "lines",
    "opacity": 1.0,
    "legendgroup": "RUNNING",
    "showlegend": False,
}
RUNNING_WIDTH = 2.2
#: What the trace of the running trials' latest points shares with nothing else.
HEADS_STYLE: dict[str, Any] = {
    "mode": "markers",
    "name": "latest",
    "legendgroup": "RUNNING",
    "showlegend": False,
}
HEADS_MARKER: dict[str, Any] = {
    "size": 8,
    "symbol": "circle",
    "line": {"color": "#ffffff", "width": 1.5},
}


class CurvesData(NamedTuple):
    """What the learning-curves view draws.

    Attributes:
        series: The series shown (None when nothing was reported yet).
        series_names: Every series name, for the picker.
        log_y: Whether the value axis is logarithmic.
        traces: The traces of finished trials, the best and the selected one, and the legend,
            keyed (see :class:`~hpo_lab.dashboard._traces.TraceSpec`), bottom to top.
        live: The running trials' traces and their latest points: they change with every
            report, and are drawn over the others on a subplot of their own.
        n_points: Points drawn in all (decides SVG or WebGL for ``traces``).
        counts: Curves drawn per state (``RUNNING``, ``COMPLETE``, ``PRUNED``, ``FAIL``).
        message: What to say instead of curves, if there are none.
        y_range: The value axis's range, when outlying curves are left out of it (None: the
            axis fits every curve); see :func:`~hpo_lab.dashboard._scale.robust_range`.
    """

    series: str | None
    series_names: tuple[str, ...]
    log_y: bool
    traces: tuple[TraceSpec, ...]
    live: tuple[TraceSpec, ...]
    n_points: int
    counts: dict[str, int]
    message: str | None
    y_range: tuple[float, float] | None = None


def default_series(model: DashboardModel) -> str | None:
    """The session's metric if reported, else the first series seen."""
    names = model.series_names
    return names[0] if names else None


def curves_data(
    model: DashboardModel,
    series: str | None = None,
    *,
    selected: int | None = None,
    log_y: bool = False,
    max_points: int = 200,
    budget: int = 15_000,
    chunk: int = 250,
    cache: dict[str, tuple[Hashable, Any]] | None = None,
) -> CurvesData:
    """Computes the learning curves of series ``series`` (default: :func:`default_series`).

    Args:
        model: The dashboard's model.
        series: The series to draw; a name nobody reported draws nothing.
        selected: The selected trial, drawn on top.
        log_y: Logarithmic value axis.
        max_points: Each curve is downsampled to at most this many points (min/max per bucket).
        budget: Points for all finished curves together: with many trials, each is drawn with
            fewer points (at least 8), since plotly redraws every point at every update.
        chunk: Finished trials per trace.
        cache: Optional memo (the caller keeps it between calls) of the finished trials' traces,
            reused while the model says they did not change; the result is the same with or
            without it.

    Example:
        >>> from hpo_lab.events import TrialStarted, MetricsReported
        >>> m = DashboardModel("demo", ["minimize"], metric="loss")
        >>> _ = m.apply([TrialStarted(0)] + [MetricsReported(0, s, {"loss": 1 / (s + 1)})
        ...                                  for s in range(5)])
        >>> data = curves_data(m)
        >>> data.series, data.counts, [t.key for t in data.live]
        ('loss', {'RUNNING': 1}, ['run:0', 'heads'])
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 4:
        raise ValueError(f"max_points must be an int of at least 4, got {max_points!r}")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 100:
        raise ValueError(f"budget must be an int of at least 100 (points), got {budget!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive int, got {chunk!r}")
    names = tuple(model.series_names)
    if series is None:
        series = default_series(model)
    curves = model.by_name.get(series, {}) if series is not None else {}
    label = series or "value"

    traces: list[TraceSpec] = []
    finished = _finished_traces(model, series, label, max_points, budget, chunk, cache)
    traces += finished.traces
    n_points = finished.n_points
    counts = dict(finished.counts)
    lows: list[float] = []  # the running curves' extremes
    highs: list[float] = []

    running = [
        (n, model.trials[n], curves[n]) for n in model.running() if n in curves and len(curves[n])
    ]
    if running:
        counts["RUNNING"] = len(running)
    live: list[TraceSpec] = []
    heads_x, heads_y, heads_c, heads_n = [], [], [], []
    for number, t, s in running:
        if (extremes := s.extremes) is not None:
            lows.append(extremes[0])
            highs.append(extremes[1])
        x, y = s.display(max_points)
        color = st.running_color(number)
        state = "paused" if t.held else "running"
        live.append(
            TraceSpec(
                f"run:{number}",
                LAYER["RUNNING"],
                {
                    **RUNNING_STYLE,
                    "x": x,
                    "y": y,
                    "line": {"color": color, "width": RUNNING_WIDTH},
                    "name": f"trial {number}",
                    "hovertemplate": _running_template(number, state, label, t, model, cache),
                },
                token=(number, s.version, state, len(t.params)),
                numbers=number,
            )
        )
        heads_x.append(x[-1])
        heads_y.append(y[-1])
        heads_c.append(color)
        heads_n.append(number)
    if running:
        live.append(
            TraceSpec(
                "heads",
                LAYER["marks"],
                {
                    **HEADS_STYLE,
                    "x": np.asarray(heads_x, dtype=np.float64),
                    "y": np.asarray(heads_y, dtype=np.float64),
                    "marker": {**HEADS_MARKER, "color": heads_c},
                    "customdata": np.asarray(heads_n, dtype=np.float64),
                    "hovertemplate": f"<b>Trial %{{customdata}}</b> · running<br>{label} "
                    "%{y:.4g} at step %{x}<extra></extra>",
                },
                numbers=np.asarray(heads_n, dtype=np.float64),
            )
        )
    best = model.best[0] if model.best is not None and model.n_objectives == 1 else None
    for key, number, color, width in (
        ("best", best, st.BEST_COLOR, 3.2),
        ("selected", selected, st.SELECTED_COLOR, 2.4),
    ):
        s = curves.get(number) if number is not None else None
        t = model.trials.get(number) if number is not None else None
        if s is None or t is None or not len(s):
            continue
        x, y = s.display(max_points)
        n_points += len(x)
        what = "best" if key == "best" else state_word(t.display_state)
        traces.append(
            TraceSpec(
                key,
                LAYER[key],
                {
                    "x": x,
                    "y": y,
                    "mode": "lines+markers" if key == "selected" else "lines",
                    "line": {"color": color, "width": width},
                    "marker": {"size": 4, "color": color},
                    "opacity": 1.0,
                    "name": f"{key} #{number}",
                    "legendgroup": key,
                    "showlegend": False,
                    "hovertemplate": _trial_template(number, what, label, t, model),
                },
                token=(number, s.version, t.version, what),
                numbers=number,
            )
        )

    traces.extend(_legend(counts, best is not None and best in curves, selected in curves))
    message = None
    if not names:
        message = "No values reported yet: curves appear with the first trial.report()"
    elif series not in model.by_name:
        message = f"No trial reported {series!r}"
    traces.sort(key=lambda spec: spec.layer)  # bottom to top, as they are drawn
    extremes = finished.log_extremes if log_y else finished.extremes
    y_range = range_of(extremes.merged(Extremes.of(lows, highs, bool(log_y))))
    return CurvesData(
        series, names, bool(log_y), tuple(traces), tuple(live), n_points, counts, message, y_range
    )


#: Points per finished curve, coarsest last (few levels: a new level redraws every curve).
_LEVELS = (256, 192, 128, 96, 64, 48, 32, 24, 16, 12, 8)


def points_per_curve(budget: int, curves: int, max_points: int) -> int:
    """Points to draw each of ``curves`` finished curves with, to stay within ``budget``.

    Example:
        >>> points_per_curve(15_000, 10, 200), points_per_curve(15_000, 1_000, 200)
        (200, 12)
    """
    if curves <= 0 or budget // curves >= max_points:
        return max_points
    fits = [level for level in _LEVELS if level <= budget // curves and level <= max_points]
    return fits[0] if fits else min(8, max_points)


class _Finished(NamedTuple):
    traces: list[TraceSpec]
    counts: dict[str, int]
    n_points: int
    extremes: Extremes  # the finished curves' smallest and largest values
    log_extremes: Extremes  # the same on a log axis


def _finished_traces(
    model: DashboardModel,
    series: str | None,
    label: str,
    max_points: int,
    budget: int,
    chunk: int,
    cache: dict[str, tuple[Hashable, Any]] | None,
) -> _Finished:
    """The chunk traces of finished trials and the marks of failed ones.

    They change only when a trial's state, values or params do, or when a finished trial gets
    points (a reload): with a ``cache``, the last result is reused until the model says so,
    which spares looking at every finished curve for each batch of running trials' points.
    """
    key = (
        series,
        label,
        max_points,
        budget,
        chunk,
        model.outcome_version,
        model.finished_points_version,
    )
    if cache is not None:
        hit = cache.get("finished")
        if hit is not None and hit[0] == key:
            return hit[1]
    curves = model.by_name.get(series, {}) if series is not None else {}
    groups: dict[str, list[tuple[int, TrialRecord, Series]]] = {}
    for number in sorted(curves):
        s = curves[number]
        t = model.trials.get(number)
        if t is not None and t.state in CHUNK_STYLE and len(s):
            groups.setdefault(t.state, []).append((number, t, s))
    per_curve = points_per_curve(budget, sum(len(g) for g in groups.values()), max_points)
    traces: list[TraceSpec] = []
    n_points = 0
    for state in ("PRUNED", "FAIL", "COMPLETE"):
        by_chunk: dict[int, list[tuple[int, TrialRecord, Series]]] = {}
        for item in groups.get(state, []):
            by_chunk.setdefault(item[0] // chunk, []).append(item)
        for index, items in by_chunk.items():
            spec = _chunk_trace(state, index, items, label, per_curve, cache)
            n_points += len(spec.props["x"])
            traces.append(spec)
    failed = groups.get("FAIL", [])
    if failed:
        ends = [s.display(per_curve) for _, _, s in failed]
        traces.append(
            TraceSpec(
                "fail-marks",
                LAYER["marks"],
                {
                    "x": np.asarray([x[-1] for x, _ in ends], dtype=np.float64),
                    "y": np.asarray([y[-1] for _, y in ends], dtype=np.float64),
                    "mode": "markers",
                    "marker": {
                        "size": 9,
                        "color": st.STATE_COLORS["FAIL"],
                        "symbol": "x-thin",
                        "line": {"color": st.STATE_COLORS["FAIL"], "width": 2},
                    },
                    "customdata": np.asarray([n for n, _, _ in failed], dtype=np.float64),
                    "name": "failed here",
                    "legendgroup": "FAIL",
                    "showlegend": False,
                    "hovertemplate": "<b>Trial %{customdata}</b> · failed at step %{x}"
                    "<extra></extra>",
                },
                token=tuple((n, s.version) for n, _, s in failed),
                numbers=np.asarray([n for n, _, _ in failed], dtype=np.float64),
            )
        )

    ends = [e for items in groups.values() for _, _, s in items if (e := s.extremes) is not None]
    lows, highs = [e[0] for e in ends], [e[1] for e in ends]
    result = _Finished(
        traces,
        {state: len(items) for state, items in groups.items()},
        n_points,
        Extremes.of(lows, highs, False),
        Extremes.of(lows, highs, True),
    )
    if cache is not None:
        cache["finished"] = (key, result)
    return result


def _running_template(
    number: int,
    state: str,
    label: str,
    t: TrialRecord,
    model: DashboardModel,
    cache: dict[str, tuple[Hashable, Any]] | None,
) -> str:
    """A running trial's hover template, rebuilt only when its params or state change."""
    key = (state, label, len(t.params), len(model.param_names))
    hit = cache.get(f"template:{number}") if cache is not None else None
    if hit is not None and hit[0] == key:
        return hit[1]
    template = _trial_template(number, state, label, t, model)
    if cache is not None:
        cache[f"template:{number}"] = (key, template)
    return template


def _trial_template(
    number: int, state: str, label: str, t: TrialRecord, model: DashboardModel
) -> str:
    params = params_html(t.params, model.param_names)
    head = f"<b>Trial {number}</b> · {state}<br>{label} %{{y:.4g}} at step %{{x}}"
    body = f"<br><span style='color:{st.MUTED_TEXT}'>{params}</span>" if params else ""
    return head + body + "<extra></extra>"


def _chunk_trace(
    state: str,
    index: int,
    items: list[tuple[int, TrialRecord, Series]],
    label: str,
    max_points: int,
    cache: dict[str, tuple[Hashable, Any]] | None,
) -> TraceSpec:
    key = f"{state}:{index}"
    token = (label, max_points, tuple((n, s.version) for n, _, s in items))
    if cache is not None:
        hit = cache.get(key)
        if hit is not None and hit[0] == token:
            return hit[1]
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    ns: list[np.ndarray] = []
    for number, _, s in items:
        x, y = s.display(max_points)
        xs += [x, _NAN]
        ys += [y, _NAN]
        ns += [np.full(len(x), float(number)), _NAN]
    style = CHUNK_STYLE[state]
    word = state_word(state)
    numbers = np.concatenate(ns)
    props: dict[str, Any] = {
        "x": np.concatenate(xs),
        "y": np.concatenate(ys),
        "customdata": numbers,
        "mode": "lines",
        "connectgaps": False,
        "line": {
            "color": style["color"],
            "width": style["width"],
            "dash": style.get("dash", "solid"),
        },
        "opacity": style["opacity"],
        "name": word,
        "legendgroup": state,
        "showlegend": False,
        "hovertemplate": f"<b>Trial %{{customdata:d}}</b> · {word}<br>{label} %{{y:.4g}} "
        "at step %{x}<extra></extra>",
    }
    spec = TraceSpec(key, LAYER[state], props, token=token, numbers=numbers)
    if cache is not None:
        cache[key] = (token, spec)
    return spec


def _legend(counts: dict[str, int], has_best: bool, has_selected: bool) -> list[TraceSpec]:
    """Empty traces that only make legend entries, one per category shown.

    The entries carry no counts (the status bar has them): plotly.js redraws its legend only
    with the whole figure, so an entry that changed at every trial's end would cost a full
    redraw, where the curves themselves only move points.
    """
    out = []
    for rank, (key, word, color) in enumerate(LEGEND):
        n = counts.get(key)
        if key == "best":
            n = 1 if has_best else None
        elif key == "selected":
            n = 1 if has_selected else None
        if not n:
            continue
        name = word
        dash = CHUNK_STYLE.get(key, {}).get("dash", "solid")
        out.append(
            TraceSpec(
                f"legend:{key}",
                LAYER["legend"],
                {
                    "x": [None],
                    "y": [None],
                    "mode": "lines",
                    "line": {"color": color, "width": 3 if key == "best" else 2, "dash": dash},
                    "name": name,
                    "legendgroup": key,
                    "legendrank": rank,
                    "showlegend": True,
                    "hoverinfo": "skip",
                },
                token=(name,),
            )
        )
    return out
