"""The Pareto view's data: every complete trial on the objectives, the front as a step line,
infeasible trials apart, and the hypervolume after each trial, computed from the dashboard's model.

The front itself comes from :class:`hpo_lab.analysis.IncrementalFront`. With a
:class:`ParetoCache` kept between frames, each call adds only the trials that completed since the
last one (O(log n) each with two objectives), rebuilds only the traces those trials touched, and
never rescans every trial: finished trials are drawn ``chunk`` trials (by number) to a trace, so a
trial that completes resends one chunk, plus the front when it moved.

Order matters for one thing only, the hypervolume history: points are added in the order trials
completed (``ended``, then number). A trial seen late that completed before the last one added (a
race between worker threads) makes the cache start over, so the result is always the one a fresh
computation gives.
"""

from __future__ import annotations

import html
import itertools
import math
from collections.abc import Collection, Sequence
from typing import Any, NamedTuple

import numpy as np

from hpo_lab.analysis import IncrementalFront, StepLine, suggest_reference_point
from hpo_lab.constraints import Constraints, is_outcome_expression, parse_outcome

from . import _style as st
from ._model import TERMINAL, DashboardModel
from ._traces import TraceSpec

#: Trials per trace of dominated (or infeasible) points.
CHUNK = 500
FRONT_COLOR = "#1a73e8"
DOMINATED_COLOR = "#8d949e"
INFEASIBLE_COLOR = st.STATE_COLORS["FAIL"]
REFERENCE_COLOR = "#5f6368"
HV_COLOR = "#9334e6"
#: Layers, bottom to top.
LAYER = {
    "infeasible": 0,
    "dominated": 1,
    "step": 2,
    "front": 3,
    "reference": 4,
    "selected": 5,
    "legend": 6,
}
_VERSIONS = itertools.count(1)  # never reset: a token is never reused for other data
_NONE = np.array([np.nan])


class ObjectiveBound(NamedTuple):
    """An outcome constraint in force on an objective (``name op bound``)."""

    objective: int
    name: str
    op: str
    bound: float


class HypervolumeSteps(NamedTuple):
    """The hypervolume history, kept only where it changed (it is a step function).

    Attributes:
        index: 1-based position, in completion order, of each trial that changed it.
        numbers: Those trials' numbers.
        values: The hypervolume once each had been added.
        total: How many points were added in all (the history runs up to there).
    """

    index: np.ndarray
    numbers: np.ndarray
    values: np.ndarray
    total: int


class ParetoViewData(NamedTuple):
    """What the Pareto view draws.

    Attributes:
        names: The objectives' labels.
        directions: ``"minimize"``/``"maximize"`` each.
        pairs: The objectives on each scatter's x and y axes: ``((0, 1),)`` for two objectives,
            every pair ``i < j`` (a scatter matrix) for more.
        front: Trials on the Pareto front (feasible, non-dominated), sorted along the first
            objective, best first.
        n_dominated: Feasible complete trials off the front.
        n_infeasible: Complete trials that violate a constraint.
        n_skipped: Complete trials left out (a missing or non-finite objective value).
        reference_point: The hypervolume's reference point (None before a feasible trial).
        auto_reference: Whether it was suggested (True) or given.
        hypervolume: The front's hypervolume against it.
        step_lines: The front's staircase on each pair of objectives (closed on the reference).
        history: The hypervolume after each trial, where it changed.
        low: Each objective's lowest value over the trials shown (NaN: none).
        high: Each objective's highest value.
        bounds: Outcome constraints in force on objectives (from the action log).
        constrainable: Whether the objectives have names (outcome constraints need them).
        selected: The selected trial, if it is shown.
        traces: The scatter traces of every pair, keyed, bottom to top.
        hv_traces: The hypervolume history's traces.
        n_points: Points drawn on the scatters.
        message: What to say instead of a plot, if there is nothing to draw.
    """

    names: tuple[str, ...]
    directions: tuple[str, ...]
    pairs: tuple[tuple[int, int], ...]
    front: tuple[int, ...]
    n_dominated: int
    n_infeasible: int
    n_skipped: int
    reference_point: tuple[float, ...] | None
    auto_reference: bool
    hypervolume: float | None
    step_lines: tuple[StepLine, ...]
    history: HypervolumeSteps
    low: tuple[float, ...]
    high: tuple[float, ...]
    bounds: tuple[ObjectiveBound, ...]
    constrainable: bool
    selected: int | None
    traces: tuple[TraceSpec, ...]
    hv_traces: tuple[TraceSpec, ...]
    n_points: int
    message: str | None


