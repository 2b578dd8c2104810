import math

import numpy as np
import pytest
import torch

from hpo_lab.trial import check_step, convert_metrics, objective_values


@pytest.mark.parametrize(
    "step, expected", [(0, 0), (3, 3), (2.0, 2), (2.5, 2.5), (np.int64(4), 4), (torch.tensor(5), 5)]
)
def test_steps(step, expected):
    out = check_step(step)
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize(
    "step, exc, match",
    [
        ("3", TypeError, "step must be a number"),
        (None, TypeError, "step must be a number"),
        (True, TypeError, "step must be a number"),
        (math.nan, ValueError, "finite"),
        (math.inf, ValueError, "finite"),
        (-1, ValueError, ">= 0"),
        (torch.ones(2), ValueError, "single number"),
    ],
)
def test_bad_steps(step, exc, match):
    with pytest.raises(exc, match=match):
        check_step(step)


def test_values_of_every_kind():
    out = convert_metrics(
        {"a": 1, "b": np.float32(0.5)},
        {"c": torch.tensor(2.5), "d": torch.tensor([3.0]), "e": np.array(4.0), "f": math.nan},
    )
    assert out["a"] == 1.0 and out["b"] == 0.5 and out["c"] == 2.5 and out["d"] == 3.0
    assert out["e"] == 4.0 and math.isnan(out["f"])
    assert all(isinstance(v, float) for v in out.values())  # CPU tensors are read at once


def test_tensor_with_grad_is_detached():
    x = torch.tensor(2.0, requires_grad=True)
    assert convert_metrics(None, {"loss": x * 3})["loss"] == 6.0


@pytest.mark.parametrize(
    "metrics, named, exc, match",
    [
        (None, {}, ValueError, "at least one metric"),
        (0.5, {}, TypeError, "Optuna's report"),
        ({"a": 1}, {"a": 2}, ValueError, "given twice"),
        ({"": 1}, {}, TypeError, "non-empty strings"),
        (None, {"a": "x"}, TypeError, "metric 'a' must be a number"),
        (None, {"a": None}, TypeError, "metric 'a'"),
        (None, {"a": torch.ones(3)}, ValueError, "reduce it first"),
        (None, {"a": np.ones(2)}, ValueError, "single number"),
    ],
)
def test_bad_metrics(metrics, named, exc, match):
    with pytest.raises(exc, match=match):
        convert_metrics(metrics, named)


def test_objective_values():
    assert objective_values(1, 1, None) == (1.0,)
    assert objective_values(torch.tensor(0.5), 1, None) == (0.5,)
    assert objective_values((1, 2), 2, None) == (1.0, 2.0)
    assert objective_values({"b": 2, "a": 1}, 2, ["a", "b"]) == (1.0, 2.0)


@pytest.mark.parametrize(
    "result, n, names, match",
    [
        (None, 1, None, "returned None"),
        (math.nan, 1, None, "non-finite"),
        (math.inf, 1, None, "non-finite"),
        ((1, 2), 1, None, "2 value"),
        ({"a": 1}, 1, None, "not named"),
        ({"a": 1}, 2, ["a", "b"], "lacks"),
        ("x", 1, None, "must be a number"),
    ],
)
def test_bad_objective_values(result, n, names, match):
    with pytest.raises((ValueError, TypeError), match=match):
        objective_values(result, n, names)
