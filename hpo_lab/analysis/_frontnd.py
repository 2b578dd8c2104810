"""The non-dominated set of points to minimise in any number of objectives.

A new point is checked against the current front only (never against every point seen), with
two vectorised comparisons; the points it dominates are dropped. A dominated point can never
return to the front (whatever dominates it stays dominated by the front), so nothing else is
kept. The hypervolume grows by the new point's exclusive contribution — its box minus the part
already dominated, computed on the front limited to that box (the step at the heart of WFG) —
which is usually far cheaper than recomputing the whole front's hypervolume.
"""

from __future__ import annotations

import numpy as np

from hpo_lab.analysis._hypervolume import hypervolume


class FrontND:
    """Front of ``m``-dimensional points; ``hv`` is maintained when a reference is given."""

    def __init__(self, m: int, reference: tuple[float, ...] | None = None) -> None:
        self._rows = np.empty((16, m))
        self._n = 0
        self._numbers: list[int] = []
        self.reference = None if reference is None else np.asarray(reference, dtype=float)
        self.hv: float | None = 0.0 if reference is not None else None

    def insert(self, number: int, point: tuple[float, ...]) -> tuple[bool, list[int]]:
        """Add a point; return whether it joined the front and which numbers left it."""
        p = np.asarray(point, dtype=float)
        front = self._rows[: self._n]
        le = front <= p
        lt = front < p
        if np.any(np.all(le, axis=1) & np.any(lt, axis=1)):
            return False, []
        if self.hv is not None:
            self.hv += self._exclusive(p, front)
        gone = np.all(~lt, axis=1) & np.any(~le, axis=1)  # p <= row everywhere, < somewhere
        left: list[int] = []
        if gone.any():
            keep = ~gone
            left = [n for n, g in zip(self._numbers, gone) if g]
            self._numbers = [n for n, k in zip(self._numbers, keep) if k]
            kept = front[keep]
            self._n = len(kept)
            self._rows[: self._n] = kept
        if self._n == len(self._rows):
            self._rows = np.concatenate([self._rows, np.empty_like(self._rows)])
        self._rows[self._n] = p
        self._n += 1
        self._numbers.append(number)
        return True, left

    def _exclusive(self, p: np.ndarray, front: np.ndarray) -> float:
        ref = self.reference
        if not np.all(p < ref):
            return 0.0
        box = float(np.prod(ref - p))
        inside = front[np.all(front < ref, axis=1)]
        if len(inside) == 0:
            return box
        return box - hypervolume(np.maximum(inside, p), ref)

    def numbers(self) -> list[int]:
        """Front members sorted lexicographically by their values, then by trial number."""
        rows = self._rows[: self._n]
        keys = [self._numbers, *(rows[:, k] for k in reversed(range(rows.shape[1])))]
        order = np.lexsort(keys) if self._n else []
        return [self._numbers[i] for i in order]

    def points(self) -> np.ndarray:
        """Front points (one row per member, duplicates repeated), shape ``(k, m)``."""
        return self._rows[: self._n].copy()

    def recompute_hv(self) -> float:
        """The hypervolume from scratch (used to check the incremental value)."""
        return hypervolume(self._rows[: self._n], self.reference)
