"""Downsampling keeps a curve's shape: its extremes, its ends, its gaps."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hpo_lab.dashboard import downsample, minmax_indices
from hpo_lab.dashboard._downsample import GrowingMinMax, bucket_width
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


def _picked_by_hand(y: np.ndarray, max_points: int) -> list[int]:
    """The growing picker's result, one bucket at a time in plain Python (the reference)."""
    n = len(y)
    if n <= max_points:
        return list(range(n))
    width = bucket_width(n, max_points)
    out = [0]
    for start in range(1, n - 1, width):
        idx = range(start, min(start + width, n - 1))
        # NaN is neither a minimum nor a maximum; ties go to the first point
        low = min(idx, key=lambda i: (np.inf if np.isnan(y[i]) else y[i], i))
        high = max(idx, key=lambda i: (-np.inf if np.isnan(y[i]) else y[i], -i))
        out.extend(sorted({low, high}))
    return [*out, n - 1]


@pytest.mark.parametrize("max_points", [4, 10, 51, 200])
def test_a_growing_curve_is_picked_as_if_afresh_every_time(max_points: int) -> None:
    rng = np.random.default_rng(max_points)
    y = np.cumsum(rng.normal(size=3_000))
    y[rng.random(3_000) < 0.05] = np.nan
    y[700:760] = np.nan  # a gap longer than a bucket
    y[rng.random(3_000) < 0.01] = np.inf
    y[rng.random(3_000) < 0.01] = -np.inf
    y[1_000:1_300:3] = 0.5  # ties
    picker, n = GrowingMinMax(max_points), 0
    widths = set()
    while n < len(y):
        n = min(len(y), n + int(rng.integers(1, 40)))
        keep = picker.indices(y[:n])
        assert keep.tolist() == _picked_by_hand(y[:n], max_points), n
        assert keep.tolist() == GrowingMinMax(max_points).indices(y[:n]).tolist()
        widths.add(bucket_width(n, max_points))
    assert len(widths) > 4  # it went through several widths, each starting over once


@pytest.mark.parametrize("max_points", [4, 10, 200, 1_001])
def test_a_growing_curve_keeps_two_thirds_to_all_of_its_points(max_points: int) -> None:
    rng = np.random.default_rng(1)
    for n in [max_points + 1, 3 * max_points + 7, 40 * max_points]:
        y = rng.normal(size=n)
        keep = GrowingMinMax(max_points).indices(y)
        assert len(keep) <= max_points and np.all(np.diff(keep) > 0)
        assert keep[0] == 0 and keep[-1] == n - 1
        assert y[keep].min() == y.min() and y[keep].max() == y.max()
        if n >= 10 * max_points:
            assert len(keep) >= 0.6 * max_points
    widths = [bucket_width(n, 200) for n in range(201, 100_000, 97)]
    steps = sorted({b / a for a, b in itertools.pairwise(widths) if b != a})
    assert widths == sorted(widths) and steps[-1] <= 1.5


def test_a_curve_that_shrank_is_picked_again() -> None:
    picker = GrowingMinMax(10)
    rng = np.random.default_rng(5)
    picker.indices(rng.normal(size=120))
    z = rng.normal(size=100)  # another curve, at the same bucket width
    assert bucket_width(120, 10) == bucket_width(100, 10)
    assert picker.indices(z).tolist() == _picked_by_hand(z, 10)
    with pytest.raises(ValueError, match="max_points must be an int of at least 4"):
        GrowingMinMax(3)


def test_series_display_follows_a_growing_curve() -> None:
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(size=2_000))
    s = Series()
    for i, v in enumerate(values):
        s.append(float(i), float(v))
        if i % 37 == 0 or i == len(values) - 1:
            for budget in (200, 160):  # two views of one curve (curves and detail)
                x, y = s.display(budget)
                keep = _picked_by_hand(values[: i + 1], budget)
                assert x.tolist() == [float(k) for k in keep]
                assert y.tolist() == values[keep].tolist()
    assert s.display(200)[0] is s.display(200)[0]  # each budget's display is cached
    x, _ = s.display(20)  # another budget: picked afresh
    assert x.tolist() == [float(k) for k in _picked_by_hand(values, 20)]
