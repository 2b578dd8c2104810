"""The live Pareto front: incremental updates against recomputing from scratch at each trial.

10,000 trials stream in one at a time. ``IncrementalFront.add`` updates the front and its
hypervolume; the baseline recomputes both from all points so far after every trial, with
Optuna's own vectorised code (``optuna.study._multi_objective._is_pareto_front`` and
``optuna._hypervolume.compute_hypervolume``). Two kinds of data: ``uniform`` (points in a
cube: small fronts, as when most trials are poor) and ``trade-off`` (points near a curved
surface: large fronts, the hard case). The results are checked to agree at the end.

Run: ``python benchmarks/pareto.py [--trials 10000] [--objectives 2 3 4] [--samples 40]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from optuna._hypervolume import compute_hypervolume
from optuna.study._multi_objective import _is_pareto_front

from hpo_lab.analysis import IncrementalFront


def make_points(kind: str, n: int, m: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.random((n, m))
    p = np.abs(rng.normal(size=(n, m)))
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    return 1.0 - p * rng.uniform(0.9, 1.0, size=(n, 1))  # near the sphere, minimised


def incremental(
    points: np.ndarray, ref: np.ndarray
) -> tuple[float, float, tuple[int, ...], float | None]:
    """Stream every point into an IncrementalFront; return total and worst update time."""
    front = IncrementalFront(["minimize"] * points.shape[1], reference_point=list(ref))
    worst = 0.0
    start = time.perf_counter()
    for i, p in enumerate(points):
        t = time.perf_counter()
        front.add(i, p)
        worst = max(worst, time.perf_counter() - t)
    return time.perf_counter() - start, worst, front.front, front.hypervolume


def recompute(points: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, float]:
    """Front (a mask) and hypervolume of ``points``, from scratch."""
    on = _is_pareto_front(points, assume_unique_lexsorted=False)
    front = points[on]
    return on, compute_hypervolume(front[np.all(front < ref, axis=1)], ref)


def scratch(
    points: np.ndarray, ref: np.ndarray, samples: int, budget: float
) -> tuple[float | None, float, int, tuple[set[int], float] | None]:
    """Time of recomputing after every trial: measured at ``samples`` evenly spaced trial
    counts k and integrated over k = 1..n (trapezoids), or exactly when ``samples`` >= n.

    Returns ``(total or None, time at the largest k measured, that k, final result)``; the
    total is None when one recomputation exceeded ``budget`` seconds (sampling stops there).
    """
    n = len(points)
    ks = np.unique(np.linspace(1, n, min(samples, n)).round().astype(int))
    times = []
    result = None
    for k in ks:
        t = time.perf_counter()
        on, hv = recompute(points[:k], ref)
        times.append(time.perf_counter() - t)
        if times[-1] > budget:
            return None, times[-1], int(k), None
        result = (set(np.flatnonzero(on).tolist()), hv)
    if len(ks) == n:
        return float(np.sum(times)), times[-1], n, result
    total = float(np.sum((np.diff(ks)) * (np.array(times[1:]) + np.array(times[:-1])) / 2))
    return total + times[0], times[-1], n, result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=10_000)
    p.add_argument("--objectives", type=int, nargs="+", default=[2, 3, 4])
    p.add_argument("--kinds", nargs="+", default=["uniform", "trade-off"])
    p.add_argument("--samples", type=int, default=40, help="trial counts the baseline is timed at")
    p.add_argument("--budget", type=float, default=30.0, help="give up on one recomputation after")
    args = p.parse_args()
    n = args.trials
    print(
        f"{n:,} trials streamed one by one, front and hypervolume after each. Incremental: every "
        f"update timed. From scratch: timed at {args.samples} trial counts, integrated over "
        f"all {n:,}.\n",
        flush=True,
    )
    head = (
        "| objectives | data      | front | incremental: mean / worst update |  total | "
        "from scratch: mean / last update |   total | speed-up |"
    )
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|", flush=True)
    for m in args.objectives:
        for kind in args.kinds:
            pts = make_points(kind, n, m)
            ref = np.full(m, 1.1)
            inc_total, inc_worst, inc_front, inc_hv = incremental(pts, ref)
            sc_total, sc_last, k, result = scratch(pts, ref, args.samples, args.budget)
            if result is not None and (
                set(inc_front) != result[0] or not np.isclose(inc_hv, result[1], rtol=1e-9)
            ):
                raise SystemExit(f"results differ for {m} objectives, {kind} data")
            inc = f"{inc_total / n * 1e6:8.1f} µs / {inc_worst * 1e3:6.1f} ms"
            if sc_total is None:
                sc = f"> {args.budget:.0f} s for one at {k:,} trials"
                total, speed = "—", "—"
            else:
                sc = f"{sc_total / n * 1e3:8.2f} ms / {sc_last * 1e3:7.1f} ms"
                total, speed = f"{sc_total:6.1f} s", f"{sc_total / inc_total:6.0f}×"
            print(
                f"| {m:>10} | {kind:<9} | {len(inc_front):>5} | {inc:>32} | {inc_total:5.2f} s | "
                f"{sc:>32} | {total:>7} | {speed:>8} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
