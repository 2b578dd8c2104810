"""`Series`: one trial's values of one named series, in growable numpy arrays."""

from __future__ import annotations

import math

import numpy as np

from ._downsample import GrowingMinMax

#: Display budgets a series keeps a cache for (the views use two or three).
_BUDGETS = 4


class Series:
    """Steps and values of one series of one trial, appended in place (amortised O(1)).

    ``version`` grows with every append, so views can tell whether a curve changed without
    comparing arrays; :meth:`display` caches the downsampled curve per version, and downsamples
    a growing curve at the cost of its new points (:class:`GrowingMinMax`).

    Example:
        >>> s = Series()
        >>> s.append(0, 1.5); s.append(1, 1.25)
        >>> s.step.tolist(), s.value.tolist(), s.version
        ([0.0, 1.0], [1.5, 1.25], 2)
    """

    __slots__ = (
        "_hi",
        "_lo",
        "_n",
        "_shown",
        "_step",
        "_value",
        "last_time",
        "version",
    )

    def __init__(self, capacity: int = 16) -> None:
        self._step = np.empty(capacity, dtype=np.float64)
        self._value = np.empty(capacity, dtype=np.float64)
        self._n = 0
        self.version = 0
        self.last_time: float | None = None
        # per max_points (views draw one curve with different budgets): the last display's
        # version, x and y, and the picker that follows the curve as it grows (None while short)
        self._shown: dict[int, tuple[int, np.ndarray, np.ndarray, GrowingMinMax | None]] = {}
        self._lo = np.inf  # the smallest and largest finite values so far
        self._hi = -np.inf

    def __len__(self) -> int:
        return self._n

    @property
    def step(self) -> np.ndarray:
        """The steps (a read-only view)."""
        view = self._step[: self._n]
        view.flags.writeable = False
        return view

    @property
    def value(self) -> np.ndarray:
        """The values (a read-only view; NaN where a NaN was reported)."""
        view = self._value[: self._n]
        view.flags.writeable = False
        return view

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        if need <= len(self._step):
            return
        capacity = max(need, 2 * len(self._step))
        for attr in ("_step", "_value"):
            grown = np.empty(capacity, dtype=np.float64)
            grown[: self._n] = getattr(self, attr)[: self._n]
            setattr(self, attr, grown)

    def append(self, step: float, value: float, when: float | None = None) -> None:
        """Adds one point (reported at wall time ``when``, if known)."""
        n = self._n
        if n == len(self._step):
            self._reserve(1)
        self._step[n] = step
        self._value[n] = value
        if math.isfinite(value):
            if value < self._lo:
                self._lo = value
            if value > self._hi:
                self._hi = value
        self._n = n + 1
        self.version += 1
        if when is not None:
            self.last_time = when

    def extend(self, steps: np.ndarray, values: np.ndarray, last_time: float | None = None) -> None:
        """Adds many points at once."""
        k = len(steps)
        if k != len(values):
            raise ValueError(f"steps and values must have equal lengths, got {k} and {len(values)}")
        if not k:
            return
        self._reserve(k)
        self._step[self._n : self._n + k] = steps
        self._value[self._n : self._n + k] = values
        finite = self._value[self._n : self._n + k]
        finite = finite[np.isfinite(finite)]
        if len(finite):
            self._lo = min(self._lo, float(finite.min()))
            self._hi = max(self._hi, float(finite.max()))
        self._n += k
        self.version += 1
        if last_time is not None:
            self.last_time = last_time

    @property
    def extremes(self) -> tuple[float, float] | None:
        """The smallest and largest finite values (None while there is none).

        Example:
            >>> s = Series()
            >>> s.append(0, float("nan")); s.extremes is None
            True
            >>> s.extend(np.array([1.0, 2.0]), np.array([3.0, float("inf")])); s.extremes
            (3.0, 3.0)
        """
        return None if self._lo > self._hi else (float(self._lo), float(self._hi))

    def display(self, max_points: int) -> tuple[np.ndarray, np.ndarray]:
        """The curve downsampled to at most ``max_points`` by min and max per bucket (cached
        until the next append; see :class:`GrowingMinMax`)."""
        shown = self._shown.get(max_points)
        if shown is not None and shown[0] == self.version:
            return shown[1], shown[2]
        picker = shown[3] if shown is not None else None
        n = self._n
        if n <= max_points:  # all of it: copies, never views of the buffers
            x, y = self._step[:n].copy(), self._value[:n].copy()
        else:
            if picker is None:
                picker = GrowingMinMax(max_points)
            keep = picker.indices(self._value[:n])
            x, y = self._step[keep], self._value[keep]
        if shown is None and len(self._shown) >= _BUDGETS:
            self._shown.clear()
        self._shown[max_points] = (self.version, x, y, picker)
        return x, y
