"""The dashboard's FigureWidget sends one message per edit to its front end."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go

from hpo_lab.dashboard._figure import LiveFigure
from hpo_lab.dashboard._send import NO_REDRAW, send_animate, send_restyle
from hpo_lab.dashboard._traces import Change


class Comm:
    """Records what a widget sends to its front end."""

    def __init__(self) -> None:
        self.kernel = SimpleNamespace()
        self.comm_id = "test-comm"
        self.sent: list[tuple[dict, list]] = []

    def on_msg(self, callback) -> None:
        pass

    def send(self, data: dict, buffers: list | None = None) -> None:
        self.sent.append((data, list(buffers or [])))


def _attached(fig: go.FigureWidget) -> Comm:
    comm = Comm()
    fig.comm = comm
    return comm


def test_each_edit_is_one_message_with_binary_arrays() -> None:
    fig = LiveFigure([go.Scatter(x=[0.0], y=[1.0]), go.Scatter(x=[0.0], y=[2.0])])
    comm = _attached(fig)
    a, b = fig.data
    y = np.array([3.0, 4.0, 5.0])
    assert send_animate(fig, [Change(b, {"y": y}, False, False, {})])
    assert send_restyle(fig, [Change(a, {"name": "a"}, False, False, {})], {"xaxis.range": [0, 1]})
    fig.plotly_relayout({"yaxis.range": [0, 2]})
    counters = ["_last_layout_edit_id", "_last_trace_edit_id"]
    assert [sorted(data["state"]) for data, _ in comm.sent] == [
        [*counters, "_py2js_animate"],
        [*counters, "_py2js_update"],
        ["_last_layout_edit_id", "_py2js_relayout"],
    ]
    assert [data["state"]["_last_layout_edit_id"] for data, _ in comm.sent] == [1, 2, 3]
    assert fig._last_layout_edit_id == 3 and fig._last_trace_edit_id == 2
    animate, buffers = comm.sent[0]
    message = animate["state"]["_py2js_animate"]
    assert message["style_traces"] == [1] and message["animation_opts"] == NO_REDRAW
    assert animate["buffer_paths"] == [["_py2js_animate", "style_data", 0, "y", "buffer"]]
    assert np.frombuffer(buffers[0], dtype=np.float64).tolist() == y.tolist()
    assert list(b.y) == [3.0, 4.0, 5.0] and a.name == "a"  # the figure's own record follows
    assert fig._py2js_animate is None  # so the next message is a change


def test_plotlys_figure_widget_sends_four_messages_per_edit() -> None:
    """What LiveFigure saves: plotly's own widget sends the counters and the reset apart."""
    fig = go.FigureWidget([go.Scatter(y=[1.0])])
    comm = _attached(fig)
    fig.plotly_restyle({"name": ["a"]}, [0])
    states = [data["state"] for data, _ in comm.sent]
    assert states[0] == {"_last_layout_edit_id": 1} and states[1] == {"_last_trace_edit_id": 1}
    assert states[3] == {"_py2js_restyle": None} and len(states) == 4


def test_the_whole_state_has_the_counters_for_a_view_drawn_later() -> None:
    fig = LiveFigure([go.Scatter(y=[1.0])])
    _attached(fig)
    fig.plotly_restyle({"name": ["a"]}, [0])
    state = fig.get_state()
    assert state["_last_layout_edit_id"] == 1 and state["_last_trace_edit_id"] == 1
