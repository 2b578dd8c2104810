"""Applying computed trace specs to a plotly ``FigureWidget``, touching only what changed.

A view's pure function returns :class:`TraceSpec` objects, each with a stable ``key`` (``"run:17"``,
``"COMPLETE:3"``, ``"best"``) and a ``token`` that changes when its data does. :class:`TraceSync`
keeps one figure trace per key: it updates a trace only when its token changed, reuses the
traces of keys that disappeared (hidden, emptied) for new keys of the same layer, and keeps traces
in layer order so that, say, running curves are drawn over finished ones.

Traces that come and go all the time (running trials' curves) can be *parked* instead of hidden:
emptied to one NaN point but left visible, so that showing another key on them later is a change
of points and style only, which plotly.js can draw without redrawing the figure (see ``._send``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go

from ._send import send_restyle

_EMPTY = np.empty(0, dtype=np.float64)
_UNSET = object()
_NAN_POINT = np.array([np.nan])
#: A parked trace: visible, nothing drawn (plotly.js keeps the old line of a trace animated to
#: no point at all, but removes it for a NaN point).
_PARKED = {"visible": True, "x": _NAN_POINT, "y": _NAN_POINT, "customdata": None, "name": ""}
_HIDDEN = {
    "visible": False,
    "x": _EMPTY,
    "y": _EMPTY,
    "customdata": None,
    "text": None,
    "showlegend": False,
}
ClickCallback = Callable[[int], None]
HoverCallback = Callable[[int | None], None]


class Change(NamedTuple):
    """Properties of one trace to send (``props``: only those that changed; ``current``: all of
    them, as the trace will be). ``fresh``: the trace was hidden before; ``retired``: it is
    being hidden."""

    trace: Any
    props: dict[str, Any]
    fresh: bool
    retired: bool
    current: Mapping[str, Any]


class TraceSpec(NamedTuple):
    """One trace as a view wants it drawn.

    Attributes:
        key: Stable identity of the trace within its view.
        layer: Drawing order (higher is drawn on top); traces of one layer are interchangeable.
        props: Plotly trace properties (``x``, ``y``, ``line``, ``hovertemplate``, ...). Specs of
            one layer should set the same properties, so a reused trace keeps nothing stale.
        token: Equal tokens mean equal ``props`` (the trace is not resent); None: always resend.
        numbers: The trial number of each point (an array) or of the whole trace (an int), so a
            click on a point can select its trial; None: not clickable.
    """

    key: str
    layer: int
    props: Mapping[str, Any]
    token: Hashable = None
    numbers: np.ndarray | int | None = None


class TraceSync:
    """Keeps the traces of one view (one subplot) of a figure equal to a list of specs.

    Args:
        figure: The figure; other views may own other traces of it.
        xaxis: Axis ids of the view's subplot (``"x"``, ``"x2"``, ...).
        yaxis: See ``xaxis``.
        gl: Draw with WebGL (``scattergl``) instead of SVG (``scatter``).
        on_click: Called with the trial number of a clicked point (on the kernel's main thread).
        on_hover: Called with the trial number of a hovered point, and with None when the
            pointer leaves it.
        layer_base: Added to every spec's layer, to order this view's traces among others'.
        park: Empty the traces of keys that disappeared (one NaN point) instead of hiding them,
            so they stay visible for the next key of their layer (see the module docstring).

    Example:
        >>> fig = go.FigureWidget()
        >>> sync = TraceSync(fig)
        >>> sync.apply([TraceSpec("a", 0, {"x": [0.0, 1.0], "y": [1.0, 2.0]}, token=1)])
        1
        >>> sync.apply([TraceSpec("a", 0, {"x": [0.0, 1.0], "y": [1.0, 2.0]}, token=1)])
        0
    """

    def __init__(
        self,
        figure: go.FigureWidget,
        xaxis: str = "x",
        yaxis: str = "y",
        *,
        gl: bool = False,
        on_click: ClickCallback | None = None,
        on_hover: HoverCallback | None = None,
        layer_base: int = 0,
        park: bool = False,
    ) -> None:
        self.figure = figure
        self.xaxis, self.yaxis = xaxis, yaxis
        self.gl = gl
        self.on_click = on_click
        self.on_hover = on_hover
        self.layer_base = layer_base
        self.park = park
        self._by_key: dict[str, Any] = {}
        self._tokens: dict[str, Hashable] = {}
        self._numbers: dict[int, np.ndarray | int | None] = {}  # id(trace) -> numbers
        # id(trace) -> layer, shared by every view of the figure, so that each orders all of
        # them alike (running curves over finished ones, whichever view added traces last)
        self._layers: dict[int, int] = figure.__dict__.setdefault("_hpo_trace_layers", {})
        self._spares: dict[int, list[Any]] = {}
        self._to_hide: set[int] = set()
        self._sent: dict[int, dict[str, Any]] = {}  # id(trace) -> the props last sent
        self._extents: dict[int, tuple[float, float, float, float] | None] = {}

    @property
    def keys(self) -> list[str]:
        """Keys of the traces shown now."""
        return list(self._by_key)

    def trace(self, key: str) -> Any:
        """The figure trace of ``key`` (KeyError if none)."""
        return self._by_key[key]

    def apply(self, specs: Sequence[TraceSpec]) -> int:
        """:meth:`prepare`, then :meth:`update`. Returns how many traces were sent."""
        self.prepare(specs)
        return self.update(specs)

    def prepare(self, specs: Sequence[TraceSpec]) -> None:
        """Gives every spec a trace: one it had, a spare of its layer, or a new one.

        Adding traces (and reordering them by layer) cannot happen inside ``batch_update``:
        call this before it, then :meth:`update` inside it.
        """
        wanted = {s.key for s in specs}
        if len(wanted) != len(specs):
            raise ValueError("specs must have unique keys")
        for key in [k for k in self._by_key if k not in wanted]:
            trace = self._by_key.pop(key)
            self._tokens.pop(key, None)
            self._numbers[id(trace)] = None
            self._spares.setdefault(self._layers[id(trace)], []).append(trace)
            self._to_hide.add(id(trace))
        new: list[tuple[TraceSpec, Any]] = []
        for spec in specs:
            if spec.key in self._by_key:
                continue
            spares = self._spares.get(self.layer_base + spec.layer)
            if spares:
                trace = spares.pop()
                self._to_hide.discard(id(trace))
                self._by_key[spec.key] = trace
            else:
                kind = go.Scattergl if self.gl else go.Scatter
                new.append((spec, kind(xaxis=self.xaxis, yaxis=self.yaxis, x=_EMPTY, y=_EMPTY)))
        if new:
            fig = self.figure
            fig.add_traces([t for _, t in new])
            for (spec, _), trace in zip(new, fig.data[-len(new) :]):
                self._by_key[spec.key] = trace
                self._layers[id(trace)] = self.layer_base + spec.layer
                self._listen(trace)
            self._restack()

    def reserve(self, layer: int, count: int, props: Mapping[str, Any] | None = None) -> int:
        """Adds spare traces of ``layer`` until the view has ``count`` of that layer, shown or
        spare. Returns how many it added.

        Adding a trace makes plotly.js redraw the figure, twice with the reordering by layer
        that follows; a spare taken over is a change of the trace's properties. A view that
        reserves the traces it will need before its figure is shown spares the browser those
        redraws. With ``park=True`` the spares are parked (visible, one NaN point) and styled
        with ``props``, so that specs of the layer setting those props take them over as
        changes of points and style only, which plotly.js draws without any redraw; otherwise
        they are hidden (``props`` is not used).

        Example:
            >>> sync = TraceSync(go.FigureWidget(), park=True)
            >>> sync.reserve(3, 2, {"mode": "lines"}), sync.reserve(3, 2, {"mode": "lines"})
            (2, 0)
            >>> spec = TraceSpec("run:7", 3, {"x": [0.0], "y": [1.0], "mode": "lines", "name": "7"})
            >>> sync.prepare([spec])
            >>> change = sync.diff([spec])[0]  # a parked trace taken over: no redraw needed
            >>> len(sync.figure.data), sorted(change.props), change.fresh
            (2, ['name', 'x', 'y'], False)
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a non-negative int, got {count!r}")
        layer += self.layer_base
        have = sum(1 for t in self._by_key.values() if self._layers[id(t)] == layer)
        have += len(self._spares.get(layer, []))
        if have >= count:
            return 0
        spare = {**(props or {}), **_PARKED} if self.park else dict(_HIDDEN)
        kind = go.Scattergl if self.gl else go.Scatter
        n = count - have
        self.figure.add_traces(
            [kind(xaxis=self.xaxis, yaxis=self.yaxis, **spare) for _ in range(n)]
        )
        for trace in self.figure.data[-n:]:
            self._layers[id(trace)] = layer
            self._sent[id(trace)] = dict(spare)
            self._spares.setdefault(layer, []).append(trace)
            self._listen(trace)
        self._restack()
        return n

    def update(self, specs: Sequence[TraceSpec]) -> int:
        """Sends the specs whose token changed, and hides retired traces, in one restyle.

        Call :meth:`prepare` with the same specs first. Returns how many traces were sent.
        """
        changes = self.diff(specs)
        send_restyle(self.figure, changes)
        return sum(1 for c in changes if not c.retired)

    def diff(self, specs: Sequence[TraceSpec]) -> list[Change]:
        """What :meth:`update` would send, without sending it (so that a caller can send the
        changes of several views in one message, see :mod:`._send`). Records them as sent."""
        changes: list[Change] = []
        if self._to_hide:
            for spares in self._spares.values():
                for trace in spares:
                    if id(trace) in self._to_hide:
                        if self.park:  # the rest of its properties stay as they were
                            before = self._sent.get(id(trace), {})
                            now = {**before, **_PARKED}
                            changes.append(Change(trace, _delta(before, now), False, False, now))
                        else:
                            now = dict(_HIDDEN)
                            changes.append(Change(trace, dict(_HIDDEN), False, True, now))
                        self._sent[id(trace)] = now
                        self._extents.pop(id(trace), None)
            self._to_hide.clear()
        for spec in specs:
            trace = self._by_key.get(spec.key)
            if trace is None:
                raise KeyError(f"no trace for {spec.key!r}: call prepare() with these specs first")
            if spec.token is not None and self._tokens.get(spec.key, _UNSET) == spec.token:
                continue
            props = dict(spec.props)
            props.setdefault("visible", True)
            before = self._sent.get(id(trace), {})
            self._sent[id(trace)] = props
            self._tokens[spec.key] = spec.token
            self._numbers[id(trace)] = spec.numbers
            self._extents[id(trace)] = _extent(props)
            fresh = before.get("visible") is not True
            changes.append(Change(trace, _delta(before, props), fresh, False, props))
        return changes

    def extent(
        self, traces: Sequence[Any] | None = None
    ) -> tuple[float, float, float, float] | None:
        """``(xmin, xmax, ymin, ymax)`` of every point shown, or of those of ``traces`` (figure
        traces; others' are ignored), as recorded when they were sent (None: no point)."""
        extents = self._extents
        if traces is None:
            boxes = [e for e in extents.values() if e is not None]
        else:
            boxes = [e for t in traces if (e := extents.get(id(t))) is not None]
        if not boxes:
            return None
        a = np.asarray(boxes)
        return (
            float(a[:, 0].min()),
            float(a[:, 1].max()),
            float(a[:, 2].min()),
            float(a[:, 3].max()),
        )

    def anchor(self) -> Change | None:
        """A change that resends the smallest trace shown as it is (None: none shown).

        An animation without redraw clears every subplot it is given no trace of (see
        :mod:`._send`): adding this keeps this view's subplot.
        """
        best: tuple[int, Any, dict[str, Any]] | None = None
        for trace in self._by_key.values():
            sent = self._sent.get(id(trace), {})
            x, y = sent.get("x"), sent.get("y")
            if sent.get("visible") is not True or not isinstance(x, np.ndarray):
                continue
            if best is None or len(x) < best[0]:
                best = (len(x), trace, {"x": x, "y": y})
        if best is None:
            return None
        return Change(best[1], best[2], False, False, self._sent[id(best[1])])

    def clear(self) -> None:
        """Removes every trace of this view from the figure."""
        mine = {id(t) for t in self._by_key.values()} | {
            id(t) for spares in self._spares.values() for t in spares
        }
        self.figure.data = tuple(t for t in self.figure.data if id(t) not in mine)
        for key in mine:
            self._layers.pop(key, None)  # shared with the figure's other views: only ours
        for table in (
            self._by_key,
            self._tokens,
            self._numbers,
            self._spares,
            self._sent,
            self._extents,
        ):
            table.clear()
        self._to_hide.clear()

    def number_at(self, trace: Any, index: int) -> int | None:
        """The trial number of point ``index`` of ``trace``, if the view said."""
        numbers = self._numbers.get(id(trace))
        if numbers is None:
            return None
        if isinstance(numbers, (int, np.integer)):
            return int(numbers)
        if 0 <= index < len(numbers):
            value = numbers[index]
            return None if np.isnan(value) else int(value)
        return None

    # ------------------------------------------------------------------ internals
    def _restack(self) -> None:
        """Orders the figure's traces by layer (stable), if adding broke the order."""
        fig = self.figure
        layers = [self._layer_of(t) for t in fig.data]
        if all(a <= b for a, b in itertools.pairwise(layers)):
            return
        order = sorted(range(len(layers)), key=lambda i: layers[i])
        fig.data = tuple(fig.data[i] for i in order)

    def _listen(self, trace: Any) -> None:
        if self.on_click is not None:
            trace.on_click(self._clicked)
        if self.on_hover is not None:
            trace.on_hover(self._hovered)
            trace.on_unhover(self._unhovered)

    def _layer_of(self, trace: Any) -> int:
        return self._layers.get(id(trace), -1)  # traces no view placed: first, as they were

    def _clicked(self, trace: Any, points: Any, _state: Any) -> None:
        if self.on_click is None or not points.point_inds:
            return
        number = self.number_at(trace, points.point_inds[0])
        if number is not None:
            self.on_click(number)

    def _hovered(self, trace: Any, points: Any, _state: Any) -> None:
        if self.on_hover is not None and points.point_inds:
            number = self.number_at(trace, points.point_inds[0])
            if number is not None:
                self.on_hover(number)

    def _unhovered(self, _trace: Any, _points: Any, _state: Any) -> None:
        if self.on_hover is not None:
            self.on_hover(None)


def _delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of ``after`` that differ from ``before`` (None for removed ones).

    Arrays (and packed arrays) count as changed unless they are the very same object: the
    token said the trace changed, and comparing them would cost as much as sending them.
    """
    out = {k: None for k in before if k not in after and before[k] is not None}
    for k, v in after.items():
        if k not in before:
            out[k] = v
            continue
        old = before[k]
        if old is v:
            continue
        if _is_array(v) or _is_array(old) or old != v:
            out[k] = v
    return out


def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or (isinstance(value, dict) and "bdata" in value)


def _extent(props: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    """``(xmin, xmax, ymin, ymax)`` of the finite points of trace ``props`` (None: none)."""
    x, y = props.get("x"), props.get("y")
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray) or not len(x):
        return None
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return None
    xs, ys = x[finite], y[finite]
    return (float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()))
