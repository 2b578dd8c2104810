"""Sending the trace changes of a frame to a plotly FigureWidget's front end in one message.

plotly's ``FigureWidget`` turns every property assignment into a validated edit, and every
``plotly_restyle`` call into one ``Plotly.restyle``, after each of which plotly.js recomputes and
redraws every trace of the figure (and the widget compares every trace with its copy). So the
changes of a frame, from every view of a figure, go out as ONE restyle: a trace that keeps a
plain property gets plotly's ``Undefined`` for it.

(An animation without redraw would spare the finished curves, but plotly.js then clears every
trace it was not given; measured, not used.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plotly.basedatatypes import Undefined

#: Trace properties that hold other properties: plotly.js cannot leave one of these alone in a
#: restyle of several traces, so they are resent as they are.
CONTAINERS = frozenset({"line", "marker", "hoverlabel", "textfont", "domain", "dimensions"})


def send_restyle(figure: Any, changes: Sequence[Any]) -> bool:
    """Sends ``changes`` (``Change`` tuples of :mod:`._traces`) as one ``Plotly.restyle``;
    returns whether there was anything to send.

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
    """
    items = [c for c in changes if c.props]
    if not items:
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
    figure.plotly_restyle(data, [index[id(c.trace)] for c in items])
    return True
