"""Objective directions as signs: internally every objective is minimised (a maximised one is
negated), so dominance and hypervolume code needs one case only."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def parse_directions(
    directions: Sequence[Any] | Mapping[str, Any], names: Sequence[str] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(directions, names)`` as tuples of ``"minimize"``/``"maximize"`` and names.

    Args:
        directions: a sequence of ``"minimize"``/``"maximize"`` (or Optuna's
            ``StudyDirection``), or a dict of objective names to directions.
        names: the objectives' names when ``directions`` is a sequence (default
            ``values_0``, ``values_1``... as in Optuna's dataframes).

    Raises:
        ValueError: an unknown direction, no objectives, or names that do not match.
    """
    if isinstance(directions, Mapping):
        if names is not None:
            raise ValueError("pass names= only with a list of directions, not with a dict")
        names = list(directions)
        directions = list(directions.values())
    if isinstance(directions, str) or not isinstance(directions, Sequence) or not directions:
        raise ValueError(
            "directions must be a non-empty list such as ['minimize', 'maximize'] or a dict "
            f"{{'name': 'minimize', ...}}; got {directions!r}"
        )
    out = []
    for i, d in enumerate(directions):
        text = getattr(d, "name", d)
        if not isinstance(text, str) or text.strip().lower() not in ("minimize", "maximize"):
            raise ValueError(f"directions[{i}] must be 'minimize' or 'maximize', got {d!r}")
        out.append(text.strip().lower())
    if names is None:
        names = [f"values_{i}" for i in range(len(out))]
    names = [str(n) for n in names]
    if len(names) != len(out) or len(set(names)) != len(names):
        raise ValueError(
            f"names must be {len(out)} distinct names, one per objective; got {list(names)!r}"
        )
    return tuple(out), tuple(names)


def signs(directions: Sequence[str]) -> np.ndarray:
    """+1 for each minimised objective, -1 for each maximised one."""
    return np.array([1.0 if d == "minimize" else -1.0 for d in directions])


def check_values(values: Any, n: int, what: str) -> tuple[float, ...]:
    """``values`` as a tuple of ``n`` finite floats, or a ValueError naming ``what``."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence | np.ndarray):
        raise TypeError(f"{what} must be a sequence of {n} numbers, got {values!r}")
    if len(values) != n:
        raise ValueError(f"{what} must have {n} values (one per objective), got {len(values)}")
    out = []
    for v in values:
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"{what} must hold numbers, got {v!r}") from None
        if not math.isfinite(f):
            raise ValueError(f"{what} must be finite, got {tuple(values)!r}")
        out.append(f)
    return tuple(out)