class ParetoCache:
    """What :func:`pareto_view_data` keeps between calls (the front, the traces built so far).

    Give the same cache to every call for one model; a new model (a reload) starts it over.
    """

    def __init__(self) -> None:
        self._state: _State | None = None


def pareto_view_data(
    model: DashboardModel,
    *,
    reference_point: Sequence[float] | None = None,
    infeasible: Collection[int] = (),
    selected: int | None = None,
    chunk: int = CHUNK,
    cache: ParetoCache | None = None,
) -> ParetoViewData:
    """Computes the Pareto view of a model's complete trials.

    Args:
        model: The dashboard's model (two objectives or more).
        reference_point: The hypervolume's reference point, one value per objective; None: one
            suggested by :func:`auto_reference_point` from the feasible trials.
        infeasible: Numbers of the complete trials that violate a constraint (when a trial
            already drawn changes sides, the cache starts over).
        selected: The selected trial, marked on every scatter.
        chunk: Trials per trace of dominated or infeasible points.
        cache: A :class:`ParetoCache` kept by the caller: only what changed since its last call is
            computed; the result is the same without it.

    Example:
        >>> from hpo_lab.events import TrialFinished
        >>> m = DashboardModel("demo", ["minimize", "minimize"], objective_names=["err", "size"])
        >>> _ = m.apply([TrialFinished(n, "COMPLETE", v) for n, v in
        ...              enumerate([(0.2, 3.0), (0.1, 5.0), (0.3, 4.0), (0.4, 1.0)])])
        >>> data = pareto_view_data(m, reference_point=[0.5, 6.0])
        >>> data.front, data.n_dominated, round(data.hypervolume, 6)
        ((1, 0, 3), 1, 1.2)
    """
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive int, got {chunk!r}")
    if reference_point is not None:
        reference_point = _check_reference(reference_point, model.n_objectives)
    if model.n_objectives < 2:
        return _single_objective(model)
    state = cache._state if cache is not None else None
    if state is None or state.model is not model or state.chunk != chunk:
        state = _State(model, chunk)
    if not state.sync(reference_point, infeasible):
        state = _State(model, chunk)
        state.sync(reference_point, infeasible)
    if cache is not None:
        cache._state = state
    return state.view(selected)


def auto_reference_point(
    low: Sequence[float], high: Sequence[float], directions: Sequence[str]
) -> tuple[float, ...]:
    """:func:`~hpo_lab.analysis.suggest_reference_point` for points spanning ``low`` to ``high``
    per objective, rounded outwards to a round number (a multiple of the power of ten below a
    quarter of the range), so that it reads well in the fields and moves rarely as trials arrive
    (each move recomputes the hypervolume history).

    Example:
        >>> auto_reference_point([0.02, 1210], [0.3, 70_000], ["minimize", "minimize"])
        (0.33, 80000.0)
    """
    ref = suggest_reference_point([list(low), list(high)], list(directions))
    out = []
    for r, lo, hi, d in zip(ref, low, high, directions):
        span = float(hi - lo) or max(abs(float(hi)), 1.0)
        step = 10.0 ** math.floor(math.log10(span / 4))
        q = (math.ceil if d == "minimize" else math.floor)(round(r / step, 9)) * step
        out.append(round(q, 12) + 0.0)
    return tuple(out)


