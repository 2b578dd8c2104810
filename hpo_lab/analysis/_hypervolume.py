"""Exact hypervolume of points to minimise, against a reference point.

Optuna's implementation (``optuna._hypervolume.compute_hypervolume``: a 2-D sweep, an O(n²)
3-D algorithm, WFG beyond) is used when it can be imported and called; it is private, so a
WFG implementation of our own takes over if it moves or changes its signature.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_optuna_hv: Callable[..., float] | bool | None = None  # None: not looked up yet; False: unusable


def _optuna_function() -> Callable[..., float] | None:
    global _optuna_hv
    if _optuna_hv is None:
        try:
            from optuna._hypervolume import compute_hypervolume
        except Exception:  # private API: moved, renamed or broken
            _optuna_hv = False
        else:
            _optuna_hv = compute_hypervolume
    return _optuna_hv or None


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """The volume dominated by ``points`` and bounded by ``reference`` (all minimised).

    Points that are not better than the reference in every objective contribute nothing and
    may be passed; duplicates and dominated points may be passed too.

    Args:
        points: array of shape ``(n, m)``.
        reference: array of shape ``(m,)``.

    Example:
        >>> import numpy as np
        >>> float(hypervolume(np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([3.0, 3.0])))
        3.0
    """
    points = np.asarray(points, dtype=float).reshape(-1, len(reference))
    reference = np.asarray(reference, dtype=float)
    points = points[np.all(points < reference, axis=1)]
    if len(points) == 0:
        return 0.0
    points = np.unique(points, axis=0)
    fn = _optuna_function()
    if fn is not None:
        try:
            return float(fn(points, reference))
        except TypeError:  # its signature changed: use ours from now on
            global _optuna_hv
            _optuna_hv = False
    return wfg(points, reference)


def non_dominated(points: np.ndarray) -> np.ndarray:
    """The rows of ``points`` that no other row dominates (duplicates kept once)."""
    points = np.unique(np.asarray(points, dtype=float), axis=0)  # lexicographically sorted
    keep = np.ones(len(points), dtype=bool)
    for i in range(len(points)):
        if keep[i]:
            p = points[i]
            worse = np.all(p <= points, axis=1) & np.any(p < points, axis=1)
            keep &= ~worse
    return points[keep]


def wfg(points: np.ndarray, reference: np.ndarray) -> float:
    """Hypervolume by the WFG algorithm (While, Bradstreet & Barone 2012); any dimension.

    ``points`` must all be strictly better than ``reference``.
    """
    points = non_dominated(points)
    m = points.shape[1]
    if len(points) == 0:
        return 0.0
    if m == 1:
        return float(reference[0] - points[:, 0].min())
    if m == 2:
        order = np.argsort(points[:, 0])
        x, y = points[order, 0], points[order, 1]
        widths = np.append(x[1:], reference[0]) - x
        return float(np.dot(widths, reference[1] - y))
    # Sorting by the last objective, worst first, keeps the limited sets small.
    points = points[np.argsort(-points[:, -1])]
    total = 0.0
    for k in range(len(points)):
        p = points[k]
        rest = points[k + 1 :]
        box = float(np.prod(reference - p))
        if len(rest):
            box -= wfg(np.maximum(rest, p), reference)
        total += box
    return total
