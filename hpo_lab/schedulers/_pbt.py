"""Population-based training (Jaderberg et al. 2017), asynchronous, built on fork.

Every ``interval`` steps, a member in the bottom ``quantile`` of the population (ranked by the
latest value of the session's metric) is replaced: *exploit* — a fork of a member from the top
quantile, starting from that member's latest checkpoint; *explore* — its hyperparameters
perturbed (floats and ints scaled by a random factor from ``perturb``, categoricals moved to a
neighbouring choice) or, with probability ``resample_probability``, drawn afresh. The replaced
trial ends PRUNED (reason ``"pbt: replaced by a fork of trial N"``); each fork is a new trial
whose lineage (``parent``, ``fork_step``, ``pbt_generation``) shows the generations.

The objective must save a checkpoint at least every ``interval`` steps and start from
``trial.load_checkpoint()`` when there is one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from hpo_lab.events import Event, MetricsReported, TrialFinished, TrialStarted
from hpo_lab.schedulers._base import BaseScheduler

_logger = logging.getLogger(__name__)


class PBT(BaseScheduler):
    """Population-based training as a session scheduler.

    Args:
        population: how many members train at once (start the session with
            ``n_trials=population`` and ``n_workers >= population``).
        interval: steps between exploit/explore decisions of a member.
        quantile: fraction of the population that is replaced (bottom) / copied (top).
        perturb: factors a numeric hyperparameter is multiplied by (one chosen at random).
        resample_probability: chance of drawing a hyperparameter afresh instead.
        hyperparams: which parameters to explore (default: all).
        seed: random seed.

    Example:
        >>> import hpo_lab as hl
        >>> pbt = hl.PBT(population=8, interval=2, quantile=0.25)
        >>> # hl.Session(objective, metric="val_loss", scheduler=pbt, n_workers=8).start(8)
    """

    name = "pbt"

    def __init__(
        self,
        population: int = 8,
        interval: int = 4,
        quantile: float = 0.25,
        perturb: Sequence[float] = (0.8, 1.2),
        resample_probability: float = 0.25,
        hyperparams: Sequence[str] | None = None,
        seed: int | None = None,
    ) -> None:
        if isinstance(population, bool) or not isinstance(population, int) or population < 2:
            raise ValueError(f"population must be an integer >= 2, got {population!r}")
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise ValueError(f"interval must be a positive number of steps, got {interval!r}")
        if not 0 < quantile <= 0.5:
            raise ValueError(f"quantile must be in (0, 0.5], got {quantile!r}")
        if not perturb or any(not (isinstance(f, (int, float)) and f > 0) for f in perturb):
            raise ValueError(f"perturb must be positive factors, got {perturb!r}")
        if not 0 <= resample_probability <= 1:
            raise ValueError(
                f"resample_probability must be in [0, 1], got {resample_probability!r}"
            )
        self.population = population
        self.interval = interval
        self.quantile = quantile
        self.perturb = tuple(float(f) for f in perturb)
        self.resample_probability = resample_probability
        self.hyperparams = None if hyperparams is None else tuple(hyperparams)
        self._rng = np.random.default_rng(seed)
        self._running: set[int] = set()
        self._next: dict[int, float] = {}  # each member's next decision boundary
        self._at: dict[float, dict[int, float]] = {}  # boundary -> member -> metric value there
        self._replaced: set[int] = set()
        self.decisions: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ events
    def on_events(self, events: Sequence[Event]) -> None:
        metric = self.controls.metric
        for e in events:
            if isinstance(e, TrialStarted):
                self._running.add(e.number)
                start = self.controls.user_attrs(e.number).get("fork_step")
                first = 0.0 if start is None else float(start)
                self._next[e.number] = (math.floor(first / self.interval) + 1) * self.interval
            elif isinstance(e, MetricsReported) and metric in e.values:
                v = e.values[metric]
                nxt = self._next.get(e.number)
                if nxt is None or e.step < nxt or not math.isfinite(v):
                    continue
                boundary = math.floor(e.step / self.interval) * self.interval
                self._next[e.number] = boundary + self.interval
                self._at.setdefault(boundary, {})[e.number] = v
                if e.number not in self._replaced:
                    self._decide(e.number, boundary)
            elif isinstance(e, TrialFinished):
                self._running.discard(e.number)

    # ------------------------------------------------------------------ decisions
    def _decide(self, number: int, boundary: float) -> None:
        """Rank the members that reached ``boundary`` by their value there (a fair comparison
        whatever their speed); replace ``number`` if it is in the bottom quantile."""
        at = self._at[boundary]
        if len(at) < max(2, self.population // 2):
            return  # too few members got this far to judge
        ranked = sorted(at, key=at.get, reverse=self.controls.maximize)  # best first
        k = max(1, round(len(ranked) * self.quantile))
        if number not in ranked[-k:]:
            return
        donors = [n for n in ranked[:k] if n != number and n in self._running]
        if not donors:
            return
        donor = int(self._rng.choice(donors))
        steps = self.controls.checkpoint_steps(donor)
        if not steps:
            _logger.info("pbt: trial %d has no checkpoint to copy yet", donor)
            return
        overrides = self._explore(self.controls.params(donor), self.controls.distributions(donor))
        gen = int(self.controls.user_attrs(donor).get("pbt_generation", 0)) + 1
        reason = f"pbt: replaced by a fork of trial {donor}"
        self._replaced.add(number)
        if not self.controls.prune(number, reason):
            return  # it ended first: no replacement needed
        child = self.controls.fork(
            donor, overrides, max(steps), {"pbt_generation": gen, "pbt_replaces": number}
        )
        self.decisions.append(
            {
                "replaced": number,
                "donor": donor,
                "child": child,
                "step": max(steps),
                "boundary": boundary,
                "overrides": overrides,
                "generation": gen,
            }
        )

    def _explore(self, params: dict[str, Any], dists: dict[str, BaseDistribution]) -> dict:
        out = {}
        for name, value in params.items():
            if self.hyperparams is not None and name not in self.hyperparams:
                continue
            dist = dists[name]
            if self._rng.random() < self.resample_probability:
                out[name] = _draw(dist, self._rng)
            else:
                out[name] = _perturb(value, dist, self.perturb, self._rng)
        return out


def _draw(dist: BaseDistribution, rng: np.random.Generator) -> Any:
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(rng.integers(len(dist.choices)))]
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    if dist.log:
        v = math.exp(rng.uniform(math.log(dist.low), math.log(dist.high)))
    else:
        v = rng.uniform(dist.low, dist.high)
    return _snap(v, dist)


def _perturb(value: Any, dist: BaseDistribution, factors: tuple[float, ...], rng) -> Any:
    if isinstance(dist, CategoricalDistribution):
        i = dist.choices.index(value) + int(rng.choice([-1, 1]))
        return dist.choices[min(max(i, 0), len(dist.choices) - 1)]
    return _snap(value * float(rng.choice(factors)), dist)


def _snap(v: float, dist: BaseDistribution) -> Any:
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    v = min(max(v, dist.low), dist.high)
    if dist.step is not None:
        v = dist.low + round((v - dist.low) / dist.step) * dist.step
        v = min(max(v, dist.low), dist.high)
    return round(v) if isinstance(dist, IntDistribution) else float(v)
