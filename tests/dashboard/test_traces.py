"""TraceSync: keyed traces onto a FigureWidget, sending only what changed, in layer order."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.callbacks import InputDeviceState, Points

from hpo_lab.dashboard import TraceSpec, TraceSync


class Messages:
    """Records the restyle messages a FigureWidget would send to its front end."""

    def __init__(self, fig: go.FigureWidget) -> None:
        self.restyles: list[dict[str, Any]] = []
        fig.observe(self._seen, "_py2js_restyle")

    def _seen(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self.restyles.append(change["new"])

    def sent_keys(self) -> list[tuple[str, ...]]:
        return [tuple(sorted(m["restyle_data"])) for m in self.restyles]


def line(key: str, y: list[float], layer: int = 0, token: Any = None, **extra: Any) -> TraceSpec:
    props = {"x": np.arange(len(y), dtype=float), "y": np.asarray(y, dtype=float), **extra}
    return TraceSpec(key, layer, props, token=token, numbers=7)


def test_first_apply_creates_traces_then_equal_tokens_send_nothing() -> None:
    fig = go.FigureWidget()
    messages = Messages(fig)
    sync = TraceSync(fig)
    specs = [line("a", [1, 2], token=1, name="A"), line("b", [3], token=1, name="B")]
    assert sync.apply(specs) == 2
    assert [t.name for t in fig.data] == ["A", "B"]
    assert fig.data[0].y.tolist() == [1.0, 2.0]
    assert len(messages.restyles) == 1  # both traces in one message (same property names)
    assert sync.apply(specs) == 0 and len(messages.restyles) == 1


def test_a_changed_trace_sends_only_its_changed_properties() -> None:
    fig = go.FigureWidget()
    messages = Messages(fig)
    sync = TraceSync(fig)
    sync.apply([line("a", [1], token=1, name="A"), line("b", [2], token=1, name="B")])
    messages.restyles.clear()
    assert (
        sync.apply([line("a", [1], token=1, name="A"), line("b", [2, 5], token=2, name="B")]) == 1
    )
    (message,) = messages.restyles
    assert message["restyle_traces"] == [1]
    assert sorted(message["restyle_data"]) == ["x", "y"]  # the name did not change
    assert fig.data[1].y.tolist() == [2.0, 5.0]


def test_retired_traces_are_hidden_and_reused_for_new_keys_of_their_layer() -> None:
    fig = go.FigureWidget()
    sync = TraceSync(fig)
    sync.apply([line("run:1", [1], layer=3), line("run:2", [2], layer=3)])
    first = fig.data[0]
    sync.apply([line("run:2", [2], layer=3)])
    assert len(fig.data) == 2 and first.visible is False and len(first.x) == 0
    sync.apply([line("run:2", [2], layer=3), line("run:3", [9, 9], layer=3)])
    assert len(fig.data) == 2  # run:3 took run:1's trace
    assert sync.trace("run:3") is first and first.visible is True
    assert sorted(sync.keys) == ["run:2", "run:3"]


def test_traces_stay_in_layer_order() -> None:
    fig = go.FigureWidget()
    sync = TraceSync(fig)
    sync.apply([line("top", [1], layer=5, name="top"), line("mid", [1], layer=3, name="mid")])
    sync.apply(
        [
            line("top", [1], layer=5, name="top"),
            line("mid", [1], layer=3, name="mid"),
            line("bottom", [1], layer=0, name="bottom"),
        ]
    )
    assert [t.name for t in fig.data] == ["bottom", "mid", "top"]


def test_two_views_share_a_figure() -> None:
    fig = go.FigureWidget()
    left, right = TraceSync(fig, "x", "y"), TraceSync(fig, "x2", "y2", layer_base=100)
    left.apply([line("a", [1])])
    right.apply([line("a", [2]), line("b", [3])])
    left.apply([line("a", [1]), line("c", [4])])
    # every view orders all of the figure's traces by layer (layer_base 100 on top)
    assert [(t.xaxis, t.y[0]) for t in fig.data] == [
        ("x", 1.0),
        ("x", 4.0),
        ("x2", 2.0),
        ("x2", 3.0),
    ]
    right.clear()
    assert [t.y[0] for t in fig.data] == [1.0, 4.0]


def test_clicks_and_hovers_name_the_trial_of_the_point() -> None:
    fig = go.FigureWidget()
    clicked: list[int] = []
    hovered: list[int | None] = []
    sync = TraceSync(fig, on_click=clicked.append, on_hover=hovered.append)
    numbers = np.array([4.0, 4.0, np.nan, 9.0])
    sync.apply([TraceSpec("chunk", 0, {"x": np.arange(4.0), "y": np.ones(4)}, numbers=numbers)])
    trace = fig.data[0]
    state = InputDeviceState()
    trace._dispatch_on_click(Points(point_inds=[3], trace_name="", trace_index=0), state)
    trace._dispatch_on_click(Points(point_inds=[2], trace_name="", trace_index=0), state)  # gap
    trace._dispatch_on_hover(Points(point_inds=[0], trace_name="", trace_index=0), state)
    trace._dispatch_on_unhover(Points(point_inds=[0], trace_name="", trace_index=0), state)
    assert clicked == [9] and hovered == [4, None]
    assert sync.number_at(trace, 99) is None


def test_specs_need_unique_keys_and_update_needs_prepare() -> None:
    sync = TraceSync(go.FigureWidget())
    with pytest.raises(ValueError, match="unique keys"):
        sync.apply([line("a", [1]), line("a", [2])])
    with pytest.raises(KeyError, match="call prepare"):
        sync.update([line("new", [1])])


def test_reserved_traces_are_taken_before_any_is_added() -> None:
    fig = go.FigureWidget()
    hidden = TraceSync(fig, layer_base=0)
    parked = TraceSync(fig, layer_base=10, park=True, on_click=lambda n: None)
    assert hidden.reserve(1, 2) == 2 and parked.reserve(0, 3, {"mode": "lines"}) == 3
    assert hidden.reserve(1, 2) == 0  # already there
    assert [t.visible for t in fig.data] == [False, False, True, True, True]
    assert all(t.mode == "lines" and np.isnan(t.x).all() for t in fig.data[2:])
    reserved = [id(t) for t in fig.data]
    hidden.prepare([line("a", [1.0], layer=1)])
    parked.prepare([line(f"run:{n}", [1.0, 2.0], mode="lines") for n in range(3)])
    assert [id(t) for t in fig.data] == reserved  # nothing added
    (change,) = hidden.diff([line("a", [1.0], layer=1)])
    assert change.fresh  # a hidden trace shown: a redraw
    changes = parked.diff([line(f"run:{n}", [1.0, 2.0], mode="lines") for n in range(3)])
    assert not any(c.fresh for c in changes)  # parked ones: points and style only
    assert all("mode" not in c.props for c in changes)
    parked.prepare([line(f"run:{n}", [1.0], mode="lines") for n in range(4)])
    assert len(fig.data) == 6  # the fourth at once gets a trace of its own
    with pytest.raises(ValueError, match="count must be a non-negative int"):
        hidden.reserve(0, -1)
