"""Hypergradient traces: hyperparameter values and their hypergradients against step, for a few
trials, computed from the model's series.

Trials report traces as series (see :mod:`hpo_lab.hypergrad._trace`): ``hyper/<name>`` (the
value of a scalar hyperparameter), ``hypergrad/<name>`` (its hypergradient),
``hyper/<name>/mean|min|max`` and ``hypergrad/<name>/norm`` (a tensor hyperparameter), and
``hypergrad_norm`` (all hypergradients together). Values are drawn on one subplot (a tensor's mean
as a line over its min–max band), hypergradients on another, one trace per hyperparameter and
trial, each downsampled to ``max_points`` (min/max per bucket, so spikes survive).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from . import _style as st
from ._model import DashboardModel
from ._series import Series
from ._traces import TraceSpec

HYPER = "hyper/"
HYPERGRAD = "hypergrad/"
NORM = "hypergrad_norm"
STATS = ("mean", "min", "max")
#: What the view shows: see :func:`hypergrad_data`.
SHOW = ("auto", "selected", "running", "best", "all")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
LAYER = {"band": 0, "line": 1, "legend": 2}
_NONE = np.array([np.nan])


class Hyperparameter(NamedTuple):
    """The series of one traced hyperparameter.

    Attributes:
        name: Its name (``lr``, ``lr/group0``, ``weights``).
        value: Series of its value (a tensor's mean); None if only its hypergradient is traced.
        low: Series of a tensor's minimum (None for a scalar).
        high: Series of a tensor's maximum.
        grad: Series of its hypergradient (a tensor's hypergradient norm), if traced.
    """

    name: str
    value: str | None
    low: str | None
    high: str | None
    grad: str | None


class HypergradData(NamedTuple):
    """What the hypergradient view draws.

    Attributes:
        hyperparameters: Every hyperparameter traced by any trial, in order of appearance.
        show: The choice of trials (one of :data:`SHOW`).
        trials: The trials drawn.
        total: How many trials reported traces.
        has_norm: Whether ``hypergrad_norm`` is drawn.
        log_y: Whether the values' axis is logarithmic.
        traces: Values (axes ``x``/``y``) and hypergradients (``x2``/``y2``), bottom to top.
        n_points: Points drawn in all.
        message: What to say instead of traces, when there are none.
    """

    hyperparameters: tuple[Hyperparameter, ...]
    show: str
    trials: tuple[int, ...]
    total: int
    has_norm: bool
    log_y: bool
    traces: tuple[TraceSpec, ...]
    n_points: int
    message: str | None


def is_trace_series(name: str) -> bool:
    """Whether series ``name`` belongs to a hypergradient trace."""
    return name.startswith((HYPER, HYPERGRAD)) or name == NORM


def has_traces(model: DashboardModel) -> bool:
    """Whether any trial reported a hypergradient trace."""
    return any(is_trace_series(name) for name in model.by_name)


def hyperparameters(names: Iterable[str]) -> tuple[Hyperparameter, ...]:
    """The hyperparameters behind trace series ``names`` (other names are ignored).

    Example:
        >>> [h.name for h in hyperparameters(["loss", "hyper/lr", "hypergrad/lr",
        ...  "hyper/w/mean", "hyper/w/min", "hyper/w/max", "hypergrad/w/norm"])]
        ['lr', 'w']
        >>> lr = hyperparameters(["hyper/lr/group0", "hypergrad/lr/group0"])[0]
        >>> lr.name, lr.value, lr.grad
        ('lr/group0', 'hyper/lr/group0', 'hypergrad/lr/group0')
    """
    found: dict[str, dict[str, str]] = {}
    for series in names:
        if series.startswith(HYPER):
            rest = series[len(HYPER) :]
            base, _, stat = rest.rpartition("/")
            if base and stat in STATS:
                role = {"mean": "value", "min": "low", "max": "high"}[stat]
                found.setdefault(base, {})[role] = series
            elif rest:
                found.setdefault(rest, {})["value"] = series
        elif series.startswith(HYPERGRAD):
            rest = series[len(HYPERGRAD) :]
            base = rest[: -len("/norm")] if rest.endswith("/norm") else rest
            if base:
                roles = found.setdefault(base, {})
                if "grad" not in roles or not rest.endswith("/norm"):
                    roles["grad"] = series
    return tuple(
        Hyperparameter(name, r.get("value"), r.get("low"), r.get("high"), r.get("grad"))
        for name, r in found.items()
    )


def hypergrad_data(
    model: DashboardModel,
    *,
    show: str = "auto",
    selected: int | None = None,
    log_y: bool = False,
    max_points: int = 200,
    max_trials: int = 12,
) -> HypergradData:
    """Computes the traces of the trials ``show`` picks.

    Args:
        model: The dashboard's model.
        show: ``"selected"`` (the selected trial), ``"running"`` (the running trials),
            ``"best"`` (the best trial, one objective), ``"all"`` (every trial with traces, the
            latest ``max_trials``), or ``"auto"``: the selected trial if it has traces, else the
            running ones, else the best, else the latest.
        selected: The selected trial.
        log_y: Logarithmic axis for the values.
        max_points: Each trace is downsampled to at most this many points.
        max_trials: At most this many trials are drawn (the latest).

    Example:
        >>> from hpo_lab.events import MetricsReported, TrialStarted
        >>> m = DashboardModel("hd", ["minimize"])
        >>> _ = m.apply([TrialStarted(0)] + [MetricsReported(0, s, {"hyper/lr": 0.1 + s,
        ...     "hypergrad/lr": -1.0 / (s + 1)}) for s in range(4)])
        >>> data = hypergrad_data(m)
        >>> data.trials, [t.key for t in data.traces]
        ((0,), ['value:0:lr', 'grad:0:lr'])
    """
    if show not in SHOW:
        raise ValueError(f"show must be one of {SHOW}, got {show!r}")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 4:
        raise ValueError(f"max_points must be an int of at least 4, got {max_points!r}")
    if isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1:
        raise ValueError(f"max_trials must be a positive int, got {max_trials!r}")
    names = [n for n in model.by_name if is_trace_series(n)]
    hps = hyperparameters(names)
    traced: set[int] = set()
    for n in names:
        traced.update(number for number, s in model.by_name[n].items() if len(s))
    trials, message = _pick(model, show, selected, traced, max_trials)
    norms = model.by_name.get(NORM, {})
    traces: list[TraceSpec] = []
    several = len(trials) > 1
    for number in trials:
        series = model.series.get(number, {})
        width = 2.6 if several and number == selected else 1.8
        for k, hp in enumerate(hps):
            # One trial: a colour per hyperparameter, and a legend entry that hides both its
            # plots. Several: a colour per trial, a dash per hyperparameter, and the legend
            # says which is which once (an entry for a trial hides all of its traces).
            color = st.running_color(number) if several else st.RUNNING_PALETTE[k % 10]
            dash = DASHES[k % len(DASHES)] if several else "solid"
            group = f"trial {number}" if several else hp.name
            name = f"#{number} {hp.name}" if several else hp.name
            line = _Style(color, dash, width, name, group, not several, k)
            value, low, high = (series.get(s) if s else None for s in (hp.value, hp.low, hp.high))
            if low is not None and high is not None and len(low) and len(high):
                traces.append(_band(number, hp.name, low, high, color, group, max_points))
            if value is not None and len(value):
                what = html.escape(hp.name) + (" (mean)" if hp.low else "")
                traces.append(
                    _line(f"value:{number}:{hp.name}", number, value, line, max_points, "", what)
                )
            grad = series.get(hp.grad) if hp.grad else None
            if grad is not None and len(grad):
                bars = "‖" if hp.grad is not None and hp.grad.endswith("/norm") else ""
                what = f"{bars}∂/∂{html.escape(hp.name)}{bars}"
                traces.append(
                    _line(
                        f"grad:{number}:{hp.name}",
                        number,
                        grad,
                        line._replace(legend=False),
                        max_points,
                        "2",
                        what,
                    )
                )
        norm = norms.get(number)
        group = f"trial {number}"
        if norm is not None and len(norm):
            color = st.running_color(number) if several else st.MUTED_TEXT
            style = _Style(
                color, "dot", 1.4, "‖hypergrad‖", group if several else "norm", not several, 99
            )
            traces.append(_line(f"norm:{number}", number, norm, style, max_points, "2", style.name))
    n_points = sum(len(t.props["x"]) for t in traces)
    if several:
        traces += _legend(trials, hps, bool(norms))
    traces.sort(key=lambda s: s.layer)
    if not traced:
        message = (
            "No trial has reported hypergradient traces yet: report them with "
            "hpo_lab.hypergrad.report_trace(trial, step, optimizer)"
        )
    return HypergradData(
        hps,
        show,
        tuple(trials),
        len(traced),
        bool(norms),
        bool(log_y),
        tuple(traces),
        n_points,
        message,
    )


def _pick(
    model: DashboardModel, show: str, selected: int | None, traced: set[int], max_trials: int
) -> tuple[list[int], str | None]:
    """The trials to draw, and why there are none (if so)."""
    running = [n for n in model.running() if n in traced][-max_trials:]
    best = model.best[0] if model.best is not None and model.n_objectives == 1 else None
    if show in ("auto", "selected") and selected is not None and selected in traced:
        return [selected], None
    if show == "selected":
        if selected is None:
            return [], "Select a trial (in the table or a plot) to see its hypergradients"
        return [], f"Trial {selected} reported no hypergradient traces"
    if show in ("auto", "running") and running:
        return running, None
    if show == "running":
        return [], "No running trial reports hypergradient traces"
    if show in ("auto", "best") and best is not None and best in traced:
        return [best], None
    if show == "best":
        if model.n_objectives > 1:
            return [], "Several objectives have no single best trial: pick one on the front"
        return [], "The best trial reported no hypergradient traces"
    latest = sorted(traced)[-max_trials:] if show == "all" else sorted(traced)[-1:]
    return latest, None


class _Style(NamedTuple):
    color: str
    dash: str
    width: float
    name: str
    group: str
    legend: bool
    rank: int = 0


def _line(
    key: str, number: int, s: Series, style: _Style, max_points: int, axis: str, what: str
) -> TraceSpec:
    x, y = s.display(max_points)
    return TraceSpec(
        key,
        LAYER["line"],
        {
            "xaxis": f"x{axis}",
            "yaxis": f"y{axis}",
            "x": x,
            "y": y,
            "mode": "lines",
            "line": {"color": style.color, "width": style.width, "dash": style.dash},
            "name": style.name,
            "legendgroup": style.group,
            "legendrank": style.rank,
            "showlegend": style.legend,
            "hovertemplate": f"<b>Trial {number}</b> · {what} %{{y:.4g}} at step %{{x}}"
            "<extra></extra>",
        },
        token=(s.version, max_points, style),
        numbers=number,
    )


def _legend(trials: Iterable[int], hps: Iterable[Hyperparameter], norm: bool) -> list[TraceSpec]:
    """Legend-only traces for several trials: a colour per trial, a dash per hyperparameter."""
    items = [(f"trial {n}", f"#{n}", st.running_color(n), "solid") for n in trials]
    items += [
        (f"name {hp.name}", hp.name, st.MUTED_TEXT, DASHES[k % len(DASHES)])
        for k, hp in enumerate(hps)
    ]
    if norm:
        items.append(("name norm", "‖hypergrad‖", st.MUTED_TEXT, "dot"))
    return [
        TraceSpec(
            f"legend:{group}",
            LAYER["legend"],
            {
                "xaxis": "x",
                "yaxis": "y",
                "x": _NONE,
                "y": _NONE,
                "mode": "lines",
                "line": {"color": color, "width": 2, "dash": dash},
                "name": name,
                "legendgroup": group,
                "legendrank": rank,
                "showlegend": True,
                "hoverinfo": "skip",
            },
            token=(name, color, dash, rank),
        )
        for rank, (group, name, color, dash) in enumerate(items)
    ]


def _band(
    number: int, name: str, low: Series, high: Series, color: str, group: str, max_points: int
) -> TraceSpec:
    lx, ly = low.display(max_points)
    hx, hy = high.display(max_points)
    return TraceSpec(
        f"band:{number}:{name}",
        LAYER["band"],
        {
            "xaxis": "x",
            "yaxis": "y",
            "x": np.concatenate([hx, lx[::-1]]),
            "y": np.concatenate([hy, ly[::-1]]),
            "mode": "lines",
            "fill": "toself",
            "fillcolor": _alpha(color, 0.15),
            "line": {"color": color, "width": 0},
            "name": f"{name} min–max",
            "legendgroup": group,
            "showlegend": False,
            "hoverinfo": "skip",
        },
        token=(low.version, high.version, max_points, color, group),
        numbers=number,
    )


def _alpha(color: str, alpha: float) -> str:
    r, g, b = (int(color[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
