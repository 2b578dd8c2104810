"""The two-objective digits example really trades error for size, and its session's front is
what the Pareto data layer computes."""

from __future__ import annotations

import functools

import pytest

import hpo_lab as hl
from hpo_lab.analysis import IncrementalFront, pareto_front_data, suggest_reference_point
from hpo_lab.examples.digits import make_mlp
from hpo_lab.examples.digits_multi import (
    DIRECTIONS,
    DIRECTIONS_WITH_LATENCY,
    count_params,
    digits_multi_objective,
)


def test_sizes_and_session_front() -> None:
    assert count_params(make_mlp(16, 1)) == 64 * 16 + 16 + 16 * 10 + 10
    assert count_params(make_mlp(64, 2)) > count_params(make_mlp(16, 2))
    s = hl.Session(
        functools.partial(digits_multi_objective, epochs=1),
        directions=DIRECTIONS,
        metric="val_error",
        storage=":memory:",
        progress=False,
        seed=0,
    )
    s.start(n_trials=5).wait()
    assert s.objective_names == ["val_error", "params"]
    values = [t.values for t in s.trials]
    assert all(0 <= e <= 1 and p >= count_params(make_mlp(4, 1)) for e, p in values)
    ref = suggest_reference_point(values, DIRECTIONS)
    data = pareto_front_data(s, reference_point=ref)
    assert data.names == ("val_error", "params")
    assert {p.number for p in data.front} == {t.number for t in s.best_trials}
    assert data.hypervolume > 0
    front = IncrementalFront.from_study(s.study, reference_point=ref)
    assert front.hypervolume_history().values[-1] == data.hypervolume
    assert len(front.step_line().x) >= 2 * len({p.values for p in data.front}) + 1
    assert list(DIRECTIONS_WITH_LATENCY) == ["val_error", "params", "latency_ms"]


def test_latency_is_kept_for_an_outcome_constraint_with_two_objectives() -> None:
    s = hl.Session(
        functools.partial(digits_multi_objective, epochs=1),
        directions=DIRECTIONS,
        metric="val_error",
        storage=":memory:",
        progress=False,
        seed=0,
    )
    s.start(n_trials=1).wait()
    s.constrain("latency_ms <= 1000")  # known: a user attribute of the first trial
    s.constrain("params <= 2000")
    s.start(n_trials=3).wait()
    for t in s.trials:
        assert t.user_attrs["params"] == t.values[1]
        assert 0 < t.user_attrs["latency_ms"] < 1000
    for t in s.trials[1:]:
        assert t.constraints["latency_ms <= 1000"] == pytest.approx(
            t.user_attrs["latency_ms"] - 1000
        )
        assert t.constraints["params <= 2000"] == pytest.approx(t.values[1] - 2000)
