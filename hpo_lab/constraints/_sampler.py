"""`ConstrainedSampler`: any Optuna sampler, kept inside the session's parameter constraints.

The wrapped sampler keeps its whole history (nothing is reset): ranges are narrowed in the
search space it is asked to sample (relative and independent), restricted categoricals and fixed
values are taken out of its relative space and drawn here (restricted choices by asking the
sampler again until it proposes an allowed one, then uniformly among them), and every value is
checked before it is returned, so constrained trials never leave the constrained space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from hpo_lab.constraints._source import ConstraintSource

_REJECTION_TRIES = 16


def _clip(dist: BaseDistribution, value: Any) -> Any:
    if isinstance(dist, IntDistribution):
        return int(min(max(int(value), dist.low), dist.high))
    if isinstance(dist, FloatDistribution):
        return float(min(max(float(value), dist.low), dist.high))
    return value


class ConstrainedSampler(BaseSampler):
    """Wrap ``base`` so that every sample respects ``source.current()``'s parameter constraints."""

    def __init__(self, base: BaseSampler, source: ConstraintSource, seed: int | None = None):
        self.base = base
        self.source = source
        self._rng = np.random.default_rng(seed)

    def __repr__(self) -> str:
        return f"ConstrainedSampler({self.base!r})"

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space = self.base.infer_relative_search_space(study, trial)
        params = self.source.current().params
        if not params:
            return space
        out = {}
        for name, dist in space.items():
            c = params.get(name)
            if c is None:
                out[name] = dist
            elif c.kind == "range":
                try:
                    out[name] = c.narrow(dist)
                except ValueError:
                    continue  # sampled independently, where the error is reported
        return out

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        sampled = self.base.sample_relative(study, trial, search_space)
        return {k: _clip(search_space[k], v) for k, v in sampled.items() if k in search_space}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        c = self.source.current().params.get(param_name)
        if c is None:
            return self.base.sample_independent(study, trial, param_name, param_distribution)
        c.check_against(param_distribution)  # a clear error (and a FAIL reason) if it cannot fit
        if c.is_fixed:
            return c.fixed
        if c.choices is not None:
            allowed = [x for x in param_distribution.choices if x in c.choices]
            for _ in range(_REJECTION_TRIES):
                v = self.base.sample_independent(study, trial, param_name, param_distribution)
                if v in allowed:
                    return v
            return allowed[int(self._rng.integers(len(allowed)))]
        narrowed = c.narrow(param_distribution)
        v = self.base.sample_independent(study, trial, param_name, narrowed)
        return _clip(narrowed, v)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self.base.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()
        self._rng = np.random.default_rng()


def unwrap(sampler: BaseSampler) -> BaseSampler:
    """The sampler inside a :class:`ConstrainedSampler` (or the sampler itself)."""
    return sampler.base if isinstance(sampler, ConstrainedSampler) else sampler


def evaluate_outcomes(
    ot: optuna.Trial,
    constraints: Any,
    values: Sequence[float] | None,
    objective_names: Sequence[str] | None,
    last_values: dict[str, float],
) -> dict[str, float]:
    """Record each outcome constraint's violation on the trial (Optuna's ``set_constraint``,
    which constraint-aware samplers read). Returns ``{constraint: violation}``."""
    out = {}
    for oc in constraints.outcomes:
        value: float | None = None
        if values is not None and objective_names and oc.name in objective_names:
            value = values[list(objective_names).index(oc.name)]
        elif oc.name in last_values:
            value = last_values[oc.name]
        elif isinstance(ot.user_attrs.get(oc.name), (int, float)):
            value = float(ot.user_attrs[oc.name])
        v = oc.violation(value)
        ot.set_constraint(oc.key, v if math.isfinite(v) else 1e300)
        out[oc.key] = v
    return out
