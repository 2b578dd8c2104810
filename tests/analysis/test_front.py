"""IncrementalFront against brute force: after every point, the front, what entered and left,
and the hypervolume must equal an O(n²) recomputation (and an exact cell count on integer
grids), for 2, 3 and 4 objectives with mixed directions, ties and duplicates."""

from __future__ import annotations

import itertools
import math

import numpy as np
import optuna
import pytest

from hpo_lab.analysis import FrontUpdate, IncrementalFront, StepLine


def brute_front(oriented: dict[int, np.ndarray]) -> set[int]:
    """Numbers of the points no other point dominates (all minimised), in O(n²)."""
    out = set()
    for i, p in oriented.items():
        if not any(np.all(q <= p) and np.any(q < p) for j, q in oriented.items() if j != i):
            out.add(i)
    return out


def grid_hypervolume(oriented: list[np.ndarray], reference: np.ndarray) -> float:
    """Exact hypervolume of integer points: count the unit cells some point dominates."""
    lo = np.min(np.vstack([*oriented, reference]), axis=0).astype(int)
    axes = [np.arange(a, b) for a, b in zip(lo, reference.astype(int))]
    cells = np.array(list(itertools.product(*axes)), dtype=float)
    if len(cells) == 0 or not oriented:
        return 0.0
    pts = np.array(oriented)
    covered = np.zeros(len(cells), dtype=bool)
    for p in pts:
        covered |= np.all(cells >= p, axis=1)
    return float(covered.sum())


DIRECTION_SETS = [
    ["minimize", "minimize"],
    ["maximize", "minimize"],
    ["minimize", "maximize", "minimize"],
    ["maximize", "maximize", "minimize"],
    ["minimize", "maximize", "maximize", "minimize"],
]


@pytest.mark.parametrize("directions", DIRECTION_SETS, ids=lambda d: "-".join(x[:3] for x in d))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_brute_force_on_integer_grid(directions: list[str], seed: int) -> None:
    """Small integer ranges give many ties and exact duplicates; hypervolume is a cell count."""
    rng = np.random.default_rng(seed)
    m = len(directions)
    sign = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
    k = 6 if m <= 3 else 5
    ref_oriented = np.full(m, float(k))
    front = IncrementalFront(directions, reference_point=list(ref_oriented * sign))
    seen: dict[int, np.ndarray] = {}
    before: set[int] = set()
    n_points = 120 if m == 2 else 70
    numbers = rng.permutation(np.arange(1000, 1000 + n_points))  # arbitrary, unordered numbers
    saw_duplicate = saw_left = False
    for i, number in enumerate(numbers):
        oriented = rng.integers(0, k + 1, size=m).astype(float)  # k itself: on the reference
        if i and i % 7 == 0:  # an exact copy of a front point
            oriented = seen[int(rng.choice(sorted(before)))].copy()
        elif i and i % 11 == 0:  # a copy of any earlier point
            oriented = seen[int(rng.choice(list(seen)))].copy()
        saw_duplicate |= any(np.array_equal(oriented, q) for q in seen.values())
        upd = front.add(int(number), list(oriented * sign))
        seen[int(number)] = oriented
        expected = brute_front(seen)
        assert set(front.front) == expected
        assert set(upd.entered) == expected - before
        assert set(upd.left) == before - expected
        assert all(front.is_on_front(n) == (n in expected) for n in seen)
        saw_left |= bool(upd.left)
        hv = grid_hypervolume([seen[n] for n in expected], ref_oriented)
        assert upd.hypervolume == pytest.approx(hv, abs=1e-9)
        before = expected
    assert saw_duplicate and saw_left  # the data exercised both cases
    history = front.hypervolume_history()
    assert history is not None and len(history.values) == n_points
    assert list(history.values) == sorted(history.values)  # never decreases
    assert history.values[-1] == front.hypervolume


@pytest.mark.parametrize("m", [2, 3, 4])
def test_continuous_values_match_brute_force_and_optuna(m: int) -> None:
    rng = np.random.default_rng(10 + m)
    directions = ["minimize", "maximize", "minimize", "maximize"][:m]
    sign = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
    ref = np.full(m, 1.0)
    front = IncrementalFront(directions, reference_point=list(ref * sign))
    seen: dict[int, np.ndarray] = {}
    for number in range(200):
        # Points on a rough trade-off surface, some beyond the reference point.
        p = rng.random(m)
        p = p / np.linalg.norm(p) * rng.uniform(0.7, 1.3)
        front.add(number, list(p * sign))
        seen[number] = p
    assert set(front.front) == brute_front(seen)
    from optuna._hypervolume import compute_hypervolume

    pts = np.array([seen[n] for n in front.front])
    inside = pts[np.all(pts < ref, axis=1)]
    assert front.hypervolume == pytest.approx(compute_hypervolume(inside, ref), rel=1e-9)


