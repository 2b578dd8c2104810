"""Downsampling long curves for display while keeping their shape.

A curve of 100,000 points drawn 600 pixels wide shows at most a few points per pixel column; what
the eye needs from each column is its lowest and highest value. :func:`minmax_indices` keeps, for
each of ``max_points // 2`` equal buckets, the points with the smallest and the largest value (in
their original order), plus the first and the last point, so spikes, plateaus and the latest value
all survive.

A curve that grows while it is drawn (a running trial's) is downsampled by
:class:`GrowingMinMax` instead, at the cost of its new points only: its buckets start at fixed
places, so a full bucket keeps its two points until the curve outgrows the bucket width.
"""

from __future__ import annotations

import math

import numpy as np


def minmax_indices(y: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of the points of ``y`` to draw: each bucket's minimum and maximum, in order.

    NaN values count neither as a minimum nor as a maximum; a bucket of NaNs only keeps its first
    point (so a gap stays a gap).

    Args:
        y: The values, in drawing order (1-D).
        max_points: At most this many indices are returned (at least 4).

    Returns:
        Sorted, unique int64 indices; all of them when ``len(y) <= max_points``.

    Raises:
        ValueError: If ``max_points`` is below 4 or ``y`` is not 1-D.

    Example:
        >>> import numpy as np
        >>> y = np.array([0.0, 5, 1, 1, 1, 1, -3, 1, 1, 2])
        >>> minmax_indices(y, 6).tolist()  # first, 5 and 1 | 1 and -3, last
        [0, 1, 2, 5, 6, 9]
    """
    _check_max_points(max_points)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    n = len(y)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    # First and last points are kept separately; the inner points are split in equal buckets.
    buckets = (max_points - 2) // 2
    size = -(-(n - 2) // buckets)  # ceil
    return np.concatenate(([0], _bucket_picks(y[1:-1], size, 1), [n - 1])).astype(np.int64)


def _check_max_points(max_points: object) -> None:
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 4:
        raise ValueError(f"max_points must be an int of at least 4, got {max_points!r}")


def _bucket_picks(y: np.ndarray, size: int, start: int) -> np.ndarray:
    """The minimum's and the maximum's index (plus ``start``) in each bucket of ``size`` points
    of ``y`` (the last may be shorter), in order and unique; an all-NaN bucket gives its first."""
    count = -(-len(y) // size)
    if not count:
        return np.empty(0, dtype=np.int64)
    if len(y) == count * size:
        grid = y.reshape(count, size)
    else:
        grid = np.full(count * size, np.nan)
        grid[: len(y)] = y
        grid = grid.reshape(count, size)
    nan = np.isnan(grid)
    lows = np.where(nan, np.inf, grid).argmin(axis=1)
    highs = np.where(nan, -np.inf, grid).argmax(axis=1)
    # each bucket's two in order, buckets in order: sorted already
    pairs = np.stack((np.minimum(lows, highs), np.maximum(lows, highs)), axis=1)
    pairs += (np.arange(count) * size + start)[:, None]
    picked = pairs.ravel()
    return picked[np.concatenate(([True], picked[1:] != picked[:-1]))]


def bucket_width(n: int, max_points: int) -> int:
    """The bucket width :class:`GrowingMinMax` uses for ``n`` points: the smallest of 1, 2, 3,
    4, 6, 8, 12, 16... (each at most 1.5 times the one before) that fits the inner ``n - 2``
    points in ``(max_points - 2) // 2`` buckets.

    Example:
        >>> [bucket_width(n, 10) for n in (11, 18, 19, 27, 1000)]
        [3, 4, 6, 8, 256]
    """
    need = max(1, -(-(n - 2) // ((max_points - 2) // 2)))
    power = 1 << (need.bit_length() - 1)
    if power == need:
        return power
    return power * 3 // 2 if power >= 2 and power * 3 // 2 >= need else power * 2


class GrowingMinMax:
    """:func:`minmax_indices` for a curve that only grows, at the cost of its new points.

    The inner points are cut in buckets of :func:`bucket_width` points from the second point on:
    bucket ``k`` is always points ``1 + k * width`` to ``(k + 1) * width``, so a full bucket's
    two picks are found once and kept until the curve outgrows the width (a few times over a
    curve's life: then the full buckets are picked again at the new width, vectorised). New
    points are looked at once each, in plain Python: a frame brings a running curve a few
    dozen points, too few for numpy's per-call cost to pay. The curve keeps 2/3 to all of
    ``max_points``.

    Example:
        >>> import numpy as np
        >>> picker = GrowingMinMax(10)
        >>> y = np.array([0.0, 5, 1, 1, 1, 1, -3, 1, 1, 2, 4, 0])
        >>> picker.indices(y[:10]).tolist(), picker.indices(y).tolist()
        ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [0, 1, 2, 4, 6, 7, 9, 10, 11])
    """

    __slots__ = ("_hi", "_lo", "_n", "_open", "_picks", "_seen", "_width", "max_points")

    def __init__(self, max_points: int) -> None:
        _check_max_points(max_points)
        self.max_points = max_points
        self._width = 0
        self._n = 0
        self._picks: list[int] = []  # the full buckets' picks
        self._open = 1  # where the bucket not yet full starts
        self._seen = 1  # the points before this one are in the buckets
        self._lo = (0, 0.0)  # the open bucket's (index, value) of its minimum and maximum
        self._hi = (0, 0.0)

    def indices(self, y: np.ndarray) -> np.ndarray:
        """Indices of the points of ``y`` to draw: sorted, unique, at most ``max_points``.

        ``y`` must be the curve of the last call with points appended (a shorter curve starts
        over); the result equals picking every bucket of ``y`` afresh.
        """
        n = len(y)
        if n <= self.max_points:
            return np.arange(n, dtype=np.int64)
        width = bucket_width(n, self.max_points)
        if width != self._width or n < self._n:
            self._width = width
            full = 1 + (n - 2) // width * width  # the inner points are 1 .. n - 2
            y64 = np.asarray(y[1:full], dtype=np.float64)
            self._picks = _bucket_picks(y64, width, 1).tolist()
            self._open = self._seen = full
        self._n = n
        if self._seen < n - 1:
            self._scan(np.asarray(y[self._seen : n - 1], dtype=np.float64).tolist())
        out = [0, *self._picks]
        if self._seen > self._open:
            lo, hi = self._lo[0], self._hi[0]
            out += [lo] if lo == hi else [min(lo, hi), max(lo, hi)]
        out.append(n - 1)
        return np.array(out, dtype=np.int64)

    def _scan(self, values: list[float]) -> None:
        """Takes points ``_seen`` on (``values``) into the buckets, as :func:`_bucket_picks`
        would: NaN is neither a minimum nor a maximum, ties go to the first point."""
        width, picks = self._width, self._picks
        start, (lo, low), (hi, high) = self._open, self._lo, self._hi
        for i, v in enumerate(values, self._seen):
            if i == start + width:  # the open bucket is full
                picks += [lo] if lo == hi else [min(lo, hi), max(lo, hi)]
                start = i
            if i == start:
                lo = hi = i
                low, high = (math.inf, -math.inf) if v != v else (v, v)
            elif v == v:
                if v < low:
                    lo, low = i, v
                if v > high:
                    hi, high = i, v
        self._open, self._seen = start, self._seen + len(values)
        self._lo, self._hi = (lo, low), (hi, high)


def downsample(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` reduced to at most ``max_points`` points by :func:`minmax_indices`.

    Example:
        >>> import numpy as np
        >>> x = np.arange(1000.0)
        >>> xs, ys = downsample(x, np.sin(x / 50), 100)
        >>> len(xs) <= 100, bool(ys.max() == np.sin(x / 50).max())
        (True, True)
    """
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if len(y) <= max_points:
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    keep = minmax_indices(y, max_points)
    return np.asarray(x, dtype=np.float64)[keep], np.asarray(y, dtype=np.float64)[keep]
