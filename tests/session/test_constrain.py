"""constrain/relax on a running search: new trials stay inside, the sampler keeps its history."""

import time

import pytest

import hpo_lab as hl
from tests.conftest import wait_for


def space(trial):
    x = trial.suggest_float("x", -10, 10)
    n = trial.suggest_int("n", 1, 20)
    opt = trial.suggest_categorical("opt", ["sgd", "adam", "rmsprop"])
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    trial.report(0, size=n * 100.0)
    return (x - 3) ** 2 + (n - 7) ** 2 / 10 + (opt != "adam") + abs(lr - 1e-3) * 100


def inside(t):
    p = t.params
    return (
        0 <= p["x"] <= 2 and 5 <= p["n"] <= 9 and p["opt"] in ("sgd", "rmsprop") and p["lr"] == 1e-4
    )


SAMPLERS = {"random": 200, "tpe": 200, "qmc": 200, "cmaes": 200, "gp": 40}


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_no_violations_after_constraining(sampler):
    s = hl.Session(space, name=sampler, sampler=sampler, seed=1, storage=":memory:", progress=False)
    s.start(12).wait()  # history before the constraints
    base = s.study.sampler.base
    s.constrain("x", low=0, high=2)
    s.constrain("n", low=5, high=9)
    s.constrain("opt", choices=["sgd", "rmsprop"])
    s.constrain("lr", fixed=1e-4)
    s.start(SAMPLERS[sampler]).wait()
    new = s.trials[12:]
    assert len(new) == SAMPLERS[sampler]
    bad = [t.number for t in new if not inside(t)]
    assert not bad, f"{len(bad)} trials left the constrained space: {bad[:5]}"
    assert all(t.state.name == "COMPLETE" for t in new)
    assert s.study.sampler.base is base  # wrapped, never replaced or reset


def test_multi_objective_nsga2_respects_constraints():
    def mo(trial):
        x = trial.suggest_float("x", 0, 1)
        c = trial.suggest_categorical("c", ["a", "b", "c"])
        return x, (1 - x) + (c == "a")

    s = hl.Session(
        mo,
        name="mo",
        directions=["minimize", "minimize"],
        sampler="nsga2",
        storage=":memory:",
        progress=False,
        seed=0,
    )
    s.constrain("x", low=0.25, high=0.5, strict=False)
    s.constrain("c", choices=["b"], strict=False)
    s.start(200).wait()
    assert all(0.25 <= t.params["x"] <= 0.5 and t.params["c"] == "b" for t in s.trials)


def test_relax_restores_the_full_space():
    s = hl.Session(
        space, name="relax", sampler="random", seed=0, storage=":memory:", progress=False
    )
    s.start(2).wait()
    s.constrain("x", low=0, high=1)
    s.start(20).wait()
    assert all(0 <= t.params["x"] <= 1 for t in s.trials[2:])
    s.relax("x")
    assert not s.constraints
    s.start(40).wait()
    assert any(not 0 <= t.params["x"] <= 1 for t in s.trials[22:])
    assert list(s.actions().kind) == ["start", "constrain", "start", "relax", "start"]


def test_outcome_constraints_reach_optuna_and_mark_trials():
    s = hl.Session(space, name="out", sampler="tpe", seed=0, storage=":memory:", progress=False)
    s.start(3).wait()
    s.constrain("size <= 1000")
    s.start(20).wait()
    for t in s.trials[3:]:
        v = t.constraints["size <= 1000"]
        assert v == pytest.approx(t.params["n"] * 100.0 - 1000)
    assert all(t.constraints == {} for t in s.trials[:3])  # ended before the constraint
    feasible = [t for t in s.trials[3:] if t.constraints["size <= 1000"] <= 0]
    assert feasible and s.constraints.describe() == ["size <= 1000"]


def test_outcome_on_objective_and_user_attr_and_missing():
    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 2:
            trial.set_user_attr("params_count", 1e6 * x)
        return {"err": 1 - x, "lat": 10 * x}

    s = hl.Session(
        obj,
        name="o2",
        directions={"err": "minimize", "lat": "minimize"},
        storage=":memory:",
        progress=False,
        sampler="random",
    )
    s.start(1).wait()
    s.constrain("lat <= 5")
    s.constrain("params_count <= 2e5", strict=False)
    s.start(4).wait()
    for t in s.trials[1:]:
        assert t.constraints["lat <= 5"] == pytest.approx(t.values[1] - 5)
        pc = t.constraints["params_count <= 200000"]
        assert pc == (pytest.approx(1e6 * t.params["x"] - 2e5) if t.number % 2 else 1e300)


@pytest.mark.parametrize(
    "target, kw, exc, match",
    [
        ("y", {"low": 0}, ValueError, r"no trial has suggested a parameter 'y' yet"),
        ("x", {"low": 20, "high": 30}, ValueError, "leaves no value"),
        ("opt", {"choices": ["adamw"]}, ValueError, r"\['adamw'\] not among the choices"),
        ("n", {"fixed": 50}, ValueError, "not a value of"),
        ("n", {}, ValueError, "takes one of"),
        ("latency <= 5", {}, ValueError, "'latency' is not an objective, a reported series"),
        ("size <= 5", {"low": 1}, ValueError, "outcome constraint takes no"),
        ("x <=", {}, ValueError, "must read 'name <= number'"),
        (3, {}, TypeError, "constrain needs"),
    ],
)
def test_bad_constraints_are_refused_and_change_nothing(target, kw, exc, match):
    s = hl.Session(space, name="bad", storage=":memory:", progress=False)
    s.start(2).wait()
    with pytest.raises(exc, match=match):
        s.constrain(target, **kw)
    assert not s.constraints and list(s.actions().kind) == ["start"]
    with pytest.raises(ValueError, match="nothing is constrained on 'x'"):
        s.relax("x")


def test_constrain_while_workers_sample():
    def slowish(trial):
        x = trial.suggest_float("x", 0, 100)
        time.sleep(0.01)
        return x

    s = hl.Session(
        slowish, name="live", n_workers=4, sampler="random", storage=":memory:", progress=False
    )
    s.start(150)
    wait_for(lambda: len(s.trials) > 10)
    t_constrain = time.time()
    s.constrain("x", low=10, high=20)
    assert s.wait(60)
    after = [t for t in s.trials if t.datetime_start.timestamp() > t_constrain + 0.05]
    assert len(after) > 50
    assert all(10 <= t.params["x"] <= 20 for t in after)
    assert all(t.state.name == "COMPLETE" for t in s.trials)


def test_constraints_persist_and_reload(tmp_path):
    s = hl.Session(space, name="keep", storage=tmp_path / "r", progress=False)
    s.start(1).wait()
    s.constrain("x", low=1, high=2)
    s.constrain("size <= 500")
    again = hl.Session.load("keep", storage=tmp_path / "r", objective=space, progress=False)
    assert again.constraints.describe() == ["x in [1, 2]", "size <= 500"]
    again.start(5).wait()
    assert all(1 <= t.params["x"] <= 2 for t in again.trials[1:])
