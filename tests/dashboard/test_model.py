"""DashboardModel: events in, what changed out; loading from storage without double counting."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from hpo_lab.dashboard import Changes, DashboardModel
from hpo_lab.dashboard._load import load_model
from hpo_lab.events import (
    ControlApplied,
    MetricsReported,
    ParamsSuggested,
    SessionStateChanged,
    TrialFinished,
    TrialStarted,
)

from .conftest import make_session


def model(**kw: object) -> DashboardModel:
    kw.setdefault("metric", "loss")
    return DashboardModel("m", kw.pop("directions", ["minimize"]), **kw)  # type: ignore[arg-type]


def test_a_trial_story_from_events() -> None:
    m = model()
    ch = m.apply(
        [
            SessionStateChanged("running", time=100.0),
            TrialStarted(0, device="cuda:1", time=100.5),
            ParamsSuggested(0, {"lr": 0.01}),
            ParamsSuggested(0, {"opt": "adam"}),
            MetricsReported(0, 0, {"loss": 1.0, "acc": 0.1}, time=101.0),
            MetricsReported(0, 1, {"loss": 0.5}, time=102.0),
        ]
    )
    assert ch.session and ch.states == {0} and ch.params == {0}
    assert ch.points == {"loss": {0}, "acc": {0}}
    assert ch.series_names and ch.param_names
    t = m.trials[0]
    assert (t.state, t.device, t.params, t.last_step) == (
        "RUNNING",
        "cuda:1",
        {"lr": 0.01, "opt": "adam"},
        1,
    )
    assert m.series[0]["loss"].value.tolist() == [1.0, 0.5]
    assert m.series_names == ["loss", "acc"]
    assert m.is_numeric("lr") and not m.is_numeric("opt")
    assert (m.state, m.run_started) == ("running", 100.0)

    ch = m.apply([TrialFinished(0, "COMPLETE", (0.5,), duration=3.0, last_step=1, time=103.5)])
    assert ch.finished == {0} and ch.best and ch.rows == {0}
    assert m.best == (0, 0.5)
    assert t.duration() == pytest.approx(3.0)
    assert [h.state for h in t.history] == ["RUNNING", "COMPLETE"]
    assert "complete: 0.5" in t.history[-1].text


def test_best_follows_the_direction_and_ignores_other_states() -> None:
    for direction, best in (("minimize", (2, 1.0)), ("maximize", (0, 3.0))):
        m = model(directions=[direction])
        m.apply(
            [
                TrialFinished(0, "COMPLETE", (3.0,)),
                TrialFinished(1, "PRUNED", (0.1,)),  # Optuna keeps a pruned trial's last value
                TrialFinished(2, "COMPLETE", (1.0,)),
                TrialFinished(3, "FAIL", None, reason="boom"),
            ]
        )
        assert m.best == best
        assert m.counts() == {"COMPLETE": 2, "PRUNED": 1, "FAIL": 1}
        assert m.trials[3].reason == "boom"


def test_pareto_front_of_several_objectives() -> None:
    m = model(directions=["minimize", "maximize"], objective_names=["error", "speed"])
    m.apply(
        [
            TrialFinished(0, "COMPLETE", (1.0, 1.0)),
            TrialFinished(1, "COMPLETE", (2.0, 3.0)),
            TrialFinished(2, "COMPLETE", (2.5, 2.0)),  # dominated by 1
            TrialFinished(3, "COMPLETE", (0.5, 0.5)),
        ]
    )
    assert m.pareto == (0, 1, 3)
    assert m.objective_labels == ["error", "speed"]
    m.apply([TrialFinished(4, "COMPLETE", (0.1, 5.0))])  # dominates everything
    assert m.pareto == (4,)


def test_pause_applied_at_a_report_shows_paused_until_resumed() -> None:
    m = model()
    m.apply([TrialStarted(0), ControlApplied("pause", None, source="dashboard")])
    assert m.trials[0].display_state == "RUNNING"  # requested: not held yet
    ch = m.apply([ControlApplied("pause", 0, source="dashboard", result="applied")])
    assert ch.states == {0} and m.trials[0].display_state == "PAUSED"
    assert m.counts() == {"PAUSED": 1}
    m.apply([ControlApplied("resume", 0, source="code", result="applied")])
    assert m.trials[0].display_state == "RUNNING"
    assert [a.kind for a in m.actions] == ["pause", "pause", "resume"]
    texts = [h.text for h in m.trials[0].history]
    assert "pause applied (from dashboard)" in texts and "resume applied (from code)" in texts


def test_load_points_groups_columns_into_series() -> None:
    m = model()
    trial = np.array([1, 0, 1, 0, 1])
    name = np.array(["loss", "loss", "acc", "loss", "loss"], dtype=object)
    step = np.array([0.0, 0.0, 0.0, 1.0, 1.0])
    value = np.array([9.0, 1.0, 0.5, 0.8, 8.0])
    when = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    ch = m.load_points(trial, name, step, value, when)
    assert ch.points == {"loss": {0, 1}, "acc": {1}}
    assert m.series[0]["loss"].value.tolist() == [1.0, 0.8]
    assert m.series[1]["loss"].value.tolist() == [9.0, 8.0]
    assert m.series[1]["loss"].last_time == 5.0
    assert m.trials[1].last_step == 1.0
    assert m.load_points(*(np.empty(0),) * 5) == Changes()


def test_events_already_in_storage_are_not_counted_twice() -> None:
    m = model()
    m.load_points(
        np.array([0, 0]),
        np.array(["loss", "loss"], dtype=object),
        np.array([0.0, 1.0]),
        np.array([1.0, 0.9]),
        np.array([10.0, 11.0]),
    )
    # The bus delivers what was published since the dashboard subscribed: step 1 was written
    # to storage before the load read it; step 2 was not.
    m.apply([MetricsReported(0, 1, {"loss": 0.9}, time=11.0)])
    m.apply([MetricsReported(0, 2, {"loss": 0.8}, time=12.0)])
    assert m.series[0]["loss"].value.tolist() == [1.0, 0.9, 0.8]


def test_unknown_directions_are_refused() -> None:
    with pytest.raises(ValueError, match="directions must be a non-empty list"):
        DashboardModel("m", ["down"])
    with pytest.raises(ValueError, match="directions must be a non-empty list"):
        DashboardModel("m", [])


def test_a_stored_session_loads_with_series_actions_and_reasons(sessions: list) -> None:
    from .conftest import quadratic

    s = make_session(quadratic, n_workers=2)
    sessions.append(s)
    s.start(n_trials=6).wait()
    m, ch = load_model(s)
    assert ch.reset
    assert m.counts() == {"COMPLETE": 6}
    assert set(m.series_names) == {"loss", "acc"} and m.series_names[0] == "loss"
    assert all(len(m.series[n]["loss"]) == 5 for n in range(6))
    assert [a.kind for a in m.actions] == ["start"]
    assert m.best == min(((t.number, t.value) for t in s.trials), key=lambda p: p[1])
    assert isinstance(m.distributions["x"], optuna.distributions.FloatDistribution)
    assert not m.is_numeric("opt")


def test_lineage_comes_from_optuna_records_alone() -> None:
    """A study with a fork's user attributes but no hpo_lab action log still shows lineage."""

    study = optuna.create_study()
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study.add_trial(optuna.trial.create_trial(params={"x": 0.5}, distributions=dist, value=1.0))
    child = optuna.trial.create_trial(
        params={"x": 0.2}, distributions=dist, value=0.5, user_attrs={"parent": 0, "fork_step": 3}
    )
    study.add_trial(child)
    m = DashboardModel("lineage", ["minimize"])
    m.load_trials(study.trials)
    assert m.trials[1].parent == 0
    assert m.trials[0].parent is None


