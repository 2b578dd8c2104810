"""Downsampling keeps a curve's shape: its extremes, its ends, its gaps."""

from __future__ import annotations

import numpy as np
import pytest

from hpo_lab.dashboard import downsample, minmax_indices
from hpo_lab.dashboard._series import Series


def test_short_curves_are_kept_whole() -> None:
    y = np.array([3.0, 1.0, 2.0])
    assert minmax_indices(y, 10).tolist() == [0, 1, 2]
    x, ys = downsample(np.arange(3.0), y, 10)
    assert x.tolist() == [0.0, 1.0, 2.0] and ys.tolist() == [3.0, 1.0, 2.0]


@pytest.mark.parametrize("n", [101, 1_000, 12_345])
@pytest.mark.parametrize("max_points", [4, 50, 200])
def test_every_bucket_keeps_its_min_and_max(n: int, max_points: int) -> None:
    rng = np.random.default_rng(n + max_points)
    y = np.cumsum(rng.normal(size=n))
    keep = minmax_indices(y, max_points)
    assert len(keep) <= max_points
    assert np.all(np.diff(keep) > 0)  # sorted, unique: drawn in order
    assert keep[0] == 0 and keep[-1] == n - 1  # both ends: the latest value stays visible
    assert y[keep].min() == y.min() and y[keep].max() == y.max()
    buckets = (max_points - 2) // 2
    size = -(-(n - 2) // buckets)
    for b in range(buckets):  # each bucket's extremes are kept
        part = y[1 + b * size : 1 + (b + 1) * size]
        if len(part):
            assert part.min() in y[keep] and part.max() in y[keep]


def test_a_spike_survives() -> None:
    y = np.zeros(100_000)
    y[54_321] = 7.0
    y[77_777] = -3.0
    x, ys = downsample(np.arange(100_000.0), y, 100)
    assert 54_321.0 in x and 7.0 in ys
    assert 77_777.0 in x and -3.0 in ys


def test_nan_is_neither_min_nor_max_and_gaps_stay() -> None:
    y = np.full(1_000, np.nan)
    y[500:510] = [5, 1, 9, 2, 2, 2, 2, 2, 2, 2]
    keep = minmax_indices(y, 20)
    kept = y[keep]
    assert np.nanmin(kept) == 1 and np.nanmax(kept) == 9
    assert np.isnan(kept).any()  # an all-NaN bucket leaves a point, so the gap is drawn


@pytest.mark.parametrize("bad", [3, 0, 2.5, True, None])
def test_max_points_must_be_an_int_of_at_least_4(bad: object) -> None:
    with pytest.raises(ValueError, match="max_points must be an int of at least 4"):
        minmax_indices(np.zeros(10), bad)  # type: ignore[arg-type]


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="y must be 1-D"):
        minmax_indices(np.zeros((3, 3)), 4)
    with pytest.raises(ValueError, match="x and y must have the same length"):
        downsample(np.zeros(3), np.zeros(4), 4)


def test_series_grows_and_caches_its_display() -> None:
    s = Series(capacity=2)
    for i in range(1_000):
        s.append(i, np.sin(i / 30), when=100.0 + i)
    assert len(s) == 1_000 and s.version == 1_000 and s.last_time == 1_099.0
    first = s.display(100)
    assert s.display(100) is not None and s.display(100)[0] is first[0]  # cached
    s.extend(np.array([1_000.0, 1_001.0]), np.array([5.0, 6.0]))
    x, y = s.display(100)
    assert x[-1] == 1_001.0 and y.max() == 6.0  # recomputed after the append
    with pytest.raises(ValueError, match="read-only"):
        s.value[0] = 1.0
    with pytest.raises(ValueError, match="equal lengths"):
        s.extend(np.zeros(2), np.zeros(3))
