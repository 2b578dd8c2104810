"""Forking: a new trial with a parent's parameters (some overridden) that starts from the
parent's checkpoint. Lineage is kept in the child's user attributes, so plain Optuna sees it:
``parent`` (trial number), ``fork_step`` (the checkpoint's step), ``checkpoint`` (its key)."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial, TrialState

PRIORITY_ATTR = "hpo_lab:priority"


def _check_value(name: str, value: Any, dist: BaseDistribution) -> Any:
    if isinstance(dist, CategoricalDistribution):
        if value not in dist.choices:
            raise ValueError(
                f"overrides[{name!r}]={value!r} is not one of its choices {list(dist.choices)!r}"
            )
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"overrides[{name!r}] must be a number, got {type(value).__name__}: {value!r}"
        )
    if isinstance(dist, IntDistribution):
        if not float(value).is_integer():
            raise TypeError(f"overrides[{name!r}] must be an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    if not dist._contains(dist.to_internal_repr(value)):
        grid = f" on a grid of step {dist.step:g}" if dist.step not in (None, 1) else ""
        where = f"[{dist.low:g}, {dist.high:g}]{grid}"
        raise ValueError(f"overrides[{name!r}]={value!r} is outside its range {where}")
    return value


def check_overrides(parent: FrozenTrial, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """``overrides`` checked against the parent's search space.

    Raises:
        ValueError / TypeError: unknown name, value out of range, wrong type.
    """
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise TypeError(f"overrides must be a dict of parameter values, got {overrides!r}")
    out = {}
    for name, value in overrides.items():
        if name not in parent.distributions:
            raise ValueError(
                f"overrides: trial {parent.number} has no parameter {name!r}; its parameters are "
                f"{sorted(parent.distributions)}"
            )
        out[name] = _check_value(name, value, parent.distributions[name])
    return out


def enqueue_fork(
    study: optuna.Study,
    parent: FrozenTrial,
    params: dict[str, Any],
    step: float,
    key: str,
    extra_attrs: Mapping[str, Any] | None = None,
) -> tuple[int, int]:
    """Create the child trial (WAITING, parameters fixed) and return ``(number, trial_id)``."""
    user_attrs = {
        "parent": parent.number,
        "fork_step": step,
        "checkpoint": key,
        **(extra_attrs or {}),
    }
    template = optuna.trial.create_trial(
        state=TrialState.WAITING,
        system_attrs={"fixed_params": params, PRIORITY_ATTR: True},
        user_attrs=user_attrs,
    )
    storage = study._storage
    trial_id = storage.create_new_trial(study._study_id, template_trial=template)
    return storage.get_trial_number_from_id(trial_id), trial_id
