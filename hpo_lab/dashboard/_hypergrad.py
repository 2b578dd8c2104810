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
LAYER = {"band": 0, "line": 1}
#: Legend entries past this many are left out (hover still names every trace).
MAX_LEGEND = 16


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
    n_points = 0
    several = len(trials) > 1
    for rank, number in enumerate(trials):
        series = model.series.get(number, {})
        width = 2.6 if several and number == selected else 1.8
        for k, hp in enumerate(hps):
            color = st.running_color(number) if several else st.RUNNING_PALETTE[k % 10]
            dash = DASHES[k % len(DASHES)] if several else "solid"
            label = f"#{number} {hp.name}" if several else hp.name
            legend = rank * len(hps) + k < MAX_LEGEND
            style = (color, dash, width, label, legend)
            value, low, high = (series.get(s) if s else None for s in (hp.value, hp.low, hp.high))
            if low is not None and high is not None and len(low) and len(high):
                spec = _band(number, hp.name, low, high, color, max_points)
                n_points += len(spec.props["x"])
                traces.append(spec)
            if value is not None and len(value):
                what = f"{html.escape(hp.name)}" + (" (mean)" if hp.low else "")
                spec = _line(
                    f"value:{number}:{hp.name}", number, value, style, max_points, "", what
                )
                n_points += len(spec.props["x"])
                traces.append(spec)
            grad = series.get(hp.grad) if hp.grad else None
            if grad is not None and len(grad):
                norm = hp.grad is not None and hp.grad.endswith("/norm")
                what = f"{'‖' if norm else ''}∂/∂{html.escape(hp.name)}{'‖' if norm else ''}"
                spec = _line(
                    f"grad:{number}:{hp.name}",
                    number,
                    grad,
                    (color, dash, width, label, False),
                    max_points,
                    "2",
                    what,
                )
                n_points += len(spec.props["x"])
                traces.append(spec)
        norm_series = norms.get(number)
        if norm_series is not None and len(norm_series):
            color = st.running_color(number) if several else st.MUTED_TEXT
            label = f"#{number} ‖hypergrad‖" if several else "‖hypergrad‖"
            spec = _line(
                f"norm:{number}",
                number,
                norm_series,
                (color, "dot", 1.4, label, rank == 0),
                max_points,
                "2",
                "‖hypergrad‖",
            )
            n_points += len(spec.props["x"])
            traces.append(spec)
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


def _line(
    key: str,
    number: int,
    s: Series,
    style: tuple[str, str, float, str, bool],
    max_points: int,
    axis: str,
    what: str,
) -> TraceSpec:
    color, dash, width, label, legend = style
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
            "line": {"color": color, "width": width, "dash": dash},
            "name": label,
            "legendgroup": label,
            "showlegend": legend,
            "hovertemplate": f"<b>Trial {number}</b> · {what} %{{y:.4g}} at step %{{x}}"
            "<extra></extra>",
        },
        token=(s.version, max_points, style),
        numbers=number,
    )


def _band(
    number: int, name: str, low: Series, high: Series, color: str, max_points: int
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
            "showlegend": False,
            "hoverinfo": "skip",
        },
        token=(low.version, high.version, max_points, color),
        numbers=number,
    )


def _alpha(color: str, alpha: float) -> str:
    r, g, b = (int(color[k : k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
