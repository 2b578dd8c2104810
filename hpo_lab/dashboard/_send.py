"""Sending the trace changes of a frame to a plotly FigureWidget's front end in one message.

plotly's ``FigureWidget`` turns every property assignment into a validated edit, and every
``plotly_restyle`` call into one ``Plotly.restyle``, after each of which plotly.js recomputes and
redraws every trace of the figure (and the widget compares every trace with its copy). So the
changes of a frame, from every view of a figure, go out as ONE restyle: a trace that keeps a
plain property gets plotly's ``Undefined`` for it.

A frame that only changes traces already shown (their points, colours, names and hover
templates: running trials' curves grew, a trial ended and its curve joined a finished chunk, a
running trial took over a parked trace) can go as an animation without redraw instead
(:func:`send_animate`): plotly.js then redraws only the traces it is given (measured on the
learning-curves figure of a 1,000-trial search in headless chromium: 85 ms instead of 175).
plotly's animate still supplies the defaults of every trace and recomputes all of them first;
the dashboard figure's front end (``widgets/figure_view.js``) skips that for animations of SVG
scatter traces and recomputes only the traces given (about 15 ms per frame there).

What an animation cannot do, checked in chromium: show or hide a trace, redraw the legend,
rescale an axis, and it clears a subplot given no trace at all. The caller keeps points within
the ranges drawn, sends legend changes with full frames, and gives every subplot a trace (see
``TraceSync.anchor``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plotly.basedatatypes import Undefined

#: What an animation without redraw may change (each checked in headless chromium: plotly.js
#: redraws the trace's points and restyles its line and markers).
ANIMATABLE = frozenset({"x", "y", "customdata", "name", "hovertemplate", "line", "marker"})
#: plotly.js's options for an animation that only moves points, at once.
NO_REDRAW = {
    "transition": {"duration": 0},
    "frame": {"duration": 0, "redraw": False},
    "mode": "immediate",
}

#: Trace properties that hold other properties: plotly.js cannot leave one of these alone in a
#: restyle of several traces, so they are resent as they are.
CONTAINERS = frozenset({"line", "marker", "hoverlabel", "textfont", "domain", "dimensions"})


def send_restyle(
    figure: Any, changes: Sequence[Any], layout: Mapping[str, Any] | None = None
) -> bool:
    """Sends ``changes`` (``Change`` tuples of :mod:`._traces`) as one ``Plotly.restyle``, or,
    with ``layout`` changes (plotly's relayout terms: ``{"xaxis.range": [0, 1]}``), both as one
    ``Plotly.update``: one redraw either way. Returns whether there was anything to send.

    Example:
        >>> import plotly.graph_objects as go
        >>> from hpo_lab.dashboard._traces import Change
        >>> fig = go.FigureWidget([go.Scatter(y=[1.0]), go.Scatter(y=[2.0])])
        >>> a, b = fig.data
        >>> send_restyle(fig, [Change(a, {"y": [3.0]}, False, False, {"y": [3.0]}),
        ...                    Change(b, {"name": "b"}, False, False, {"name": "b"})])
        True
        >>> a.y, a.name, b.y, b.name
        ((3.0,), None, (2.0,), 'b')
        >>> send_restyle(fig, [], {"xaxis.range": [0, 5]}), fig.layout.xaxis.range
        (True, (0, 5))
    """
    items = [c for c in changes if c.props]
    if not items and not layout:
        return False
    index = {id(t): i for i, t in enumerate(figure.data)}
    data = {}
    for key in sorted({k for c in items for k in c.props}):
        data[key] = [
            c.props[key]
            if key in c.props
            else (c.current.get(key) if key in CONTAINERS else Undefined)
            for c in items
        ]
    traces = [index[id(c.trace)] for c in items]
    if layout:
        figure.plotly_update(restyle_data=data, relayout_data=dict(layout), trace_indexes=traces)
    else:
        figure.plotly_restyle(data, traces)
    return True


def animatable(changes: Sequence[Any]) -> bool:
    """Whether ``changes`` only change :data:`ANIMATABLE` properties of traces shown already,
    none of them in the legend (see :func:`send_animate`).

    Example:
        >>> from hpo_lab.dashboard._traces import Change
        >>> animatable([Change(None, {"x": [1.0], "name": "b"}, False, False, {})])
        True
        >>> animatable([Change(None, {"y": [2.0], "mode": "markers"}, False, False, {})])
        False
        >>> animatable([Change(None, {"name": "b"}, False, False, {"showlegend": True})])
        False
    """
    return bool(changes) and all(
        not c.fresh
        and not c.retired
        and c.props.keys() <= ANIMATABLE
        and c.current.get("showlegend") is not True
        for c in changes
    )


def send_animate(figure: Any, changes: Sequence[Any]) -> bool:
    """Sends ``changes`` (which must be :func:`animatable`) as one animation without redraw:
    plotly.js redraws only these traces. Returns whether there was anything to send.

    The figure's own record of its traces is updated as by a restyle.

    Example:
        >>> import plotly.graph_objects as go
        >>> from hpo_lab.dashboard._traces import Change
        >>> fig = go.FigureWidget([go.Scatter(y=[1.0]), go.Scatter(y=[2.0])])
        >>> a, b = fig.data
        >>> send_animate(fig, [Change(b, {"y": [3.0, 4.0]}, False, False, {})])
        True
        >>> a.y, b.y
        ((1.0,), (3.0, 4.0))
    """
    items = [c for c in changes if c.props]
    if not items:
        return False
    if not animatable(items):
        raise ValueError("send_animate: these changes need a redraw (see animatable())")
    index = {id(t): i for i, t in enumerate(figure.data)}
    traces = [index[id(c.trace)] for c in items]
    keys = sorted({k for c in items for k in c.props})
    figure._perform_plotly_restyle(
        {k: [c.props.get(k, Undefined) for c in items] for k in keys}, traces
    )
    figure._send_animate_msg(
        styles_data=[dict(c.props) for c in items],
        relayout_data={},
        trace_indexes=traces,
        animation_opts=NO_REDRAW,
    )
    return True
