"""Value-axis ranges: one diverging curve does not flatten the others; exact against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from hpo_lab.dashboard._scale import FENCE, MIN_CURVES, PAD, Extremes, range_of, robust_range


def _by_numpy(lows: np.ndarray, highs: np.ndarray, log: bool) -> tuple[float, float] | None:
    """The rule written out with numpy's quantile and masks (the reference)."""
    lo, hi = np.asarray(lows, dtype=float), np.asarray(highs, dtype=float)
    if log:
        keep = (lo > 0) & (hi > 0)
        lo, hi = np.log10(lo[keep]), np.log10(hi[keep])
    keep = np.isfinite(lo) & np.isfinite(hi)
    lo, hi = lo[keep], hi[keep]
    if len(hi) < MIN_CURVES:
        return None
    q1, q3 = float(np.quantile(lo, 0.25)), float(np.quantile(hi, 0.75))
    spread = q3 - q1 if q3 > q1 else max(abs(q3), 1e-12)
    top, bottom = q3 + FENCE * spread, q1 - FENCE * spread
    inside_hi, inside_lo = hi[hi <= top], lo[lo >= bottom]
    if len(inside_hi) == len(hi) and len(inside_lo) == len(lo):
        return None
    a = float(inside_lo.min()) if len(inside_lo) else bottom
    b = float(inside_hi.max()) if len(inside_hi) else top
    if b <= a:
        return None
    return a - PAD * (b - a), b + PAD * (b - a)


def _curves(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    lows = rng.lognormal(0, 2, n) * rng.choice([1, -1], n, p=[0.9, 0.1])
    highs = lows + rng.lognormal(0, 3, n)
    if n and rng.random() < 0.3:
        highs[rng.integers(0, n)] = np.inf
    if n and rng.random() < 0.4:  # diverged (far out even in decades)
        highs[rng.integers(0, n)] *= 1e30
    if n and rng.random() < 0.3:
        lows[rng.integers(0, n)] = np.nan
    if rng.random() < 0.2:  # ties
        lows, highs = np.round(lows), np.round(highs)
    return lows, highs


@pytest.mark.parametrize("log", [False, True])
def test_the_range_is_numpys_on_random_curves(log: bool) -> None:
    rng = np.random.default_rng(int(log))
    outlying = 0
    for _ in range(1_500):
        lows, highs = _curves(rng, int(rng.integers(0, 80)))
        got, want = robust_range(lows, highs, log=log), _by_numpy(lows, highs, log)
        assert (got is None) == (want is None)
        if want is not None:
            outlying += 1
            assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert 300 < outlying < 1_450  # both answers were exercised


@pytest.mark.parametrize("log", [False, True])
def test_running_curves_merge_into_the_finished_ones(log: bool) -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        fl, fh = _curves(rng, int(rng.integers(0, 300)))
        rl, rh = _curves(rng, int(rng.integers(0, 20)))
        merged = Extremes.of(fl, fh, log).merged(Extremes.of(rl, rh, log))
        whole = Extremes.of(np.concatenate((fl, rl)), np.concatenate((fh, rh)), log)
        assert merged.lows.tolist() == whole.lows.tolist()
        assert merged.highs.tolist() == whole.highs.tolist()
        assert range_of(merged) == robust_range(
            np.concatenate((fl, rl)), np.concatenate((fh, rh)), log=log
        )


def test_one_diverging_curve_runs_off_the_axis() -> None:
    lows = [0.1, 0.12, 0.2, 0.15, 0.3]
    highs = [2.3, 2.2, 2.4, 2.3, 1e27]
    lo, hi = robust_range(lows, highs)
    assert lo < 0.1 and 2.4 < hi < 3  # every other curve fits, the outlier does not
    assert robust_range(lows[:4], highs[:4]) is None  # too few curves to judge
    assert robust_range([1.0] * 5, [2.0] * 5) is None  # nothing outlying: autorange
    with pytest.raises(ValueError, match="lows and highs must be 1-D of one length"):
        Extremes.of([1.0, 2.0], [3.0], False)
