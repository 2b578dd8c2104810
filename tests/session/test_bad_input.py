"""Bad input: a clear error naming the argument, and nothing stored is touched."""

import pytest

import hpo_lab as hl


def obj(trial):
    return trial.suggest_float("x", 0, 1)


def kw(**k):
    k.setdefault("progress", False)
    k.setdefault("storage", "runs")
    return k


@pytest.mark.parametrize(
    "args, exc, match",
    [
        (dict(objective=42), TypeError, "objective must be a callable"),
        (dict(objective=lambda: 1), TypeError, "objective must accept one argument"),
        (dict(direction="down"), ValueError, "direction must be 'minimize' or 'maximize'"),
        (dict(directions=["minimize", "upward"]), ValueError, r"directions\[1\]"),
        (dict(directions="minimize"), ValueError, "directions must be a non-empty list"),
        (dict(direction="minimize", directions=["minimize"]), ValueError, "either direction"),
        (dict(n_workers=0), ValueError, "n_workers must be a positive integer"),
        (dict(n_workers=1.5), TypeError, "n_workers must be a positive integer"),
        (dict(sampler="bayes"), ValueError, r"unknown sampler 'bayes'; expected one of \["),
        (dict(sampler=3), TypeError, "sampler must be a name"),
        (dict(pruner="early"), ValueError, r"unknown pruner 'early'; expected one of \["),
        (dict(pruner="median"), ValueError, "needs metric="),
        (
            dict(pruner="median", metric="l", directions=["minimize", "minimize"]),
            ValueError,
            "one objective only",
        ),
        (dict(metric=""), ValueError, "metric must be a non-empty string"),
        (dict(name=""), ValueError, "name must be a non-empty string"),
        (dict(device="tpu:9"), ValueError, "device 'tpu:9'"),
        (dict(seed="1"), TypeError, "seed must be an int"),
        (dict(storage=object()), TypeError, "storage must be"),
        (dict(executor="rockets"), ValueError, "executor must be"),
    ],
)
def test_constructor_errors(args, exc, match):
    objective = args.pop("objective", obj)
    with pytest.raises(exc, match=match):
        hl.Session(objective, **kw(**args))


@pytest.mark.parametrize(
    "n, exc",
    [(0, ValueError), (-3, ValueError), (2.5, TypeError), ("10", TypeError), (True, TypeError)],
)
def test_n_trials_must_be_positive(n, exc):
    s = hl.Session(obj, name="n", **kw())
    with pytest.raises(exc, match="n_trials must be a positive integer"):
        s.start(n)
    assert len(s.trials) == 0 and s.state == "idle"


def test_bad_timeout():
    s = hl.Session(obj, name="t", **kw())
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        s.start(1, timeout=-1)


def test_start_twice_is_an_error():
    import time

    def slow(trial):
        time.sleep(0.5)
        return 1.0

    s = hl.Session(slow, name="twice", **kw())
    s.start(1)
    with pytest.raises(RuntimeError, match="already running; use add_trials"):
        s.start(1)
    s.wait()


def test_same_name_with_other_direction_is_refused_and_data_kept():
    s = hl.Session(obj, name="dup", **kw())
    s.start(3).wait()
    with pytest.raises(ValueError, match=r"already exists with directions \['minimize'\]"):
        hl.Session(obj, name="dup", direction="maximize", **kw())
    s2 = hl.Session(obj, name="dupm", metric="loss", **kw())
    with pytest.raises(ValueError, match="already exists with metric='loss'"):
        hl.Session(obj, name="dupm", metric="acc", **kw())
    assert len(hl.Session.load("dup", storage="runs").trials) == 3
    assert s2.metric == "loss"


def test_loading_a_missing_session_lists_what_exists():
    hl.Session(obj, name="present", **kw())
    with pytest.raises(hl.SessionNotFoundError, match=r"no session named .absent.*.present."):
        hl.Session.load("absent", storage="runs")
    with pytest.raises(TypeError, match="keeps its directions"):
        hl.Session.load("present", storage="runs", direction="maximize")


def test_bad_report_is_a_failed_trial_with_a_clear_reason():
    def bad_step(trial):
        trial.report("first", loss=1.0)

    def bad_value(trial):
        trial.report(0, loss=1.0)
        trial.report(1, loss="high")

    def inf_step(trial):
        trial.report(float("inf"), loss=1.0)

    s = hl.Session(bad_step, name="b1", metric="loss", **kw())
    s.start(1).wait()
    assert (
        s.trials[0].user_attrs["fail_reason"]
        == "TypeError: step must be a number, got str: 'first'"
    )
    s = hl.Session(bad_value, name="b2", metric="loss", **kw())
    s.start(1).wait()
    assert "metric 'loss' must be a number" in s.trials[0].user_attrs["fail_reason"]
    assert s.metrics(0)["loss"].tolist() == [1.0]  # the good report before it is kept
    s = hl.Session(inf_step, name="b3", **kw())
    s.start(1).wait()
    assert "step must be a finite number" in s.trials[0].user_attrs["fail_reason"]


def test_metrics_of_a_missing_trial():
    s = hl.Session(obj, name="m", **kw())
    with pytest.raises(ValueError, match="no trial 5"):
        s.metrics(5)