def test_front_order_and_duplicates() -> None:
    front = IncrementalFront(["minimize", "minimize"])
    front.add(5, [2.0, 1.0])
    front.add(3, [1.0, 2.0])
    upd = front.add(4, [2.0, 1.0])  # a duplicate of trial 5: on the front too, nobody leaves
    assert upd == FrontUpdate(4, True, (4,), (), None)
    assert front.front == (3, 4, 5)  # by the first objective, then by number
    upd = front.add(6, [1.0, 1.0])
    assert upd.entered == (6,) and set(upd.left) == {3, 4, 5}
    assert front.front == (6,)
    assert front.add(7, [1.0, 1.0]).entered == (7,)
    assert front.add(8, [1.0, 1.5]).entered == ()  # same x, worse y: dominated
    assert not front.add(8 + 1, [1.5, 1.0]).changed


def test_three_objectives_order_is_lexicographic() -> None:
    front = IncrementalFront(["minimize", "maximize", "minimize"])
    for number, values in enumerate([[1, 1, 3], [1, 2, 3], [0, 0, 5], [1, 2, 1], [0, 0, 5]]):
        front.add(number, values)
    # trial 1 is dominated by 3 (same x and y, smaller z); trial 0 by 1.
    assert front.front == (2, 4, 3)
    assert [p.number for p in front.data().dominated] == [0, 1]


def test_infeasible_points_are_kept_apart() -> None:
    front = IncrementalFront(["minimize", "minimize"], reference_point=[10, 10])
    front.add(0, [5, 5])
    hv = front.hypervolume
    upd = front.add(1, [1, 1], feasible=False)  # would dominate everything
    assert upd == FrontUpdate(1, False, (), (), hv)
    assert front.front == (0,)
    data = front.data()
    assert [p.number for p in data.infeasible] == [1]
    assert data.dominated == ()
    assert data.infeasible[0].values == (1.0, 1.0)
    assert front.hypervolume_history().values == (25.0, 25.0)


def test_known_hypervolumes() -> None:
    one = IncrementalFront(["minimize"] * 3, reference_point=[2, 3, 4])
    one.add(0, [1, 1, 1])
    assert one.hypervolume == 1 * 2 * 3
    # Three unit-offset points in a 2x2x2 box: everything but the cell [0,1]^3.
    three = IncrementalFront(["minimize"] * 3, reference_point=[2, 2, 2])
    for n, p in enumerate([[0, 0, 1], [0, 1, 0], [1, 0, 0]]):
        three.add(n, p)
    assert three.hypervolume == pytest.approx(7.0)
    # Two points in 2-D: 2x1 + 1x2 - 1x1 overlap.
    two = IncrementalFront(["maximize", "maximize"], reference_point=[0, 0])
    two.add(0, [2, 1])
    two.add(1, [1, 2])
    assert two.hypervolume == pytest.approx(3.0)
    # Points on or beyond the reference add nothing.
    two.add(2, [3, 0])
    two.add(3, [-1, 5])
    assert two.hypervolume == pytest.approx(3.0)
    assert set(two.front) == {0, 1, 2, 3}


def test_incremental_hypervolume_stays_exact_over_a_long_stream() -> None:
    rng = np.random.default_rng(3)
    front = IncrementalFront(["minimize", "minimize"], reference_point=[1.0, 1.0])
    for n in range(5000):
        x = rng.random()
        front.add(n, [x, (1 - math.sqrt(x)) * rng.uniform(1.0, 1.2)])
    assert front.hypervolume == pytest.approx(front._structure.recompute_hv(), rel=1e-12)


def test_reference_point_set_later_replays_history() -> None:
    rng = np.random.default_rng(4)
    pts = rng.random((60, 3)).tolist()
    late = IncrementalFront(["minimize", "maximize", "minimize"])
    for n, p in enumerate(pts):
        late.add(n, p)
    assert late.hypervolume is None and late.hypervolume_history() is None
    late.set_reference_point([1.0, 0.0, 1.0])
    early = IncrementalFront(["minimize", "maximize", "minimize"], reference_point=[1, 0, 1])
    for n, p in enumerate(pts):
        early.add(n, p)
    assert late.hypervolume_history() == early.hypervolume_history()
    assert late.front == early.front
    late.set_reference_point(None)
    assert late.hypervolume is None and late.front == early.front


def test_step_line_two_objectives() -> None:
    front = IncrementalFront(["minimize", "maximize"], reference_point=[10, 0])
    for n, p in enumerate([[1, 1], [2, 3], [3, 2], [4, 5], [11, 9]]):
        front.add(n, p)
    assert front.front == (0, 1, 3, 4)
    assert front.step_line() == StepLine((1, 1, 2, 2, 4, 4, 10), (0, 1, 1, 3, 3, 5, 5))
    # Without the reference: every front point, trial 4 (beyond the reference) included.
    assert front.step_line(to_reference=False) == StepLine(
        (1, 2, 2, 4, 4, 11, 11), (1, 1, 3, 3, 5, 5, 9)
    )
    # The area under the staircase is the hypervolume.
    line = front.step_line()
    area = sum((line.x[k + 1] - line.x[k]) * line.y[k] for k in range(0, len(line.x) - 1))
    assert area == pytest.approx(front.hypervolume)
    assert IncrementalFront(["minimize", "minimize"]).step_line() == StepLine((), ())


