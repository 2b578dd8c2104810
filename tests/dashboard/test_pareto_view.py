"""The Pareto view's pure data: fronts known exactly, hypervolumes in closed form, the cache."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from hpo_lab.analysis import hypervolume
from hpo_lab.dashboard import DashboardModel, ParetoCache, pareto_view_data
from hpo_lab.dashboard._pareto import (
    auto_reference_point,
    objective_bounds,
    region_constraints,
)
from hpo_lab.dashboard._traces import TraceSpec
from hpo_lab.events import ControlApplied, TrialFinished, TrialStarted


def finished(n: int, values, t: float | None = None, state: str = "COMPLETE") -> TrialFinished:
    return TrialFinished(n, state, None if values is None else tuple(values), time=t or 100.0 + n)


def line_model(k: int = 10) -> DashboardModel:
    """Even trials on the line x + y = 1 (the front, exactly); odd ones 0.05 worse on both."""
    m = DashboardModel("line", ["minimize", "minimize"], objective_names=["x", "y"])
    events = []
    for i in range(k + 1):
        x = i / k
        events.append(finished(2 * i, (x, 1 - x)))
        events.append(finished(2 * i + 1, (x + 0.05, 1 - x + 0.05)))
    m.apply(events)
    return m


def spec(data, key: str) -> TraceSpec:
    return next(s for s in data.traces if s.key == key)


def test_a_front_known_exactly_and_its_hypervolume_in_closed_form() -> None:
    k = 10
    data = pareto_view_data(line_model(k), reference_point=[1.0, 1.0])
    assert data.front == tuple(range(0, 2 * k + 1, 2))  # sorted along x, best first
    assert data.n_dominated == k + 1 and data.n_infeasible == 0
    # Staircase of x_i = i/k, y_i = 1 - i/k against (1, 1): sum of (1/k) * (i/k), i < k.
    assert data.hypervolume == pytest.approx((k - 1) / (2 * k))
    assert data.reference_point == (1.0, 1.0) and not data.auto_reference
    step = data.step_lines[0]
    # (0, 1) and (1, 0) are not better than the reference on both: the staircase starts at
    # the next point, on the reference's y, and ends on its x.
    assert (step.x[0], step.y[0], step.y[1]) == (0.1, 1.0, 0.9)
    assert step.x[-1] == 1.0 and step.y[-1] == pytest.approx(0.1)
    front = spec(data, "front:0")
    assert front.props["x"].tolist() == [i / k for i in range(k + 1)]
    assert front.numbers.tolist() == list(range(0, 2 * k + 1, 2))
    assert front.props["x"].dtype == np.float64 and front.props["customdata"].dtype == np.float64
    dominated = spec(data, "dominated:0:0")
    assert dominated.numbers.tolist() == list(range(1, 2 * k + 2, 2))
    assert dominated.props["marker"]["opacity"] < 0.5  # faded
    assert data.pairs == ((0, 1),) and data.n_points == 2 * (k + 1)
    assert data.message is None


def test_hypervolume_history_is_kept_where_it_changes() -> None:
    m = DashboardModel("h", ["minimize", "minimize"])
    points = [(0.5, 0.5), (0.6, 0.6), (0.4, 0.4), (0.9, 0.1), (0.95, 0.95)]
    m.apply([finished(n, v) for n, v in enumerate(points)])
    data = pareto_view_data(m, reference_point=[1.0, 1.0])
    h = data.history
    # Trial 1 and 4 are dominated: the hypervolume does not move with them.
    assert h.index.tolist() == [1, 3, 4] and h.numbers.tolist() == [0, 2, 3] and h.total == 5
    assert h.values.tolist() == pytest.approx([0.25, 0.36, 0.36 + 0.1 * 0.3])
    hv = data.hv_traces[0]
    assert hv.props["x"].tolist() == [1, 3, 4, 5]  # drawn up to the last trial
    assert hv.props["line"]["shape"] == "hv" and hv.props["xaxis"] == "x2"
    assert hv.numbers.tolist() == [0, 2, 3, 3]  # a click selects the trial that moved it


def test_maximized_objectives_keep_their_units() -> None:
    m = DashboardModel("max", ["maximize", "minimize"], objective_names=["acc", "size"])
    m.apply([finished(n, v) for n, v in enumerate([(0.9, 100.0), (0.8, 10.0), (0.7, 50.0)])])
    data = pareto_view_data(m, reference_point=[0.0, 200.0])
    assert data.front == (0, 1)  # best accuracy first
    assert data.hypervolume == pytest.approx(0.8 * 190 + 0.1 * 100)
    assert data.step_lines[0].x[0] == 0.9 and data.step_lines[0].y[0] == 200.0


def test_infeasible_trials_are_drawn_apart_and_never_on_the_front() -> None:
    m = line_model(4)
    data = pareto_view_data(m, reference_point=[1.0, 1.0], infeasible={0, 3})
    # Without trial 0, trial 1 (0.05, 1.05) is dominated by nothing feasible.
    assert data.front == (1, 2, 4, 6, 8)
    assert data.n_infeasible == 2 and data.n_dominated == 3
    bad = spec(data, "infeasible:0:0")
    assert bad.numbers.tolist() == [0, 3] and bad.props["marker"]["symbol"] == "x"
    assert spec(data, "dominated:0:0").numbers.tolist() == [5, 7, 9]


def test_trials_without_finite_values_are_counted_not_drawn() -> None:
    m = line_model(2)
    m.apply([TrialStarted(50), finished(50, (math.nan, 1.0)), finished(51, None, state="FAIL")])
    data = pareto_view_data(m, reference_point=[1.0, 1.0])
    assert data.n_skipped == 1 and 50 not in data.front and data.n_points == 6


def test_three_objectives_make_a_scatter_matrix() -> None:
    rng = np.random.default_rng(0)
    points = rng.random((60, 3))
    m = DashboardModel("three", ["minimize"] * 3, objective_names=["a", "b", "c"])
    m.apply([finished(n, p) for n, p in enumerate(points)])
    data = pareto_view_data(m, reference_point=[1.0, 1.0, 1.0])
    brute = [
        n for n, p in enumerate(points) if not any(np.all(q <= p) and np.any(q < p) for q in points)
    ]
    assert sorted(data.front) == brute
    assert data.pairs == ((0, 1), (0, 2), (1, 2)) and len(data.step_lines) == 3
    assert data.hypervolume == pytest.approx(hypervolume(points[brute], np.ones(3)))
    axes = {spec(data, f"front:{p}").props["xaxis"] for p in range(3)}
    assert axes == {"x", "x2", "x3"} and data.hv_traces[0].props["xaxis"] == "x4"
    front = spec(data, "front:2")  # objectives b (x) and c (y)
    where = {n: i for i, n in enumerate(front.numbers.astype(int).tolist())}
    n = brute[0]
    assert front.props["x"][where[n]] == points[n, 1] and front.props["y"][where[n]] == points[n, 2]


def test_the_suggested_reference_point_is_round_and_worse_than_every_point() -> None:
    assert auto_reference_point([0.02, 1210], [0.3, 70_000], ["minimize", "minimize"]) == (
        0.33,
        80_000.0,
    )
    assert auto_reference_point([0.5], [0.97], ["maximize"]) == (0.4,)
    assert auto_reference_point([2.0], [2.0], ["minimize"]) == (2.2,)  # one value: its scale
    m = line_model(4)
    data = pareto_view_data(m, infeasible={9})  # trial 9, x = 1.05, does not count
    assert data.auto_reference
    assert data.reference_point == auto_reference_point(
        [0.0, 0.0], [1.0, 1.05], ["minimize", "minimize"]
    )
    assert data.reference_point == (1.1, 1.2)


def test_the_selected_trial_is_marked_on_every_scatter() -> None:
    data = pareto_view_data(line_model(3), selected=1)
    sel = spec(data, "selected:0")
    assert data.selected == 1 and sel.numbers.tolist() == [1.0]
    assert sel.props["x"].tolist() == [0.05] and sel.layer > spec(data, "front:0").layer
    assert pareto_view_data(line_model(3), selected=99).selected is None


def test_no_trial_yet_and_one_objective_say_so() -> None:
    empty = pareto_view_data(DashboardModel("e", ["minimize", "maximize"]))
    assert empty.front == () and "No trial has completed" in empty.message
    single = pareto_view_data(DashboardModel("s", ["minimize"]))
    assert single.pairs == () and "two objectives" in single.message
    with pytest.raises(ValueError, match="reference_point must be 2 finite numbers"):
        pareto_view_data(line_model(2), reference_point=[1.0])
    with pytest.raises(ValueError, match="chunk must be a positive int"):
        pareto_view_data(line_model(2), chunk=0)


def _same(a, b) -> None:
    assert a.front == b.front and a.n_dominated == b.n_dominated
    assert a.n_infeasible == b.n_infeasible and a.reference_point == b.reference_point
    assert a.hypervolume == pytest.approx(b.hypervolume)
    assert a.step_lines == b.step_lines
    for x, y in zip(a.history, b.history):
        np.testing.assert_array_equal(x, y)
    ka = {s.key: s for s in a.traces + a.hv_traces}
    kb = {s.key: s for s in b.traces + b.hv_traces}
    assert set(ka) == set(kb)
    for key in ka:
        for prop in ("x", "y", "customdata"):
            np.testing.assert_array_equal(ka[key].props.get(prop), kb[key].props.get(prop))


@pytest.mark.parametrize("objectives", [2, 3])
def test_the_cache_gives_what_a_fresh_computation_gives(objectives: int) -> None:
    rng = np.random.default_rng(objectives)
    model = DashboardModel("c", ["minimize", "maximize", "minimize"][:objectives])
    cache = ParetoCache()
    infeasible: set[int] = set()
    numbers = itertools.count()
    ends = rng.permutation(400).astype(float)  # completion order differs from trial numbers
    for batch in range(40):
        events = []
        for _ in range(int(rng.integers(0, 8))):
            n = next(numbers)
            events.append(TrialStarted(n))
            if rng.random() < 0.85:
                events.append(finished(n, rng.random(objectives), t=ends[n]))
            if rng.random() < 0.1:
                infeasible.add(n)
        model.apply(events)
        # Sometimes a trial that completed earlier is seen late: the cache starts over.
        selected = int(rng.integers(0, 10)) if batch % 3 else None
        kw = {"infeasible": set(infeasible), "selected": selected, "chunk": 16}
        if batch > 30:
            kw["reference_point"] = [1.5, -0.5, 1.5][:objectives]
        _same(pareto_view_data(model, cache=cache, **kw), pareto_view_data(model, **kw))


def test_the_cache_resends_only_the_chunk_a_new_trial_lands_in() -> None:
    m = line_model(100)  # 202 trials, chunks of 50
    cache = ParetoCache()
    first = pareto_view_data(m, reference_point=[2.0, 2.0], chunk=50, cache=cache)
    m.apply([finished(300, (0.5, 0.9))])  # dominated: lands in chunk 6
    second = pareto_view_data(m, reference_point=[2.0, 2.0], chunk=50, cache=cache)
    before = {s.key: s.token for s in first.traces}
    changed = {s.key for s in second.traces if before.get(s.key, object()) != s.token}
    assert changed == {"dominated:0:6", "legend:dominated"}


def test_brushed_regions_become_bounds_that_keep_the_brushed_points() -> None:
    names = ["err", "size"]
    low, high = [0.05, 10.0], [0.9, 9000.0]
    exprs = region_constraints(names, (0, 1), (0.0, 0.25, 0.0, 5123.4), low, high)
    assert exprs == ("err <= 0.25", "size <= 5124")  # lower sides beyond every trial: open
    assert region_constraints(names, (0, 1), (0.0, 1.0, 0.0, 1e4), low, high) == ()
    exprs = region_constraints(names, (1, 0), (1.234567, 2.0, 0.123456, 0.5), [0.05, 1], high)
    assert exprs == ("size >= 1.234", "size <= 2", "err >= 0.1234", "err <= 0.5")


def test_bounds_in_force_are_replayed_from_the_action_log() -> None:
    m = DashboardModel("b", ["minimize", "minimize"], objective_names=["err", "size"])
    m.apply(
        [
            ControlApplied("constrain", details={"target": "err <= 0.3"}),
            ControlApplied("constrain", details={"target": "size <= 500"}),
            ControlApplied("constrain", details={"target": "lr", "low": 0.1, "high": 1}),
            ControlApplied("constrain", details={"target": "latency <= 5"}),  # not an objective
            ControlApplied("constrain", details={"target": "err <= 0.2"}),  # replaces
            ControlApplied("relax", details={"target": "size", "removed": ["size <= 500"]}),
        ]
    )
    assert [(b.objective, b.name, b.op, b.bound) for b in objective_bounds(m)] == [
        (0, "err", "<=", 0.2)
    ]
    m.apply([ControlApplied("relax", details={"target": None})])
    assert objective_bounds(m) == ()
