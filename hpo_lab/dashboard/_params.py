"""How parameters relate to the objective: one axis per parameter, for parallel coordinates and
per-parameter slices, computed from the model's complete trials."""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np
from optuna.distributions import FloatDistribution, IntDistribution

from ._hover import fmt_value
from ._model import DashboardModel


class ParamAxis(NamedTuple):
    """One parameter's values over the trials of a :class:`ParamsData`.

    Attributes:
        name: The parameter.
        kind: ``"float"``, ``"int"`` or ``"categorical"``.
        log: Whether its distribution is logarithmic (values are then shown on a log axis).
        values: A value per trial (NaN where a trial has none); categorical parameters hold the
            index of their category.
        categories: The categories' labels (categorical parameters only).
    """

    name: str
    kind: str
    log: bool
    values: np.ndarray
    categories: tuple[str, ...] | None


class ParamsData(NamedTuple):
    """What the parameter views draw.

    Attributes:
        objective: The objective's label (the first, for several).
        direction: Its direction.
        numbers: The complete trials shown.
        values: Their (first) objective values.
        axes: One per parameter, in order of appearance.
        best: The best trial's number, if any.
        selected: The selected trial's number, if it is shown.
        message: What to say instead, when there is nothing to draw.
    """

    objective: str
    direction: str
    numbers: np.ndarray
    values: np.ndarray
    axes: tuple[ParamAxis, ...]
    best: int | None
    selected: int | None
    message: str | None


def params_data(model: DashboardModel, *, selected: int | None = None) -> ParamsData:
    """Computes every parameter's values over the complete trials.

    Example:
        >>> from hpo_lab.events import TrialFinished
        >>> m = DashboardModel("demo", ["minimize"])
        >>> _ = m.apply([TrialFinished(0, "COMPLETE", (1.0,), params={"lr": 0.1, "opt": "sgd"}),
        ...              TrialFinished(1, "COMPLETE", (0.5,), params={"lr": 0.01, "opt": "adam"})])
        >>> data = params_data(m)
        >>> [(a.name, a.kind, a.values.tolist(), a.categories) for a in data.axes]
        [('lr', 'float', [0.1, 0.01], None), ('opt', 'categorical', [0.0, 1.0], ('sgd', 'adam'))]
    """
    rows = [
        (n, t)
        for n, t in sorted(model.trials.items())
        if t.state == "COMPLETE" and t.values and math.isfinite(t.values[0])
    ]
    numbers = np.asarray([n for n, _ in rows], dtype=np.int64)
    values = np.asarray([t.values[0] for _, t in rows], dtype=np.float64)
    axes = tuple(
        _axis(model, name, [t.params.get(name) for _, t in rows]) for name in model.param_names
    )
    best = model.best[0] if model.best is not None and model.n_objectives == 1 else None
    if model.n_objectives > 1 and len(values):
        best = None
    shown_selected = (
        selected if selected is not None and selected in set(numbers.tolist()) else None
    )
    message = None
    if not model.param_names:
        message = "No parameters suggested yet"
    elif not rows:
        message = "No complete trial yet: parameters are shown against the objective"
    return ParamsData(
        model.objective_labels[0],
        model.directions[0],
        numbers,
        values,
        axes,
        best,
        shown_selected,
        message,
    )


def _axis(model: DashboardModel, name: str, raw: list[Any]) -> ParamAxis:
    dist = model.distributions.get(name)
    if not model.is_numeric(name):
        labels: list[str] = []
        index: dict[str, int] = {}
        choices = getattr(dist, "choices", None)
        for choice in choices or ():
            index.setdefault(fmt_value(choice), len(index))
        out = np.full(len(raw), np.nan)
        for i, v in enumerate(raw):
            if v is None:
                continue
            label = fmt_value(v)
            out[i] = index.setdefault(label, len(index))
        labels = list(index)
        return ParamAxis(name, "categorical", False, out, tuple(labels))
    out = np.asarray(
        [float(v) if isinstance(v, numbers.Real) else np.nan for v in raw], dtype=np.float64
    )
    is_int = isinstance(dist, IntDistribution) or (
        dist is None and all(isinstance(v, numbers.Integral) for v in raw if v is not None)
    )
    log = bool(getattr(dist, "log", False)) and isinstance(
        dist, (FloatDistribution, IntDistribution)
    )
    return ParamAxis(name, "int" if is_int else "float", log, out, None)
