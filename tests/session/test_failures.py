"""A failing trial never takes the session down, and never loses what was reported."""

import math

import torch

import hpo_lab as hl


def failing(trial):
    mode = ["ok", "raise", "nan", "inf", "oom", "none", "keyboard", "exit"][trial.number % 8]
    x = trial.suggest_float("x", 0, 1)
    for step in range(3):
        trial.report(step, loss=x + step)
    if mode == "raise":
        raise ZeroDivisionError("division by zero in the model")
    if mode == "nan":
        return math.nan
    if mode == "inf":
        return math.inf
    if mode == "oom":
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
    if mode == "none":
        return None
    if mode == "keyboard":
        raise KeyboardInterrupt
    if mode == "exit":
        raise SystemExit(3)
    return x


EXPECTED = {
    0: ("COMPLETE", None),
    1: ("FAIL", "ZeroDivisionError: division by zero in the model"),
    2: ("FAIL", "the objective returned a non-finite value 0: nan"),
    3: ("FAIL", "the objective returned a non-finite value 0: inf"),
    4: ("FAIL", "out of memory"),
    5: ("FAIL", "the objective returned None; return the value to optimize"),
    6: ("FAIL", "KeyboardInterrupt"),
    7: ("FAIL", "SystemExit: 3"),
}


def test_each_failure_mode_is_a_failed_trial_with_its_reason():
    s = hl.Session(
        failing, name="f", metric="loss", pruner="none", progress=False, storage="runs", n_workers=2
    )
    s.start(16).wait()
    assert s.state == "finished"
    for t in s.trials:
        state, reason = EXPECTED[t.number % 8]
        assert t.state.name == state, t.number
        assert t.user_attrs.get("fail_reason") == reason
        assert len(t.intermediate_values) == 3  # reported before failing: kept
    assert len(s.metrics()) == 16 * 3
    assert "Traceback" in s.trials[1].user_attrs["traceback"]
    assert s.best_trial.number in (0, 8)


def test_a_session_outlives_a_failing_objective_and_goes_on():
    s = hl.Session(failing, name="g", progress=False, storage="runs")
    s.start(8).wait()
    s.add_trials(1)
    assert s.wait(30)
    assert len(s.trials) == 9 and s.trials[8].state.name == "COMPLETE"
