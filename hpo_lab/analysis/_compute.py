"""One-shot helpers on a whole study: its Pareto-front data and a default reference point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpo_lab.analysis._data import ParetoFrontData
from hpo_lab.analysis._directions import check_values, parse_directions
from hpo_lab.analysis._front import IncrementalFront


def pareto_front_data(
    study: Any, *, reference_point: Sequence[float] | None = None
) -> ParetoFrontData:
    """The Pareto-front data of an ``optuna.Study`` or an ``hl.Session`` (compute, then draw).

    Example:
        >>> import optuna
        >>> study = optuna.create_study(directions=["minimize", "maximize"])
        >>> for x in (1.0, 2.0, 3.0):
        ...     _ = study.add_trial(optuna.trial.create_trial(values=[x, x * x % 5]))
        >>> data = pareto_front_data(study, reference_point=[4.0, 0.0])
        >>> [p.number for p in data.front], data.hypervolume
        ([0, 1], 9.0)
    """
    return IncrementalFront.from_study(study, reference_point=reference_point).data()


def suggest_reference_point(
    values: Sequence[Sequence[float]],
    directions: Sequence[Any] | Mapping[str, Any],
    margin: float = 0.1,
) -> tuple[float, ...]:
    """A reference point just worse than every given point: the worst value of each objective,
    moved outwards by ``margin`` times the objective's range (or its magnitude when the range
    is zero, at least ``margin``).

    Example:
        >>> suggest_reference_point([[0.1, 100.0], [0.3, 50.0]], ["minimize", "maximize"])
        (0.32, 45.0)

    Raises:
        ValueError: no values, or ``margin`` is negative.
    """
    dirs, _ = parse_directions(directions)
    if not (isinstance(margin, (int, float)) and margin >= 0):
        raise ValueError(f"margin must be a number >= 0, got {margin!r}")
    rows = [check_values(v, len(dirs), f"values[{i}]") for i, v in enumerate(values)]
    if not rows:
        raise ValueError("values must hold at least one point to place a reference point")
    arr = np.array(rows)
    out = []
    for k, d in enumerate(dirs):
        col = arr[:, k]
        span = float(col.max() - col.min()) or max(abs(float(col.max())), 1.0)
        worst = float(col.max()) if d == "minimize" else float(col.min())
        step = margin * span
        out.append(round(worst + step if d == "minimize" else worst - step, 12))
    return tuple(out)
