"""Reading objective values and feasibility from Optuna's trials."""

from __future__ import annotations

from typing import Any

#: Optuna's system attribute for constraint values: a list (``constraints_func`` of samplers,
#: Optuna < 5) or one attribute per named constraint, ``constraints:<name>``
#: (``trial.set_constraint``, Optuna >= 5). A trial is feasible when every value is <= 0.
CONSTRAINTS_ATTR = "constraints"


def constraint_values(trial: Any) -> list[float]:
    """Every constraint value stored with a ``FrozenTrial``, in either of Optuna's formats."""
    attrs = trial.system_attrs
    values = list(attrs.get(CONSTRAINTS_ATTR) or [])
    prefix = CONSTRAINTS_ATTR + ":"
    values += [v for k, v in attrs.items() if isinstance(k, str) and k.startswith(prefix)]
    return [float(v) for v in values]


def is_feasible(trial: Any) -> bool:
    """Whether a ``FrozenTrial`` satisfies its constraints (True when it has none)."""
    return all(c <= 0.0 for c in constraint_values(trial))


def complete_values(trial: Any) -> tuple[float, ...] | None:
    """A complete trial's objective values; None for any other state."""
    if getattr(trial.state, "name", str(trial.state)) != "COMPLETE" or trial.values is None:
        return None
    return tuple(float(v) for v in trial.values)