def region_constraints(
    names: Sequence[str],
    pair: tuple[int, int],
    box: tuple[float, float, float, float],
    low: Sequence[float],
    high: Sequence[float],
) -> tuple[str, ...]:
    """Outcome constraints (``session.constrain`` expressions) that keep the search inside a box
    brushed on the scatter of objectives ``pair``.

    Bounds are rounded outwards to 4 significant digits, so the brushed points stay feasible; a
    side of the box beyond every trial seen (``low``/``high``: each objective's range) cuts nothing
    and is left open.

    Args:
        names: The objectives' names.
        pair: The objectives on the x and y axes.
        box: ``(x0, x1, y0, y1)`` in the objectives' units.
        low: Each objective's lowest value seen.
        high: Each objective's highest value seen.

    Example:
        >>> region_constraints(["err", "size"], (0, 1), (0.1, 0.25, 0.0, 5123.4),
        ...                    [0.05, 10.0], [0.9, 9000.0])
        ('err >= 0.1', 'err <= 0.25', 'size <= 5124')
    """
    x0, x1, y0, y1 = (float(v) for v in box)
    out = []
    for k, lo, hi in ((pair[0], min(x0, x1), max(x0, x1)), (pair[1], min(y0, y1), max(y0, y1))):
        if lo > low[k]:
            out.append(f"{names[k]} >= {_round_out(lo, up=False)}")
        if hi < high[k]:
            out.append(f"{names[k]} <= {_round_out(hi, up=True)}")
    return tuple(out)


def objective_bounds(model: DashboardModel) -> tuple[ObjectiveBound, ...]:
    """The outcome constraints in force on the model's objectives, replayed from its action log
    (``constrain`` and ``relax`` records)."""
    names = model.objective_names or []
    current = Constraints()
    for a in model.actions:
        target = a.details.get("target")
        try:
            if a.kind == "constrain" and isinstance(target, str) and is_outcome_expression(target):
                current = current.with_outcome(parse_outcome(target))
            elif a.kind == "relax":
                current = current.without(target)[0]
        except ValueError:
            continue
    return tuple(
        ObjectiveBound(names.index(c.name), c.name, c.op, c.bound)
        for c in current.outcomes
        if c.name in names
    )


# ---------------------------------------------------------------------------------- internals
def _check_reference(point: Sequence[float], m: int) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in point)
    except (TypeError, ValueError):
        raise TypeError(f"reference_point must be {m} numbers, got {point!r}") from None
    if len(values) != m or not all(math.isfinite(v) for v in values):
        raise ValueError(f"reference_point must be {m} finite numbers, got {point!r}")
    return values


