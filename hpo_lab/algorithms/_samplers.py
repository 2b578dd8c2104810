"""Samplers by short name. Optuna implements them; hpo_lab only names them."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import optuna
from optuna.samplers import BaseSampler


def _gp(seed: int | None, n_obj: int) -> BaseSampler:
    return optuna.samplers.GPSampler(seed=seed)


def _cmaes(seed: int | None, n_obj: int) -> BaseSampler:
    try:
        import cmaes  # noqa: F401
    except ImportError:
        raise ImportError("sampler='cmaes' needs the cmaes package: pip install cmaes") from None
    return optuna.samplers.CmaEsSampler(seed=seed)


SAMPLERS: dict[str, tuple[str, Callable[[int | None, int], BaseSampler]]] = {
    "random": ("random search", lambda s, n: optuna.samplers.RandomSampler(seed=s)),
    "qmc": (
        "quasi-random (scrambled Sobol) search",
        lambda s, n: optuna.samplers.QMCSampler(seed=s, scramble=True),
    ),
    "tpe": (
        "tree-structured Parzen estimator (Bayesian; multi-objective too)",
        lambda s, n: optuna.samplers.TPESampler(seed=s, multivariate=True, constant_liar=True),
    ),
    "gp": ("Gaussian-process Bayesian optimisation", _gp),
    "cmaes": ("CMA-ES evolution strategy", _cmaes),
    "nsga2": (
        "NSGA-II genetic algorithm (multi-objective)",
        lambda s, n: optuna.samplers.NSGAIISampler(seed=s),
    ),
    "nsga3": (
        "NSGA-III genetic algorithm (many objectives)",
        lambda s, n: optuna.samplers.NSGAIIISampler(seed=s),
    ),
}


def make_sampler(sampler: Any, *, seed: int | None = None, n_objectives: int = 1) -> BaseSampler:
    """An Optuna sampler from a short name (see :data:`SAMPLERS`), an instance, or None.

    None gives Optuna's own default (TPE for one objective, NSGA-II for several).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
        TypeError: neither a name nor an Optuna sampler.
    """
    if sampler is None:
        sampler = "tpe" if n_objectives == 1 else "nsga2"
    if isinstance(sampler, BaseSampler):
        return sampler
    if isinstance(sampler, str):
        key = sampler.strip().lower().replace("-", "").replace("_", "")
        if key in SAMPLERS:
            with warnings.catch_warnings():  # we chose the settings; spare the user the notice
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return SAMPLERS[key][1](seed, n_objectives)
        raise ValueError(
            f"unknown sampler {sampler!r}; expected one of {sorted(SAMPLERS)} or an Optuna "
            "sampler instance (optuna.samplers.*)"
        )
    raise TypeError(
        f"sampler must be a name ({', '.join(sorted(SAMPLERS))}) or an optuna.samplers.BaseSampler,"
        f" got {type(sampler).__name__}: {sampler!r}"
    )
