"""Downsampling long curves for display while keeping their shape.

A curve of 100,000 points drawn 600 pixels wide shows at most a few points per pixel column; what
the eye needs from each column is its lowest and highest value. :func:`minmax_indices` keeps, for
each of ``max_points // 2`` equal buckets, the points with the smallest and the largest value (in
their original order), plus the first and the last point, so spikes, plateaus and the latest value
all survive.
"""

from __future__ import annotations

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
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 4:
        raise ValueError(f"max_points must be an int of at least 4, got {max_points!r}")
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    n = len(y)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    # First and last points are kept separately; the inner points are split in equal buckets.
    buckets = (max_points - 2) // 2
    inner = y[1:-1]
    size = -(-len(inner) // buckets)  # ceil
    padded = np.full(size * buckets, np.nan)
    padded[: len(inner)] = inner
    grid = padded.reshape(buckets, size)
    nan = np.isnan(grid)
    lows = np.where(nan, np.inf, grid).argmin(axis=1)
    highs = np.where(nan, -np.inf, grid).argmax(axis=1)
    offsets = np.arange(buckets) * size + 1
    # each bucket's two in order, buckets in order: sorted already (np.unique sorted them again)
    pairs = np.stack((np.minimum(lows, highs), np.maximum(lows, highs)), axis=1) + offsets[:, None]
    picked = np.concatenate(([0], pairs.ravel(), [n - 1])).astype(np.int64)
    picked = picked[picked < n]  # a bucket made only of padding points past the end
    return picked[np.concatenate(([True], picked[1:] != picked[:-1]))]


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
