"""The non-dominated set of 2-D points to minimise, kept sorted, with its hypervolume updated
locally at each insertion.

On the front, x increases strictly while y decreases strictly (equal points share one entry).
A new point is dominated exactly when its left neighbour (largest x not above its own) is not
worse in y, so one binary search decides; the points it dominates are the run to its right whose
y is not below its own. Each point is removed at most once, so insertion costs O(log n)
comparisons plus O(removed) amortised, and a list shift (a C memmove) for the new entry.
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np


class Front2D:
    """Sorted 2-D front. ``hv`` is maintained when a reference point is given."""

    def __init__(self, reference: tuple[float, float] | None = None) -> None:
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.members: list[list[int]] = []
        self.reference = reference
        self.hv: float | None = 0.0 if reference is not None else None

    def insert(self, number: int, point: tuple[float, ...]) -> tuple[bool, list[int]]:
        """Add a point; return whether it joined the front and which numbers left it."""
        x, y = point
        xs, ys = self.xs, self.ys
        i = bisect_left(xs, x)
        if i > 0 and ys[i - 1] <= y:
            return False, []  # the left neighbour has a smaller x and a y at least as good
        if i < len(xs) and xs[i] == x:
            if ys[i] < y:
                return False, []
            if ys[i] == y:  # the same values as a front point: on the front with it
                self.members[i].append(number)
                return True, []
        j = i
        while j < len(xs) and ys[j] >= y:
            j += 1
        left = [n for group in self.members[i:j] for n in group]
        if self.hv is not None:
            self.hv += self._gain(i, j, x, y)
        xs[i:j] = [x]
        ys[i:j] = [y]
        self.members[i:j] = [[number]]
        return True, left

    def _area(self, x: float, y: float, next_x: float) -> float:
        """The strip a front point adds between its x and its right neighbour's x."""
        rx, ry = self.reference  # type: ignore[misc]
        width = min(next_x, rx) - x
        height = ry - y
        return width * height if width > 0 and height > 0 else 0.0

    def _gain(self, i: int, j: int, x: float, y: float) -> float:
        """Hypervolume change when entries ``i..j-1`` are replaced by the point ``(x, y)``."""
        xs, ys = self.xs, self.ys
        rx = self.reference[0]  # type: ignore[index]
        after = xs[j] if j < len(xs) else rx
        old = sum(
            self._area(xs[k], ys[k], xs[k + 1] if k + 1 < len(xs) else rx) for k in range(i, j)
        )
        new = self._area(x, y, after)
        if i > 0:
            old += self._area(xs[i - 1], ys[i - 1], xs[i] if i < len(xs) else rx)
            new += self._area(xs[i - 1], ys[i - 1], x)
        return new - old

    def numbers(self) -> list[int]:
        """Front members sorted by x (ties by trial number)."""
        return [n for group in self.members for n in sorted(group)]

    def points(self) -> np.ndarray:
        """Distinct front points, sorted by x, shape ``(k, 2)``."""
        return np.column_stack([self.xs, self.ys]) if self.xs else np.empty((0, 2))

    def recompute_hv(self) -> float:
        """The hypervolume from scratch (used to check the incremental value)."""
        rx = self.reference[0]  # type: ignore[index]
        nxt = [*self.xs[1:], rx]
        return sum(self._area(x, y, n) for x, y, n in zip(self.xs, self.ys, nxt))
