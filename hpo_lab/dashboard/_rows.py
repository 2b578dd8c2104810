"""The trial table's columns and rows, computed from the model."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from optuna.distributions import IntDistribution

from ._model import DashboardModel

PARAM_PREFIX = "p:"


def value_key(i: int) -> str:
    """Column key of objective ``i`` (``"value"`` for the first)."""
    return "value" if i == 0 else f"value_{i}"


def table_columns(model: DashboardModel) -> list[dict[str, Any]]:
    """Number, state, the objectives, every parameter, last step and duration.

    Example:
        >>> m = DashboardModel("demo", ["minimize"])
        >>> [c["key"] for c in table_columns(m)]
        ['number', 'state', 'value', 'last_step', 'duration']
    """
    cols: list[dict[str, Any]] = [
        {"key": "number", "label": "#", "type": "int", "width": 52},
        {"key": "state", "label": "State", "type": "state", "width": 100},
    ]
    for i, label in enumerate(model.objective_labels):
        cols.append({"key": value_key(i), "label": label, "type": "float", "width": _width(label)})
    for name in model.param_names:
        if not model.is_numeric(name):
            kind = "str"
        elif isinstance(model.distributions.get(name), IntDistribution):
            kind = "int"
        else:
            kind = "float"
        cols.append(
            {"key": PARAM_PREFIX + name, "label": name, "type": kind, "width": _width(name)}
        )
    cols.append({"key": "last_step", "label": "Step", "type": "int", "width": 64})
    cols.append({"key": "duration", "label": "Duration", "type": "duration", "width": 96})
    return cols


def _width(label: str) -> int:
    """Pixels for a column: its upper-case label (about 7 px a letter) and some room."""
    return max(78, min(150, round(7.6 * len(label) + 32)))


def table_rows(
    model: DashboardModel, numbers: Iterable[int], now: float | None = None
) -> list[dict[str, Any]]:
    """Full rows of trials ``numbers`` (unknown numbers are skipped).

    Example:
        >>> from hpo_lab.events import TrialFinished
        >>> m = DashboardModel("demo", ["minimize"])
        >>> _ = m.apply([TrialFinished(0, "COMPLETE", (0.5,), params={"lr": 0.1})])
        >>> table_rows(m, [0])[0]["p:lr"], table_rows(m, [0])[0]["value"]
        (0.1, 0.5)
    """
    n_obj = model.n_objectives
    out = []
    for n in sorted(set(numbers)):
        t = model.trials.get(n)
        if t is None:
            continue
        row: dict[str, Any] = {"number": n, "state": t.display_state}
        for i in range(n_obj):
            row[value_key(i)] = t.values[i] if t.values and i < len(t.values) else None
        for name in model.param_names:
            v = t.params.get(name)
            if v is not None and not isinstance(v, (int, float, str, bool)):
                v = str(v)
            row[PARAM_PREFIX + name] = v
        row["last_step"] = t.last_step
        d = t.duration(now)
        row["duration"] = None if d is None or not math.isfinite(d) else round(d, 2)
        out.append(row)
    return out
