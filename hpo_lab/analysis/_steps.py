"""The staircase that bounds the region a set of 2-D points dominates."""

from __future__ import annotations

import numpy as np

from hpo_lab.analysis._data import StepLine


def staircase(points: np.ndarray, reference: np.ndarray | None, sign: np.ndarray) -> StepLine:
    """The step line of ``points`` (to minimise, shape ``(k, 2)``) in the original units.

    Dominated points and duplicates are dropped first. With ``reference`` (to minimise), only
    points better than it on both axes count, and the line starts at the reference's y and
    ends at its x. ``sign`` turns minimised coordinates back into the objectives' own.
    """
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    if reference is not None:
        pts = pts[np.all(pts < reference, axis=1)]
    if len(pts) == 0:
        return StepLine((), ())
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))]  # by x, then y
    keep = [pts[0]]
    for p in pts[1:]:
        if p[1] < keep[-1][1]:  # a larger x must come with a strictly smaller y
            keep.append(p)
    xs: list[float] = []
    ys: list[float] = []
    if reference is not None:
        xs.append(keep[0][0])
        ys.append(reference[1])
    for k, p in enumerate(keep):
        if k:
            xs.append(p[0])
            ys.append(keep[k - 1][1])
        xs.append(p[0])
        ys.append(p[1])
    if reference is not None:
        xs.append(reference[0])
        ys.append(keep[-1][1])
    sx, sy = float(sign[0]), float(sign[1])  # (+ 0.0 below turns -0.0 into 0.0)
    return StepLine(tuple(float(sx * v) + 0.0 for v in xs), tuple(float(sy * v) + 0.0 for v in ys))