def _round_out(value: float, up: bool) -> str:
    """``value`` rounded away from the region's inside to 4 significant digits, as text."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    q = 10.0 ** (math.floor(math.log10(abs(value))) - 3)
    k = (math.ceil if up else math.floor)(round(value / q, 6))
    return f"{k * q:.4g}"


def _axes(p: int) -> dict[str, str]:
    suffix = "" if p == 0 else str(p + 1)
    return {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}


def _empty_history() -> HypervolumeSteps:
    empty = np.empty(0, dtype=np.float64)
    return HypervolumeSteps(empty, empty, empty, 0)


def _single_objective(model: DashboardModel) -> ParetoViewData:
    m = model.n_objectives
    return ParetoViewData(
        tuple(model.objective_labels),
        tuple(model.directions),
        (),
        (),
        0,
        0,
        0,
        None,
        True,
        None,
        (),
        _empty_history(),
        (math.nan,) * m,
        (math.nan,) * m,
        (),
        False,
        None,
        (),
        (),
        0,
        "The Pareto front needs two objectives or more: this session has one.",
    )


class _Scan:
    """The trials of a model that reached COMPLETE since the last call.

    A model only ever adds trial records (in a dict, so in the order they were first seen):
    new records are the ones past the count seen so far, and only records that were not
    finished yet are looked at again.
    """

    def __init__(self, model: DashboardModel) -> None:
        self.model = model
        self._seen = 0
        self._open: set[int] = set()

    def __call__(self) -> list[int]:
        trials = self.model.trials
        if len(trials) > self._seen:
            self._open.update(t.number for t in itertools.islice(trials.values(), self._seen, None))
            self._seen = len(trials)
        done = [n for n in self._open if trials[n].state in TERMINAL]
        self._open.difference_update(done)
        return [n for n in done if trials[n].state == "COMPLETE"]


class _Chunk:
    __slots__ = ("dominated", "infeasible", "specs", "version")

    def __init__(self) -> None:
        self.dominated: set[int] = set()
        self.infeasible: set[int] = set()
        self.version = next(_VERSIONS)
        self.specs: dict[tuple[str, int], TraceSpec | None] = {}

    def touch(self) -> None:
        self.version = next(_VERSIONS)
        self.specs.clear()


class _State:
    """The front of one model and everything drawn from it."""

    def __init__(self, model: DashboardModel, chunk: int) -> None:
        self.model = model
        self.chunk = chunk
        self.m = m = model.n_objectives
        self.names = tuple(model.objective_labels)
        self.directions = tuple(model.directions)
        self.front = IncrementalFront(self.directions, names=self.names)
        self.scan = _Scan(model)
        self.pairs = tuple((i, j) for i in range(m) for j in range(i + 1, m))
        self.added: set[int] = set()
        self.infeasible_given: set[int] = set()
        self.last_key: tuple[float, int] | None = None
        self.low = np.full(m, np.inf)  # feasible points: the reference point's range
        self.high = np.full(m, -np.inf)
        self.all_low = np.full(m, np.inf)  # every point shown: the brush's range
        self.all_high = np.full(m, -np.inf)
        self.reference: tuple[float, ...] | None = None
        self.auto = True
        self.chunks: dict[int, _Chunk] = {}
        self.n_dominated = self.n_infeasible = self.skipped = self.total = 0
        self.front_version = next(_VERSIONS)
        self.hv_index: list[int] = []
        self.hv_numbers: list[int] = []
        self.hv_values: list[float] = []
        self._front_memo: tuple[Any, ...] | None = None
        self._hv_memo: tuple[Any, ...] | None = None
        self._bounds_memo: tuple[int, tuple[ObjectiveBound, ...]] | None = None

    # ------------------------------------------------------------------ updating
    def sync(self, reference: tuple[float, ...] | None, infeasible: Collection[int]) -> bool:
        """Adds the trials completed since the last call; False: start over instead."""
        given = infeasible if isinstance(infeasible, (set, frozenset)) else set(infeasible)
        if len(given) != len(self.infeasible_given):
            if any(n in self.added for n in given.symmetric_difference(self.infeasible_given)):
                return False  # a trial already drawn changed sides
            self.infeasible_given = set(given)
        trials = self.model.trials
        new = []
        for n in self.scan():
            values = trials[n].values
            if values is None or len(values) != self.m or not all(math.isfinite(v) for v in values):
                self.skipped += 1
                continue
            ended = trials[n].ended
            new.append(((math.inf if ended is None else ended, n), values))
        new.sort(key=lambda item: item[0])
        if new and self.last_key is not None and new[0][0] < self.last_key:
            return False  # completed before a trial already added: the history would differ
        for _, values in new:
            v = np.asarray(values, dtype=np.float64)
            np.minimum(self.all_low, v, out=self.all_low)
            np.maximum(self.all_high, v, out=self.all_high)
        for (_, n), values in new:
            if n not in given:
                v = np.asarray(values, dtype=np.float64)
                np.minimum(self.low, v, out=self.low)
                np.maximum(self.high, v, out=self.high)
        self.auto = reference is None
        if reference is None and np.isfinite(self.low).all():
            target = auto_reference_point(self.low, self.high, self.directions)
        else:
            target = reference
        if target != self.reference:
            self.reference = target
            self.front.set_reference_point(target)  # replays the points added so far
            self._history_from_front()
            self.front_version = next(_VERSIONS)
        for key, values in new:
            self._add(key[1], values, key[1] not in given)
        if new:
            self.last_key = new[-1][0]
        return True

    def _add(self, n: int, values: tuple[float, ...], feasible: bool) -> None:
        update = self.front.add(n, values, feasible)
        self.added.add(n)
        self.total += 1
        if not feasible:
            self._chunk(n).infeasible.add(n)
            self.n_infeasible += 1
        elif update.entered:
            self.front_version = next(_VERSIONS)
            for gone in update.left:
                self._chunk(gone).dominated.add(gone)
            self.n_dominated += len(update.left)
        else:
            self._chunk(n).dominated.add(n)
            self.n_dominated += 1
        hv = update.hypervolume
        if hv is not None and (not self.hv_values or hv != self.hv_values[-1]):
            self.hv_index.append(self.total)
            self.hv_numbers.append(n)
            self.hv_values.append(hv)

    def _chunk(self, n: int) -> _Chunk:
        c = self.chunks.get(n // self.chunk)
        if c is None:
            c = self.chunks[n // self.chunk] = _Chunk()
        else:
            c.touch()
        return c

    def _history_from_front(self) -> None:
        self.hv_index, self.hv_numbers, self.hv_values = [], [], []
        history = self.front.hypervolume_history()
        if history is None or not history.values:
            return
        values = np.asarray(history.values)
        changed = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
        self.hv_index = (changed + 1).tolist()
        self.hv_numbers = np.asarray(history.numbers)[changed].tolist()
        self.hv_values = values[changed].tolist()

    # ------------------------------------------------------------------ drawing
    def view(self, selected: int | None) -> ParetoViewData:
        front_numbers, front_values, step_lines = self._front_view()
        traces: list[TraceSpec] = []
        for p, pair in enumerate(self.pairs):
            for index in sorted(self.chunks):
                for kind in ("infeasible", "dominated"):
                    spec = self._chunk_spec(index, kind, p, pair)
                    if spec is not None:
                        traces.append(spec)
            if len(front_numbers):
                traces.append(self._front_spec(p, pair, front_numbers, front_values))
            if step_lines[p].x:
                traces.append(self._step_spec(p, step_lines[p]))
            if self.reference is not None:
                traces.append(self._reference_spec(p, pair))
        shown = selected is not None and selected in self.added
        if shown:
            traces += self._selected_specs(selected)  # type: ignore[arg-type]
        traces += self._legend(len(front_numbers), shown)
        traces.sort(key=lambda s: s.layer)
        n_points = self.total * len(self.pairs)
        message = None
        if not self.total:
            message = "No trial has completed yet: the front appears with the first complete trial"
        elif not len(front_numbers):
            message = "No feasible trial yet: every complete trial violates a constraint"
        history = HypervolumeSteps(
            np.asarray(self.hv_index, dtype=np.float64),
            np.asarray(self.hv_numbers, dtype=np.float64),
            np.asarray(self.hv_values, dtype=np.float64),
            self.total,
        )
        return ParetoViewData(
            self.names,
            self.directions,
            self.pairs,
            tuple(int(n) for n in front_numbers),
            self.n_dominated,
            self.n_infeasible,
            self.skipped,
            self.reference,
            self.auto,
            self.front.hypervolume,
            step_lines,
            history,
            tuple(float(v) if math.isfinite(v) else math.nan for v in self.all_low),
            tuple(float(v) if math.isfinite(v) else math.nan for v in self.all_high),
            self._bounds(),
            self.model.objective_names is not None,
            selected if shown else None,
            tuple(traces),
            self._hv_traces(history),
            n_points,
            message,
        )

    def _front_view(self) -> tuple[np.ndarray, np.ndarray, tuple[StepLine, ...]]:
        memo = self._front_memo
        if memo is not None and memo[0] == self.front_version:
            return memo[1], memo[2], memo[3]
        numbers = np.asarray(self.front.front, dtype=np.float64)
        values = np.array([self.front.values(int(n)) for n in numbers]).reshape(-1, self.m)
        steps = tuple(self.front.step_line(i, j) for i, j in self.pairs)
        self._front_memo = (self.front_version, numbers, values, steps)
        return numbers, values, steps

    def _hover(self, what: str, pair: tuple[int, int]) -> str:
        xn, yn = (html.escape(self.names[k]) for k in pair)
        return (
            f"<b>Trial %{{customdata:d}}</b> · {what}<br>{xn} %{{x:.5g}}<br>{yn} %{{y:.5g}}"
            "<extra></extra>"
        )

    def _points(
        self,
        key: str,
        layer: str,
        p: int,
        pair: tuple[int, int],
        numbers: np.ndarray,
        values: np.ndarray,
        marker: dict[str, Any],
        what: str,
        token: Any,
    ) -> TraceSpec:
        i, j = pair
        return TraceSpec(
            key,
            LAYER[layer],
            {
                **_axes(p),
                "x": np.ascontiguousarray(values[:, i]),
                "y": np.ascontiguousarray(values[:, j]),
                "mode": "markers",
                "marker": marker,
                "line": {"color": marker["color"], "width": 0},
                "customdata": numbers,
                "name": what,
                "showlegend": False,
                "hovertemplate": self._hover(what, pair),
            },
            token=token,
            numbers=numbers,
        )

    def _chunk_spec(self, index: int, kind: str, p: int, pair: tuple[int, int]) -> TraceSpec | None:
        c = self.chunks[index]
        if (kind, p) in c.specs:
            return c.specs[(kind, p)]
        members = c.infeasible if kind == "infeasible" else c.dominated
        spec = None
        if members:
            numbers = np.asarray(sorted(members), dtype=np.float64)
            values = np.array([self.front.values(int(n)) for n in numbers])
            if kind == "infeasible":
                marker = {
                    "size": 7,
                    "color": INFEASIBLE_COLOR,
                    "symbol": "x",
                    "opacity": 0.7,
                    "line": {"width": 0},
                }
                what = "infeasible"
            else:
                marker = {
                    "size": 6,
                    "color": DOMINATED_COLOR,
                    "symbol": "circle",
                    "opacity": 0.35,
                    "line": {"width": 0},
                }
                what = "dominated"
            key = f"{kind}:{p}:{index}"
            spec = self._points(key, kind, p, pair, numbers, values, marker, what, c.version)
        c.specs[(kind, p)] = spec
        return spec

    def _front_spec(
        self, p: int, pair: tuple[int, int], numbers: np.ndarray, values: np.ndarray
    ) -> TraceSpec:
        marker = {
            "size": 9,
            "color": FRONT_COLOR,
            "symbol": "circle",
            "opacity": 1.0,
            "line": {"color": "#ffffff", "width": 1.2},
        }
        what = "on the front"
        return self._points(
            f"front:{p}", "front", p, pair, numbers, values, marker, what, self.front_version
        )

    def _step_spec(self, p: int, line: StepLine) -> TraceSpec:
        return TraceSpec(
            f"step:{p}",
            LAYER["step"],
            {
                **_axes(p),
                "x": np.asarray(line.x, dtype=np.float64),
                "y": np.asarray(line.y, dtype=np.float64),
                "mode": "lines",
                "line": {"color": FRONT_COLOR, "width": 1.6},
                "opacity": 0.8,
                "name": "front",
                "showlegend": False,
                "hoverinfo": "skip",
            },
            token=self.front_version,
        )

    def _reference_spec(self, p: int, pair: tuple[int, int]) -> TraceSpec:
        ref = self.reference
        assert ref is not None
        i, j = pair
        xn, yn = (html.escape(self.names[k]) for k in pair)
        return TraceSpec(
            f"reference:{p}",
            LAYER["reference"],
            {
                **_axes(p),
                "x": np.array([ref[i]]),
                "y": np.array([ref[j]]),
                "mode": "markers",
                "marker": {"size": 10, "color": REFERENCE_COLOR, "symbol": "x-thin-open"},
                "line": {"color": REFERENCE_COLOR, "width": 2},
                "name": "reference point",
                "showlegend": False,
                "hovertemplate": f"<b>Reference point</b><br>{xn} %{{x:.5g}}<br>{yn} %{{y:.5g}}"
                "<extra></extra>",
            },
            token=(ref[i], ref[j]),
        )

    def _selected_specs(self, number: int) -> list[TraceSpec]:
        values = np.asarray([self.front.values(number)])
        numbers = np.array([float(number)])
        marker = {
            "size": 16,
            "color": st.SELECTED_COLOR,
            "symbol": "circle-open",
            "opacity": 1.0,
            "line": {"color": st.SELECTED_COLOR, "width": 2},
        }
        return [
            self._points(
                f"selected:{p}", "selected", p, pair, numbers, values, marker, "selected", number
            )
            for p, pair in enumerate(self.pairs)
        ]

    def _legend(self, n_front: int, selected: bool) -> list[TraceSpec]:
        items = [
            ("front", f"front ({n_front})", n_front, FRONT_COLOR, "circle", 1.0),
            ("dominated", f"dominated ({self.n_dominated})", self.n_dominated, DOMINATED_COLOR,
             "circle", 0.5),
            ("infeasible", f"infeasible ({self.n_infeasible})", self.n_infeasible,
             INFEASIBLE_COLOR, "x", 0.8),
            ("reference", "reference point", self.reference is not None, REFERENCE_COLOR,
             "x-thin-open", 1.0),
            ("selected", "selected", selected, st.SELECTED_COLOR, "circle-open", 1.0),
        ]  # fmt: skip
        out = []
        for rank, (key, name, shown, color, symbol, opacity) in enumerate(items):
            if not shown:
                continue
            out.append(
                TraceSpec(
                    f"legend:{key}",
                    LAYER["legend"],
                    {
                        **_axes(0),
                        "x": _NONE,
                        "y": _NONE,
                        "mode": "markers",
                        "marker": {"size": 8, "color": color, "symbol": symbol},
                        "line": {"color": color, "width": 2},
                        "opacity": opacity,
                        "name": name,
                        "legendrank": rank,
                        "showlegend": True,
                        "hoverinfo": "skip",
                    },
                    token=(name,),
                )
            )
        return out

    def _hv_traces(self, h: HypervolumeSteps) -> tuple[TraceSpec, ...]:
        if not len(h.values):
            return ()
        key = (self.front_version, len(h.values), h.total)
        memo = self._hv_memo
        if memo is not None and memo[0] == key:
            return memo[1]
        x = np.append(h.index, float(h.total))
        y = np.append(h.values, h.values[-1])
        numbers = np.append(h.numbers, h.numbers[-1])
        suffix = str(len(self.pairs) + 1)
        spec = TraceSpec(
            "hv",
            0,
            {
                "xaxis": f"x{suffix}",
                "yaxis": f"y{suffix}",
                "x": x,
                "y": y,
                "mode": "lines+markers",
                "line": {"color": HV_COLOR, "width": 2, "shape": "hv"},
                "marker": {"size": 5, "color": HV_COLOR},
                "customdata": numbers,
                "name": "hypervolume",
                "showlegend": False,
                "hovertemplate": "Hypervolume %{y:.5g}<br>after trial %{customdata:d} "
                "(%{x:d} complete)<extra></extra>",
            },
            token=key,
            numbers=numbers,
        )
        self._hv_memo = (key, (spec,))
        return (spec,)

    def _bounds(self) -> tuple[ObjectiveBound, ...]:
        n = len(self.model.actions)
        if self._bounds_memo is None or self._bounds_memo[0] != n:
            self._bounds_memo = (n, objective_bounds(self.model))
        return self._bounds_memo[1]
