"""Choosing the trial to export: best, by number, or by a named rule over the Pareto front."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from hpo_lab.export import choose_trial


def study_with(values: list[list[float] | None], directions: list[str], names=None):
    study = optuna.create_study(directions=directions)
    if names:
        study.set_metric_names(names)
    for i, v in enumerate(values):
        state = TrialState.COMPLETE if v is not None else TrialState.PRUNED
        study.add_trial(
            create_trial(
                state=state,
                values=v,
                params={"x": float(i)},
                distributions={"x": FloatDistribution(0, 100)},
            )
        )
    return study


# error (minimise) vs params (minimise): front = trials 0, 1, 2, 4; trial 3 is dominated.
FRONT = [[0.10, 900.0], [0.20, 300.0], [0.40, 100.0], [0.45, 400.0], [0.90, 10.0]]


def two_objectives():
    return study_with(FRONT, ["minimize", "minimize"], names=["error", "params"])


def test_single_objective_best_and_number() -> None:
    study = study_with([[3.0], [1.0], None, [2.0]], ["minimize"])
    best = choose_trial(study)
    assert (best.trial.number, best.rule) == (1, "best")
    assert best.description == "the best trial (minimize value: 1)"
    assert choose_trial(study, "best").trial.number == 1
    assert choose_trial(study, 3).trial.number == 3
    assert choose_trial(study, 2).trial.state == TrialState.PRUNED  # a pruned trial has params
    with pytest.raises(ValueError, match="trial=9: no such trial"):
        choose_trial(study, 9)
    with pytest.raises(ValueError, match="one objective"):
        choose_trial(study, "knee")


def test_no_complete_trial() -> None:
    with pytest.raises(ValueError, match="no complete trial yet"):
        choose_trial(study_with([None], ["maximize"]))
    with pytest.raises(ValueError, match="Pareto front is empty"):
        choose_trial(study_with([None], ["minimize", "minimize"]), "knee")


def test_several_objectives_without_a_rule_list_the_front() -> None:
    with pytest.raises(ValueError) as info:
        choose_trial(two_objectives())
    text = str(info.value)
    assert "2 objectives (error (minimize), params (minimize))" in text
    assert "Pareto front (4 trials)" in text
    for n in (0, 1, 2, 4):
        assert f"trial={n}:" in text
    assert "trial=3:" not in text
    assert "trial='knee'" in text and "trial='best:error'" in text


def test_knee_and_weights() -> None:
    study = two_objectives()
    # Scaled over the front: error (0.1..0.9), params (10..900).
    # trial 1: 0.125 + 0.326 = 0.451; trial 2: 0.375 + 0.101 = 0.476 -> knee = 1.
    knee = choose_trial(study, "knee")
    assert (knee.trial.number, knee.rule) == (1, "knee")
    assert "knee of the Pareto front (4 trials)" in knee.description
    assert choose_trial(study, {"error": 1, "params": 3}).trial.number == 2
    heavy = choose_trial(study, [10, 1])
    assert (heavy.trial.number, heavy.rule, heavy.weights) == (
        0,
        "weights",
        {
            "error": 10.0,
            "params": 1.0,
        },
    )
    assert choose_trial(study, {"params": 1}).trial.number == 4  # missing weights are 0


def test_best_on_one_objective() -> None:
    study = study_with(
        [[1.0, 5.0], [1.0, 3.0], [2.0, 4.0]], ["maximize", "minimize"], names=["acc", "ms"]
    )
    # Front: trials 1 and 2 (trial 0 is dominated by 1).
    assert choose_trial(study, "best:acc").trial.number == 2
    assert choose_trial(study, "best:ms").trial.number == 1
    assert choose_trial(study, "best:1").trial.number == 1  # by index
    with pytest.raises(ValueError, match="no objective 'latency'; the objectives are"):
        choose_trial(study, "best:latency")


def test_best_on_one_objective_breaks_ties_by_the_others() -> None:
    study = study_with([[1, 2, 4], [1, 3, 2], [2, 1, 1]], ["minimize"] * 3)
    # Trials 0 and 1 tie on the first objective; scaled, trial 1 is better on the rest.
    assert choose_trial(study, "best:0").trial.number == 1


def test_maximised_objectives_and_ties_in_score() -> None:
    study = study_with([[1.0, 0.0], [0.0, 1.0]], ["maximize", "maximize"])
    assert choose_trial(study, "knee").trial.number == 0  # equal scores: the lower number


@pytest.mark.parametrize(
    ("rule", "match"),
    [
        ({"error": -1}, "weight of 'error' must be a finite number >= 0"),
        ({"error": float("nan")}, "weight of 'error'"),
        ({"loss": 1}, r"unknown objectives \['loss'\]"),
        ([1, 2, 3], "must have 2 values"),
        ({"error": 0, "params": 0}, "must not all be zero"),
        ("median", "trial must be None, a trial number, 'knee'"),
        (1.5, "trial must be None"),
    ],
)
def test_bad_rules(rule, match) -> None:
    with pytest.raises(ValueError, match=match):
        choose_trial(two_objectives(), rule)


def test_infeasible_trials_are_not_chosen() -> None:
    study = two_objectives()
    study.add_trial(
        create_trial(
            values=[0.0, 0.0],  # dominates everything, but violates its constraint
            params={"x": 50.0},
            distributions={"x": FloatDistribution(0, 100)},
            system_attrs={"constraints": [1.0]},
        )
    )
    assert choose_trial(study, "knee").trial.number == 1
    assert choose_trial(study, "best:error").trial.number == 0
