"""FixedTrial: the fixed values, Optuna's vocabulary, reports and clear errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import hpo_lab as hl
from hpo_lab.examples.digits import digits_objective


def test_suggest_returns_fixed_values_and_records_distributions() -> None:
    trial = hl.FixedTrial({"lr": 0.01, "layers": 2, "act": "relu"}, number=3, verbose=False)
    assert trial.suggest_float("lr", 1e-4, 1.0, log=True) == 0.01
    layers = trial.suggest_int("layers", 1, 3)
    assert layers == 2 and isinstance(layers, int)
    assert trial.suggest_categorical("act", ["relu", "tanh"]) == "relu"
    assert trial.params == {"lr": 0.01, "layers": 2, "act": "relu"}
    assert trial.distributions["lr"].log is True
    assert trial.number == 3
    assert trial.should_prune() is False


def test_unknown_parameter_names_the_known_ones() -> None:
    trial = hl.FixedTrial({"lr": 0.01, "hidden": 32})
    with pytest.raises(KeyError, match="no value for parameter 'dropout'; it has: 'lr', 'hidden'"):
        trial.suggest_float("dropout", 0, 0.5)


def test_out_of_range_and_wrong_kinds() -> None:
    trial = hl.FixedTrial({"lr": 5.0, "layers": 2.5, "act": "gelu"}, verbose=False)
    with pytest.warns(UserWarning, match=r"'lr' is fixed to 5.0, outside its range \[0.0, 1.0\]"):
        assert trial.suggest_float("lr", 0.0, 1.0) == 5.0
    with pytest.raises(ValueError, match=r"'layers' is fixed to 2\.5, not an integer"):
        trial.suggest_int("layers", 1, 3)
    with pytest.warns(UserWarning, match="not among the choices"):
        assert trial.suggest_categorical("act", ["relu"]) == "gelu"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"params": [("x", 1)]}, TypeError, "params must be a dict"),
        ({"params": {1: 2}}, TypeError, "parameter names must be non-empty strings"),
        ({"params": {}, "number": -1}, ValueError, "number must be a trial number"),
        ({"params": {}, "number": True}, ValueError, "number must be a trial number"),
    ],
)
def test_bad_arguments(kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        hl.FixedTrial(**kwargs)


def test_report_records_prints_and_accepts_tensors(capsys: pytest.CaptureFixture) -> None:
    trial = hl.FixedTrial({}, device="cpu")
    trial.report(0, loss=torch.tensor(0.5), acc=np.float32(0.25))
    trial.report(1, {"hyper/lr": 0.1}, loss=0.25)
    assert trial.series == {"loss": {0: 0.5, 1: 0.25}, "acc": {0: 0.25}, "hyper/lr": {1: 0.1}}
    assert trial.last_step == 1
    assert capsys.readouterr().out == "step 0: loss=0.5 acc=0.25\nstep 1: hyper/lr=0.1 loss=0.25\n"
    with pytest.raises(ValueError, match="report needs at least one metric"):
        trial.report(2)
    with pytest.raises(ValueError, match="step must be >= 0"):
        trial.report(-1, loss=1.0)


def test_device_auto_and_attrs() -> None:
    trial = hl.FixedTrial({}, user_attrs={"parent": 4, "checkpoint": "c.pt"})
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert trial.device.type == expected
    assert trial.user_attrs == {"parent": 4, "checkpoint": "c.pt"}
    trial.set_user_attr("note", "x")
    assert trial.user_attrs["note"] == "x"
    assert repr(trial) == "FixedTrial(number=0, params={})"


def test_runs_the_digits_objective_like_the_session_does() -> None:
    params = {"lr": 0.05, "hidden": 32, "layers": 1, "dropout": 0.1, "weight_decay": 1e-4}
    a = hl.FixedTrial(params, number=5, device="cpu", verbose=False)
    b = hl.FixedTrial(params, number=5, device="cpu", verbose=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every value is in range
        va = digits_objective(a, epochs=2)
    vb = digits_objective(b, epochs=2)
    assert va == vb  # the trial number seeds the run
    assert sorted(a.series) == ["train_loss", "val_acc", "val_loss"]
    assert a.series["val_loss"][1] == pytest.approx(va)
