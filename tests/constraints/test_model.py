import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from hpo_lab.constraints import (
    Constraints,
    OutcomeConstraint,
    ParamConstraint,
    make_param_constraint,
    parse_outcome,
)


def test_narrow_float_int_step_and_log():
    c = ParamConstraint("x", low=0.2, high=0.7)
    assert c.narrow(FloatDistribution(0, 1)) == FloatDistribution(0.2, 0.7)
    assert c.narrow(FloatDistribution(0, 1, step=0.25)) == FloatDistribution(0.25, 0.5, step=0.25)
    assert ParamConstraint("n", low=2.5, high=9).narrow(
        IntDistribution(1, 19, step=2)
    ) == IntDistribution(3, 9, step=2)
    assert ParamConstraint("lr", low=1e-3).narrow(
        FloatDistribution(1e-5, 1, log=True)
    ) == FloatDistribution(1e-3, 1, log=True)
    with pytest.raises(ValueError, match="leaves no value"):
        ParamConstraint("x", low=2, high=3).narrow(FloatDistribution(0, 1))


def test_check_against():
    ParamConstraint("c", choices=("a",)).check_against(CategoricalDistribution(["a", "b"]))
    with pytest.raises(ValueError, match=r"\['z'\] not among the choices"):
        ParamConstraint("c", choices=("a", "z")).check_against(CategoricalDistribution(["a", "b"]))
    with pytest.raises(ValueError, match="is categorical"):
        ParamConstraint("c", low=0).check_against(CategoricalDistribution(["a", "b"]))
    with pytest.raises(ValueError, match="not a value of"):
        ParamConstraint("x", fixed=5.0).check_against(FloatDistribution(0, 1))
    ParamConstraint("x", fixed=0.5).check_against(FloatDistribution(0, 1))


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        ({}, ValueError, "takes one of"),
        ({"low": 1, "choices": [1]}, ValueError, "takes one of"),
        ({"low": 2, "high": 1}, ValueError, "low must be <= high"),
        ({"low": "a"}, TypeError, "low must"),
        ({"choices": []}, ValueError, "must not be empty"),
        ({"choices": "ab"}, TypeError, "choices"),
    ],
)
def test_bad_param_constraints(kw, exc, match):
    with pytest.raises(exc, match=match):
        make_param_constraint("x", **kw)


def test_outcome_parsing_and_violation():
    c = parse_outcome("model_params <= 1e6")
    assert c == OutcomeConstraint("model_params", "<=", 1e6)
    assert c.violation(5e5) < 0 < c.violation(2e6) and c.violation(None) == float("inf")
    assert parse_outcome("acc>=0.9").violation(0.95) == pytest.approx(-0.05)
    for bad in ("x", "x <= abc", "<= 3", "x <= inf"):
        with pytest.raises(ValueError):
            parse_outcome(bad)


def test_constraints_set_roundtrip_and_relax():
    c = (
        Constraints()
        .with_param(ParamConstraint("lr", low=0.1))
        .with_outcome(parse_outcome("a <= 1"))
    )
    c = c.with_param(ParamConstraint("opt", choices=("adam",))).with_outcome(
        parse_outcome("a <= 2")
    )
    assert c.describe() == ["lr in [0.1, inf]", "opt in ['adam']", "a <= 2"]
    assert Constraints.from_json(c.to_json()) == c
    c2, removed = c.without("a <= 2")
    assert removed == ["a <= 2"] and c2.describe() == ["lr in [0.1, inf]", "opt in ['adam']"]
    c3, removed = c2.without(None)
    assert not c3 and len(removed) == 2 and c3.version > c2.version > c.version