def test_projections_are_envelopes_of_the_front() -> None:
    rng = np.random.default_rng(5)
    front = IncrementalFront({"a": "minimize", "b": "minimize", "c": "maximize"})
    for n in range(80):
        front.add(n, rng.random(3).tolist())
    projections = front.projections(to_reference=False)
    assert [(p.x, p.y, p.x_name, p.y_name) for p in projections] == [
        (0, 1, "a", "b"),
        (0, 2, "a", "c"),
        (1, 2, "b", "c"),
    ]
    sign = np.array([1, 1, -1])
    for proj in projections:
        pts = {
            n: np.array(front.values(n))[[proj.x, proj.y]] * sign[[proj.x, proj.y]]
            for n in front.front
        }
        env = brute_front(pts)
        corners = sorted({tuple(pts[n]) for n in env})  # the line's corners are the envelope
        xs, ys = proj.step_line
        got = sorted({(xs[k] * sign[proj.x], ys[k] * sign[proj.y]) for k in range(0, len(xs), 2)})
        assert got == corners


def test_from_study_reads_constraints_names_and_states() -> None:
    study = optuna.create_study(
        directions=["minimize", "maximize"], sampler=optuna.samplers.NSGAIISampler(seed=0)
    )
    study.set_metric_names(["cost", "gain"])

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        trial.set_constraint("x_at_most_0.6", x - 0.6)  # Optuna 5's named constraints
        if trial.number % 7 == 3:
            raise optuna.TrialPruned()
        return x, math.sqrt(x)

    study.optimize(objective, n_trials=40)
    front = IncrementalFront.from_study(study, reference_point=[1.0, 0.0])
    data = front.data()
    assert data.names == ("cost", "gain")
    assert data.directions == ("minimize", "maximize")
    # Optuna's best_trials excludes infeasible trials too.
    assert {p.number for p in data.front} == {t.number for t in study.best_trials}
    infeasible = {t.number for t in study.trials if t.params["x"] > 0.6 and t.values}
    assert {p.number for p in data.infeasible} == infeasible and infeasible
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert front.n_points == len(complete) < 40


def test_old_list_constraints_and_unfinished_trials() -> None:
    make = optuna.trial.create_trial
    trials = [
        make(values=[1.0, 1.0], system_attrs={"constraints": [0.0, -1.0]}),  # feasible: <= 0
        make(values=[0.5, 0.5], system_attrs={"constraints": [-1.0, 0.1]}),
        make(state=optuna.trial.TrialState.FAIL),
        make(values=[2.0, 0.5]),
    ]
    for n, t in enumerate(trials):
        t.number = n
    front = IncrementalFront.from_trials(trials, ["minimize", "minimize"])
    assert front.front == (0, 3)
    assert [p.number for p in front.data().infeasible] == [1]
    assert front.add_trial(trials[2]) is None
    assert front.n_points == 3


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda f: f.add(0, [1.0]), ValueError, "must have 2 values"),
        (lambda f: f.add(0, [1.0, float("nan")]), ValueError, "finite"),
        (lambda f: f.add(0, "ab"), TypeError, "sequence of 2 numbers"),
        (lambda f: f.add(True, [1, 2]), TypeError, "trial number"),
        (lambda f: (f.add(0, [1, 2]), f.add(0, [2, 1])), ValueError, "already added"),
        (lambda f: f.set_reference_point([1.0]), ValueError, "reference_point must have 2"),
        (lambda f: f.step_line(0, 2), ValueError, "y must be an objective index in 0..1"),
        (lambda f: f.step_line(1, 1), ValueError, "two different objectives"),
        (lambda f: f.values(42), KeyError, "trial 42 is not in this front"),
    ],
)
def test_bad_input_is_named(call, error, match) -> None:
    front = IncrementalFront(["minimize", "maximize"])
    with pytest.raises(error, match=match):
        call(front)


@pytest.mark.parametrize(
    ("directions", "names", "match"),
    [
        (["minimise", "maximize"], None, r"directions\[0\] must be 'minimize' or 'maximize'"),
        ([], None, "non-empty list"),
        ("minimize", None, "non-empty list"),
        (["minimize", "minimize"], ["a"], "2 distinct names"),
        (["minimize", "minimize"], ["a", "a"], "2 distinct names"),
        ({"a": "minimize"}, ["a"], "names= only with a list"),
    ],
)
def test_bad_directions(directions, names, match) -> None:
    with pytest.raises(ValueError, match=match):
        IncrementalFront(directions, names=names)
