"""The small-data paper reproductions run fast and reproduce the qualitative results."""

from __future__ import annotations

import numpy as np
import pytest

from hpo_lab.examples.hyper_cleaning import (
    compare_learning_curves,
    hyper_cleaning,
    load_digits_split,
)


@pytest.mark.parametrize(
    ("settings", "min_gain", "min_f1"),
    [
        ({"method": "reverse", "truncate": 10}, 0.2, 0.85),
        ({"method": "implicit", "final_steps": 200}, 0.15, 0.7),
    ],
    ids=["reverse-truncated", "implicit"],
)
def test_hyper_cleaning_finds_the_flipped_labels(settings, min_gain, min_f1):
    r = hyper_cleaning(n_train=400, n_val=100, outer_steps=20, inner_steps=30, seed=0, **settings)
    assert r.flipped.sum() == 200 and r.weights.shape == (400,)
    assert r.test_acc_cleaned > r.test_acc_noisy + min_gain
    assert r.test_acc_oracle > r.test_acc_noisy + min_gain
    assert r.f1 > min_f1
    flagged = r.weights < 0.5
    hits = (flagged & r.flipped).sum()
    assert r.precision == pytest.approx(hits / flagged.sum())
    assert r.recall == pytest.approx(hits / r.flipped.sum())
    assert r.f1 == pytest.approx(2 * r.precision * r.recall / (r.precision + r.recall))
    assert len(r.val_losses) == len(r.history) == 20
    assert r.val_losses[-1] < 0.5 * r.val_losses[0]
    assert {"hyper/example_logit/mean", "hypergrad/example_logit/norm"} <= set(r.history[-1])
    # Flipped examples end with much smaller weights than clean ones.
    assert np.median(r.weights[r.flipped]) < 0.2 < 0.8 < np.median(r.weights[~r.flipped])


def test_hyper_cleaning_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"method must be 'reverse' or 'implicit', got 'forward'"):
        hyper_cleaning(method="forward")
    with pytest.raises(ValueError, match=r"flip_fraction must be in \(0, 1\), got 1\.5"):
        hyper_cleaning(flip_fraction=1.5)
    with pytest.raises(ValueError, match=r"n_train=1700, n_val=200"):
        load_digits_split(1700, 200)


def test_learning_curves_are_per_epoch_and_reproducible():
    a = compare_learning_curves(optimizers=("adam", "adam_hd"), epochs=2, n_train=300, n_val=100)
    b = compare_learning_curves(optimizers=("adam", "adam_hd"), epochs=2, n_train=300, n_val=100)
    assert a.epochs == [1, 2]
    for name in ("adam", "adam_hd"):
        assert {k: len(v) for k, v in a.curves[name].items()} == dict.fromkeys(
            ("train_loss", "val_loss", "val_acc", "lr"), 2
        )
        assert a.curves[name] == b.curves[name]
        assert a.curves[name]["val_loss"][1] < a.curves[name]["val_loss"][0]
    assert a.curves["adam"]["lr"] == [1e-3, 1e-3]
    assert a.curves["adam_hd"]["lr"][-1] != pytest.approx(1e-3, rel=1e-9)
    with pytest.raises(ValueError, match=r"optimizers must be names from"):
        compare_learning_curves(optimizers=("rmsprop",))


def test_hyper_cleaning_reports_the_outer_trace_to_a_trial():
    class Recorder:
        def __init__(self):
            self.calls = []

        def report(self, step, metrics):
            self.calls.append((step, {k: float(v) for k, v in metrics.items()}))

    trial = Recorder()
    r = hyper_cleaning(n_train=200, n_val=50, outer_steps=3, inner_steps=10, trial=trial)
    assert [step for step, _ in trial.calls] == [0, 1, 2]
    for (_, m), losses, trace in zip(trial.calls, r.val_losses, r.history):
        assert set(m) == {
            "hyper/example_logit/mean",
            "hyper/example_logit/min",
            "hyper/example_logit/max",
            "hypergrad/example_logit/norm",
            "hypergrad_norm",
            "outer_loss",
        }
        assert m["outer_loss"] == pytest.approx(losses)
        assert m["hypergrad/example_logit/norm"] == pytest.approx(
            float(trace["hypergrad/example_logit/norm"])
        )
    assert "trial" not in r.config


def test_hyper_cleaning_in_a_session_streams_its_trace(tmp_path):
    import hpo_lab as hl

    def objective(trial):
        outer_lr = trial.suggest_float("outer_lr", 0.1, 1.0, log=True)
        r = hyper_cleaning(
            n_train=200, n_val=50, outer_steps=3, inner_steps=10, outer_lr=outer_lr, trial=trial
        )
        return r.val_losses[-1]

    s = hl.Session(
        objective,
        name="hc",
        metric="outer_loss",
        pruner="none",
        storage=tmp_path / "r",
        progress=False,
        seed=0,
    )
    s.start(2).wait()
    for t in s.trials:
        m = s.metrics(t.number)
        assert list(m.index) == [0, 1, 2]
        assert m["outer_loss"].iloc[-1] == pytest.approx(t.value)