def test_infeasible_trials_are_never_the_best_nor_on_the_front() -> None:
    m = model()
    m.apply([TrialFinished(n, "COMPLETE", (v,)) for n, v in enumerate([0.3, 0.1, 0.2])])
    assert m.best == (1, 0.1)
    ch = m.set_infeasible({1})
    assert m.best == (2, 0.2) and ch.best
    assert m.pareto == (2,)
    version = m.outcome_version
    assert not m.set_infeasible({1}).best and m.outcome_version == version  # unchanged: no work
    m.apply([TrialFinished(3, "COMPLETE", (0.15,))])
    assert m.best == (3, 0.15)
    m.set_infeasible({1, 3})  # judged after its end event, in the same frame
    assert m.best == (2, 0.2) and m.outcome_version > version
    m.set_infeasible(set())  # the constraint was relaxed
    assert m.best == (1, 0.1) and m.pareto == (1,)
    m.set_infeasible({0, 1, 2, 3})
    assert m.best is None and m.pareto == ()


def test_the_pareto_front_leaves_infeasible_trials_out() -> None:
    m = model(directions=["minimize", "minimize"])
    m.apply(
        [
            TrialFinished(0, "COMPLETE", (1.0, 3.0)),
            TrialFinished(1, "COMPLETE", (2.0, 2.0)),
            TrialFinished(2, "COMPLETE", (2.5, 2.5)),  # dominated by 1 only
        ]
    )
    assert m.pareto == (0, 1)
    m.set_infeasible({1})
    assert m.pareto == (0, 2)
