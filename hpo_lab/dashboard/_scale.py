"""Value-axis ranges that one diverging trial cannot flatten.

A learning rate too large sends a loss to 1e27, and an axis that shows it squeezes every other
curve onto a line. Like TensorBoard's "ignore outliers in chart scaling", the axis then spans
the curves that are not outlying; the outliers run off the chart (plotly's autoscale button
still shows everything).

:func:`robust_range` reads each side's quartile, so it works on sorted extremes
(:class:`Extremes`): a view whose finished curves keep their extremes sorts them once and merges
in the few running curves' for each frame (:meth:`Extremes.merged`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

#: How far (in typical spans of the curves) beyond the quartiles a curve is outlying.
FENCE = 3.0
#: Fewer curves than this are never judged.
MIN_CURVES = 4
PAD = 0.05


class Extremes(NamedTuple):
    """The curves' smallest values and their largest values, each side sorted: what
    :func:`robust_range` reads. Curves whose extremes are not both finite (or, on a log axis,
    both positive: then in decades) are left out."""

    lows: np.ndarray
    highs: np.ndarray

    @classmethod
    def of(
        cls, lows: Sequence[float] | np.ndarray, highs: Sequence[float] | np.ndarray, log: bool
    ) -> Extremes:
        """The extremes of curves whose smallest and largest values are ``lows`` and ``highs``
        (one each per curve), on a log axis if ``log``.

        Example:
            >>> Extremes.of([1.0, 0.1, float("nan")], [10.0, 100.0, 5.0], log=True)
            Extremes(lows=array([-1.,  0.]), highs=array([1., 2.]))
        """
        lo = np.asarray(lows, dtype=np.float64)
        hi = np.asarray(highs, dtype=np.float64)
        if lo.shape != hi.shape or lo.ndim != 1:
            raise ValueError(
                f"lows and highs must be 1-D of one length, got {lo.shape} and {hi.shape}"
            )
        if log:
            keep = (lo > 0) & (hi > 0)
            lo, hi = np.log10(lo[keep]), np.log10(hi[keep])
        keep = np.isfinite(lo) & np.isfinite(hi)
        return cls(np.sort(lo[keep]), np.sort(hi[keep]))

    def merged(self, other: Extremes) -> Extremes:
        """These curves' extremes and ``other``'s together (still sorted).

        Example:
            >>> a = Extremes.of([1.0, 3.0], [4.0, 6.0], log=False)
            >>> a.merged(Extremes.of([2.0], [5.0], log=False)).lows.tolist()
            [1.0, 2.0, 3.0]
        """
        return Extremes(_merge(self.lows, other.lows), _merge(self.highs, other.highs))


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sorted ``a`` and sorted ``b`` as one sorted array (``b`` is the short one)."""
    if not len(b):
        return a
    at = np.searchsorted(a, b, side="right") + np.arange(len(b))
    out = np.empty(len(a) + len(b))
    rest = np.ones(len(out), dtype=bool)
    rest[at] = False
    out[at] = b
    out[rest] = a
    return out


def _quantile(ordered: np.ndarray, q: float) -> float:
    """``np.quantile(ordered, q)`` (its default, linear method) of a sorted array."""
    at = q * (len(ordered) - 1)
    below = math.floor(at)
    frac = at - below
    if frac == 0 or below + 1 >= len(ordered):
        return float(ordered[below])
    a, b = float(ordered[below]), float(ordered[below + 1])
    return b - (b - a) * (1 - frac) if frac >= 0.5 else a + (b - a) * frac


def robust_range(
    lows: Sequence[float] | np.ndarray,
    highs: Sequence[float] | np.ndarray,
    *,
    log: bool = False,
    fence: float = FENCE,
) -> tuple[float, float] | None:
    """The value range to show for curves whose smallest and largest values are ``lows`` and
    ``highs`` (one each per curve), or None when no curve is outlying (plotly's autorange).

    A curve is outlying when it reaches beyond the quartiles of the curves (the upper quartile
    of ``highs``, the lower of ``lows``) by more than ``fence`` times their spread. For a log
    axis the range is in decades (what plotly's ``range`` of a log axis takes), over the
    positive values.

    Example:
        >>> lows, highs = [0.1, 0.12, 0.2, 0.15, 0.3], [2.3, 2.2, 2.4, 2.3, 1e27]
        >>> lo, hi = robust_range(lows, highs)
        >>> round(lo, 3), round(hi, 3)
        (-0.015, 2.515)
        >>> robust_range(lows[:4], highs[:4]) is None
        True
    """
    return range_of(Extremes.of(lows, highs, log), fence=fence)


def range_of(extremes: Extremes, *, fence: float = FENCE) -> tuple[float, float] | None:
    """:func:`robust_range` of curves given by their :class:`Extremes`."""
    lo, hi = extremes
    if len(hi) < MIN_CURVES:
        return None
    q1 = _quantile(lo, 0.25)
    q3 = _quantile(hi, 0.75)
    spread = q3 - q1
    if spread <= 0:
        spread = max(abs(q3), 1e-12)
    top, bottom = q3 + fence * spread, q1 - fence * spread
    inside_hi = int(np.searchsorted(hi, top, side="right"))  # highs <= top
    outside_lo = int(np.searchsorted(lo, bottom, side="left"))  # lows < bottom
    if inside_hi == len(hi) and outside_lo == 0:
        return None
    a = float(lo[outside_lo]) if outside_lo < len(lo) else bottom
    b = float(hi[inside_hi - 1]) if inside_hi else top
    if b <= a:
        return None
    pad = PAD * (b - a)
    return a - pad, b + pad
