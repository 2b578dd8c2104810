"""hl.Trial on its own: reporting, Optuna's record, controls, deferred (GPU-style) values."""

import threading
import time

import optuna
import pytest
import torch

from hpo_lab.events import ControlApplied, MetricsReported, ParamsSuggested
from hpo_lab.trial import (
    Mailbox,
    Pause,
    Prune,
    Resume,
    Stop,
    Trial,
    TrialPruned,
    TrialSettings,
    TrialStopped,
    _deferred,
)


def make(settings=None, pruner=None, direction="minimize"):
    study = optuna.create_study(pruner=pruner or optuna.pruners.NopPruner(), direction=direction)
    events = []
    box = Mailbox()
    trial = Trial(
        study.ask(),
        settings=settings or TrialSettings(metric="loss"),
        publish=events.append,
        mailbox=box,
    )
    return study, trial, events, box


def test_report_records_every_series_and_the_primary_goes_to_optuna():
    study, trial, events, _ = make()
    trial.report(0, loss=1.0, acc=0.5)
    trial.report(1, {"loss": 0.8, "hyper/lr": 0.01})
    trial.report(1.5, acc=0.7)  # fractional steps are fine without the primary
    assert [(e.step, e.values) for e in events] == [
        (0, {"loss": 1.0, "acc": 0.5}),
        (1, {"loss": 0.8, "hyper/lr": 0.01}),
        (1.5, {"acc": 0.7}),
    ]
    trial._close()  # without a pruner Optuna's values may wait for the trial's end
    assert study.trials[0].intermediate_values == {0: 1.0, 1: 0.8}
    assert trial.last_step == 1.5 and trial.last_primary == 0.8


def test_primary_needs_whole_steps_and_duplicates_keep_the_first():
    study, trial, events, _ = make()
    with pytest.raises(ValueError, match="whole number"):
        trial.report(0.5, loss=1.0)
    trial.report(2, loss=1.0)
    trial.report(2, loss=5.0)  # Optuna keeps the first value at a step; we keep both in series
    trial._close()
    assert study.trials[0].intermediate_values == {2: 1.0}
    assert [e.values["loss"] for e in events] == [1.0, 5.0]


def test_bad_report_records_nothing():
    _, trial, events, _ = make()
    with pytest.raises(TypeError):
        trial.report(0, loss="bad", acc=1.0)
    assert events == []


def test_suggest_publishes_new_params_once():
    _, trial, events, _ = make()
    x = trial.suggest_float("x", 0, 1)
    trial.suggest_float("x", 0, 1)
    c = trial.suggest_categorical("c", ["a", "b"])
    n = trial.suggest_int("n", 1, 3)
    assert [e.params for e in events if isinstance(e, ParamsSuggested)] == [
        {"x": x},
        {"c": c},
        {"n": n},
    ]
    assert trial.params == {"x": x, "c": c, "n": n}


def test_pruner_raises_trial_pruned_with_reason():
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=1.0))
    trial = Trial(
        study.ask(),
        settings=TrialSettings(metric="loss", pruning=True, pruner_name="threshold pruner"),
        publish=lambda e: None,
    )
    trial.report(0, loss=0.5)
    with pytest.raises(TrialPruned, match="threshold pruner at step 1"):
        trial.report(1, loss=2.0)


@pytest.mark.parametrize("control, exc", [(Prune(), TrialPruned), (Stop(), TrialStopped)])
def test_controls_take_effect_at_the_next_report(control, exc):
    _, trial, events, box = make()
    trial.report(0, loss=1.0)
    box.post(control)
    with pytest.raises(exc, match="by user"):
        trial.report(1, loss=0.9)
    assert events[1].values == {"loss": 0.9}  # the value that came with it is kept
    confirm = [e for e in events if isinstance(e, ControlApplied)]
    assert confirm[0].kind == control.kind and confirm[0].result == "applied"


def test_should_prune_sees_a_user_prune_and_raises_on_stop():
    _, trial, _, box = make()
    assert not trial.should_prune()
    box.post(Prune(source="dashboard"))
    assert trial.should_prune() and trial.end_reason == "pruned by user"
    box.post(Stop())
    with pytest.raises(TrialStopped):
        trial.should_prune()


def test_pause_holds_the_trial_until_resume():
    _, trial, events, box = make()
    box.post(Pause())
    done = threading.Event()
    threading.Thread(target=lambda: (trial.report(0, loss=1.0), done.set()), daemon=True).start()
    assert not done.wait(0.3)
    box.post(Resume())
    assert done.wait(2)
    kinds = [e.kind for e in events if isinstance(e, ControlApplied)]
    assert kinds == ["pause", "resume"]


def test_prune_while_paused_ends_the_trial():
    _, trial, _, box = make()
    box.post(Pause())
    errors = []

    def run():
        try:
            trial.report(0, loss=1.0)
        except TrialPruned as e:
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(0.2)
    box.post(Prune())
    t.join(2)
    assert len(errors) == 1


def test_deferred_values_are_converted_in_batches_and_in_order(monkeypatch):
    """Accelerator tensors wait in a buffer and are converted with one transfer per flush. CPU
    tensors stand in for GPU ones here by forcing the deferred path."""
    calls = []
    real = _deferred.resolve_deferred

    def counting(values):
        calls.append(len(values))
        return real(values)

    monkeypatch.setattr(_deferred, "resolve_deferred", counting)
    events = []
    buf = _deferred.DeferredBuffer(0, events.append, interval=0.2)
    for i in range(50):
        buf.emit(i, {"loss": torch.tensor(float(i)), "lr": 0.1}, 0.0)
    buf.emit(50, {"lr": 0.1}, 0.0)  # a plain value queues behind the deferred ones
    assert events == []
    buf.flush()
    assert calls == [50]  # one conversion for all fifty values
    assert [e.step for e in events] == list(range(51))
    assert [e.values.get("loss") for e in events[:3]] == [0.0, 1.0, 2.0]
    assert all(isinstance(v, float) for e in events for v in e.values.values())


def test_deferred_values_of_a_quiet_trial_are_flushed_in_the_background():
    events = []
    buf = _deferred.DeferredBuffer(0, events.append, interval=0.05)
    buf.emit(0, {"loss": torch.tensor(1.0)}, 0.0)
    deadline = time.monotonic() + 2
    while not events and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [e.values for e in events] == [{"loss": 1.0}]
    assert isinstance(events[0], MetricsReported)


@pytest.mark.gpu
def test_cuda_values_are_deferred_not_synchronised():
    _study, trial, events, _ = make(TrialSettings(metric=None))
    t = torch.tensor(3.0, device="cuda")
    trial.report(0, loss=t)
    t.add_(1)  # changing the tensor after reporting does not change what was reported
    trial._close()
    assert events[-1].values == {"loss": 3.0}
