"""Pruners by short name. Optuna implements them; hpo_lab only names them.

``"asha"`` is Optuna's ``SuccessiveHalvingPruner`` (asynchronous successive halving);
``"sha"`` is the same rule with ``bootstrap_count`` set, so that a rung promotes only once
enough trials reached it (closer to synchronous successive halving); ``"hyperband"`` runs several
such brackets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
from optuna.pruners import BasePruner

PRUNERS: dict[str, tuple[str, Callable[[], BasePruner]]] = {
    "none": ("no pruning", optuna.pruners.NopPruner),
    "median": (
        "median stopping rule (after 5 trials, 2 warm-up steps)",
        lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
    ),
    "percentile": (
        "stop below the 25th percentile",
        lambda: optuna.pruners.PercentilePruner(25.0, n_startup_trials=5, n_warmup_steps=2),
    ),
    "sha": (
        "successive halving, rungs filled before promotion",
        lambda: optuna.pruners.SuccessiveHalvingPruner(
            min_resource=1, reduction_factor=3, bootstrap_count=3
        ),
    ),
    "asha": (
        "asynchronous successive halving",
        lambda: optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
    ),
    "hyperband": (
        "Hyperband (several successive-halving brackets)",
        lambda: optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=3),
    ),
    "wilcoxon": (
        "Wilcoxon signed-rank test against the best trial (per-instance steps)",
        lambda: optuna.pruners.WilcoxonPruner(),
    ),
}

_LABELS = {
    optuna.pruners.NopPruner: "no pruner",
    optuna.pruners.MedianPruner: "median pruner",
    optuna.pruners.PercentilePruner: "percentile pruner",
    optuna.pruners.SuccessiveHalvingPruner: "successive-halving pruner",
    optuna.pruners.HyperbandPruner: "Hyperband pruner",
    optuna.pruners.WilcoxonPruner: "Wilcoxon pruner",
    optuna.pruners.ThresholdPruner: "threshold pruner",
    optuna.pruners.PatientPruner: "patient pruner",
}


def make_pruner(pruner: Any) -> BasePruner:
    """An Optuna pruner from a short name (see :data:`PRUNERS`), an instance, or None (none).

    Raises:
        ValueError: an unknown name (the message lists the valid ones).
        TypeError: neither a name nor an Optuna pruner.
    """
    if pruner is None:
        return optuna.pruners.NopPruner()
    if isinstance(pruner, BasePruner):
        return pruner
    if isinstance(pruner, str):
        key = pruner.strip().lower()
        if key in PRUNERS:
            return PRUNERS[key][1]()
        raise ValueError(
            f"unknown pruner {pruner!r}; expected one of {sorted(PRUNERS)} or an Optuna pruner "
            "instance (optuna.pruners.*)"
        )
    raise TypeError(
        f"pruner must be a name ({', '.join(sorted(PRUNERS))}) or an optuna.pruners.BasePruner, "
        f"got {type(pruner).__name__}: {pruner!r}"
    )


def pruner_label(pruner: BasePruner) -> str:
    """A readable name for reasons: ``"median pruner"``."""
    return _LABELS.get(type(pruner), f"{type(pruner).__name__}")


def is_nop(pruner: BasePruner) -> bool:
    """Whether ``pruner`` never prunes."""
    return isinstance(pruner, optuna.pruners.NopPruner)
