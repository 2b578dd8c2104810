"""Value-axis ranges that one diverging trial cannot flatten.

A learning rate too large sends a loss to 1e27, and an axis that shows it squeezes every other
curve onto a line. Like TensorBoard's "ignore outliers in chart scaling", the axis then spans
the curves that are not outlying; the outliers run off the chart (plotly's autoscale button
still shows everything).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: How far (in typical spans of the curves) beyond the quartiles a curve is outlying.
FENCE = 3.0
#: Fewer curves than this are never judged.
MIN_CURVES = 4
PAD = 0.05


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
    lo = np.asarray(lows, dtype=np.float64)
    hi = np.asarray(highs, dtype=np.float64)
    if log:
        keep = (lo > 0) & (hi > 0)
        lo, hi = np.log10(lo[keep]), np.log10(hi[keep])
    keep = np.isfinite(lo) & np.isfinite(hi)
    lo, hi = lo[keep], hi[keep]
    if len(hi) < MIN_CURVES:
        return None
    q1 = float(np.quantile(lo, 0.25))
    q3 = float(np.quantile(hi, 0.75))
    spread = q3 - q1
    if spread <= 0:
        spread = max(abs(q3), 1e-12)
    top, bottom = q3 + fence * spread, q1 - fence * spread
    inside_hi, inside_lo = hi[hi <= top], lo[lo >= bottom]
    if len(inside_hi) == len(hi) and len(inside_lo) == len(lo):
        return None
    a = float(inside_lo.min()) if len(inside_lo) else bottom
    b = float(inside_hi.max()) if len(inside_hi) else top
    if b <= a:
        return None
    pad = PAD * (b - a)
    return a - pad, b + pad
