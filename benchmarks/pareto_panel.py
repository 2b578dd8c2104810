"""What a frame of the Pareto tab costs in the kernel with 10,000 trials (compute + apply).

A dashboard model holds ``--trials`` complete trials (default 10,000) of 2 or 3 objectives, of two
kinds (``uniform``: points in a cube, small fronts; ``trade-off``: points near a curved surface,
large fronts, the hard case). The tab is built on a plotly ``FigureWidget`` without a browser
(its messages are serialised, binary buffers included, and counted, then dropped), and:

- ``open``: the first frame, the tab opened on a finished search (everything computed and sent);
- ``1 done`` / ``8 done``: frames in which 1 or 8 more trials complete, at 10,000 trials
  (the last ``--frames`` trials stream in), p50 / p95 / max;
- ``select``: a click that selects a trial;
- ``new ref``: a reference point typed in (the hypervolume history is replayed);
- ``no cache``: one frame computed from scratch (what each frame would cost without the
  incremental front), for comparison.

Run: ``python benchmarks/pareto_panel.py [--trials 10000] [--frames 200] [--objectives 2 3]``

Measured on the workplace's 2 shared CPU cores (November 2026; ms, KB sent in brackets):

| m | data | front | open | 1 done p50/p95/max | 8 done p50/p95/max | select | new ref | scratch |
|---|---|---|---|---|---|---|---|---|
| 2 | cube | 11 | 163 (225) | 0.9 / 4.0 / 18.9 (8) | 1.4 / 4.0 / 10.5 (9) | 0.5 | 48 | 436 |
| 2 | curved | 269 | 140 (243) | 1.6 / 9.7 / 65.7 (22) | 3.3 / 15.3 / 63.4 (21) | 0.8 | 79 | 503 |
| 3 | cube | 59 | 1207 (667) | 1.6 / 4.2 / 10.6 (23) | 2.4 / 7.6 / 16.0 (25) | 0.8 | 307 | 429 |
| 3 | curved | 1715 | 7940 (727) | 4.7 / 25 / 34 (83) | 19 / 45 / 76 (211) | 6.4 | 5973 | 8036 |

(m: objectives; cube: ``uniform``; curved: ``trade-off``; scratch: ``no cache``.)
The maxima of ``n done`` are frames in which the suggested reference point moved (the history
is replayed). With three objectives and a front of 1,700 points, the data layer
(``IncrementalFront``: a dominance check and an exclusive hypervolume per point) is what costs:
opening such a search, or typing a reference point, takes seconds.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

import numpy as np
from pareto import make_points  # benchmarks/pareto.py: the same point sets (run as a script)

from hpo_lab.dashboard import DashboardModel, PanelContext, ParetoPanel, pareto_view_data
from hpo_lab.events import TrialFinished


class Board:
    """What a dashboard gives a panel: a context, the selection, a refresh that redraws."""

    def __init__(self, model: DashboardModel) -> None:
        self.model = model
        self.selected: int | None = None
        self.context = PanelContext(
            None,  # type: ignore[arg-type]  (no session: every trial is feasible)
            {"height": 400},
            lock=threading.RLock(),
            get_model=lambda: self.model,
            get_selected=lambda: self.selected,
            select=lambda n: setattr(self, "selected", n),
            control=lambda *a, **k: True,
            refresh=lambda panel: panel.apply(panel.compute(self.model)),
        )


def count_bytes(figure: Any) -> list[int]:
    """Replaces the figure's (dummy) comm's ``send`` by one that adds up what it is given."""
    sent = [0]

    def send(data: Any = None, metadata: Any = None, buffers: Any = None) -> None:
        binary = sum(memoryview(b).nbytes for b in buffers or ())
        sent[0] += len(json.dumps(data, default=str)) + binary

    figure.comm.send = send
    return sent


def frame(panel: ParetoPanel, model: DashboardModel) -> float:
    began = time.perf_counter()
    panel.apply(panel.compute(model))
    return (time.perf_counter() - began) * 1e3


def run(kind: str, m: int, n: int, frames: int) -> dict[str, Any]:
    points = make_points(kind, n, m)
    names = [f"f{k}" for k in range(m)]
    model = DashboardModel("bench", ["minimize"] * m, objective_names=names)
    stream = max(frames * 8, 2 * frames)
    prefill = n - stream
    model.apply(
        [TrialFinished(i, "COMPLETE", tuple(points[i]), time=float(i)) for i in range(prefill)]
    )
    board = Board(model)
    panel = ParetoPanel(board.context)
    panel.build()
    sent = count_bytes(panel.figure)
    out: dict[str, Any] = {"kind": kind, "objectives": m}
    out["open_ms"] = frame(panel, model)
    out["open_kb"] = sent[0] / 1e3
    nxt = prefill
    for per_frame, label in ((1, "1 done"), (8, "8 done")):
        times, sizes = [], []
        for _ in range(frames if per_frame == 1 else (stream - frames) // 8):
            batch = range(nxt, min(nxt + per_frame, n))
            if not batch:
                break
            model.apply(
                [TrialFinished(i, "COMPLETE", tuple(points[i]), time=float(i)) for i in batch]
            )
            nxt = batch[-1] + 1
            sent[0] = 0
            times.append(frame(panel, model))
            sizes.append(sent[0] / 1e3)
        out[label] = (np.percentile(times, 50), np.percentile(times, 95), max(times))
        out[f"{label} kb"] = float(np.median(sizes))
    data = panel._data
    out["trials"] = len(model.trials)
    out["front"] = len(data.front)
    out["gl"] = panel.points.gl
    selects = []
    for number in data.front[:20]:
        board.selected = number
        selects.append(frame(panel, model))
    out["select"] = float(np.median(selects))
    began = time.perf_counter()
    panel.set_reference_point([1.5] * m)
    out["new ref"] = (time.perf_counter() - began) * 1e3
    began = time.perf_counter()
    pareto_view_data(model, reference_point=[1.5] * m)
    out["no cache"] = (time.perf_counter() - began) * 1e3
    panel.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--objectives", type=int, nargs="+", default=[2, 3])
    args = parser.parse_args()
    rows = [
        run(kind, m, args.trials, args.frames)
        for m in args.objectives
        for kind in ("uniform", "trade-off")
    ]
    print(f"Pareto tab, {args.trials:,} complete trials, kernel side (ms per frame)\n")
    head = (
        "| objectives | data | front | open (KB) | 1 done p50/p95/max (KB) | "
        "8 done p50/p95/max (KB) | select | new ref | no cache |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for r in rows:
        one, eight = r["1 done"], r["8 done"]
        print(
            f"| {r['objectives']} | {r['kind']} | {r['front']} "
            f"| {r['open_ms']:.0f} ({r['open_kb']:.0f}) "
            f"| {one[0]:.1f} / {one[1]:.1f} / {one[2]:.1f} ({r['1 done kb']:.0f}) "
            f"| {eight[0]:.1f} / {eight[1]:.1f} / {eight[2]:.1f} ({r['8 done kb']:.0f}) "
            f"| {r['select']:.1f} | {r['new ref']:.0f} | {r['no cache']:.0f} |"
        )
    print(
        "\nopen: the first frame on a finished search; n done: a frame in which n trials "
        "complete,\nbetween 8,400 and 10,000 trials; select: a click; new ref: a typed "
        "reference point\n(replays the hypervolume history); no cache: a frame computed from "
        "scratch.\nKB: what the frame sends to the browser. Points drawn with WebGL: "
        f"{rows[0]['gl']} (over 6,000)."
    )


if __name__ == "__main__":
    main()
