"""What the live dashboard costs while a big search streams into it.

A session of ``--trials`` trials (default 1,000) of ``--steps`` steps (1,000): all but ``--live``
of them are finished trials written straight into storage (about a million stored points, which
the dashboard loads when it is created), and the last ``--live`` (48) run for real, ``--running``
(16) at once, reporting every ``--step-ms`` (5) ms. Measured:

- kernel: the pump's cost per dashboard update (widgets without a front end), p50/p95/max, in
  wall time and in the pump thread's CPU time (the difference is waiting: for the GIL, which
  the trial threads and the kernel's own threads hold in turn, and for a busy machine's cores);
- browser (real JupyterLab and chromium, the test harness): the pump's cost per update with a
  front end attached; the time from a ``trial.report`` to its point drawn in the learning
  curves (a ``plotly_afterplot`` or ``plotly_animated``, then the next animation frame); the
  round trip of a trivial cell while the dashboard streams; the time to load and first show the
  dashboard.

Goals: kernel cost per update p95 <= 20 ms; report -> visible p95 <= 250 ms; a trivial cell
< 100 ms while streaming.

Run: ``python benchmarks/dashboard_stream.py [--trials 1000] [--steps 1000] [--no-browser]``
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna

import hpo_lab as hl

optuna.logging.set_verbosity(optuna.logging.WARNING)
REPO = Path(__file__).resolve().parents[1]
DISTRIBUTIONS = {
    "lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
    "hidden": optuna.distributions.IntDistribution(16, 256, log=True),
    "dropout": optuna.distributions.FloatDistribution(0.0, 0.5),
}


def loss_curve(params: dict[str, float], steps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausible validation loss: decays to a floor set by the parameters, with noise."""
    floor = abs(math.log10(params["lr"]) + 2.5) * 0.15 + params["dropout"] * 0.2
    return floor + np.exp(-steps / (len(steps) / 6 + 1)) + rng.normal(0, 0.01, len(steps))


def fill_history(session: hl.Session, n_trials: int, n_steps: int, seed: int = 0) -> None:
    """Writes ``n_trials`` finished trials (70 % complete, 30 % pruned) and their curves."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n_steps, dtype=np.float64)
    trials, rows = [], []
    t0 = time.time() - 3600
    for n in range(n_trials):
        params = {
            "lr": float(10 ** rng.uniform(-4, -1)),
            "hidden": int(rng.integers(16, 257)),
            "dropout": float(rng.uniform(0, 0.5)),
        }
        curve = loss_curve(params, steps, rng)
        complete = rng.random() < 0.7
        last = n_steps if complete else int(rng.integers(5, n_steps))
        trials.append(
            optuna.trial.create_trial(
                state=optuna.trial.TrialState.COMPLETE
                if complete
                else optuna.trial.TrialState.PRUNED,
                params=params,
                distributions=DISTRIBUTIONS,
                value=float(curve[last - 1]) if complete else None,
            )
        )
        when = t0 + n + steps[:last] * 1e-3
        rows.extend(zip([n] * last, ["val_loss"] * last, steps[:last], curve[:last], when))
    session.study.add_trials(trials)
    for i in range(0, len(rows), 250_000):
        session.store.append_points(session.name, rows[i : i + 250_000])


class Streaming:
    """The live trials' objective; remembers when it reported every ``sample``-th step."""

    def __init__(self, n_steps: int, step_s: float, sample: int = 10) -> None:
        self.n_steps, self.step_s, self.sample = n_steps, step_s, sample
        self.reports: list[tuple[int, float, float]] = []
        self._lock = threading.Lock()

    def __call__(self, trial: hl.Trial) -> float:
        params = {
            "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
            "hidden": trial.suggest_int("hidden", 16, 256, log=True),
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        }
        rng = np.random.default_rng(trial.number)
        curve = loss_curve(params, np.arange(self.n_steps, dtype=np.float64), rng)
        next_at = time.perf_counter()
        for step in range(self.n_steps):
            now = time.time()
            trial.report(step, val_loss=float(curve[step]))
            if step % self.sample == 0:
                with self._lock:
                    self.reports.append((trial.number, float(step), now))
            next_at += self.step_s
            time.sleep(max(0.0, next_at - time.perf_counter()))
        return float(curve[-1])


def make_session(args: argparse.Namespace, folder: str) -> tuple[hl.Session, Streaming, float]:
    """The benchmark's session (history written), its live objective, and the fill time."""
    live = Streaming(args.steps, args.step_ms / 1000)
    session = hl.Session(
        live,
        name="dashboard-bench",
        metric="val_loss",
        sampler="random",
        pruner="none",
        seed=0,
        n_workers=args.running,
        storage=folder,
        progress=False,
    )
    began = time.perf_counter()
    fill_history(session, args.trials - args.live, args.steps)
    return session, live, time.perf_counter() - began


def percentiles(values: list[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    if not len(a):
        return {"n": 0, "p50": math.nan, "p95": math.nan, "max": math.nan}
    return {
        "n": len(a),
        "p50": float(np.percentile(a, 50)),
        "p95": float(np.percentile(a, 95)),
        "max": float(a.max()),
    }


# ---------------------------------------------------------------------------------- kernel
def kernel_bench(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        session, _, fill_s = make_session(args, folder)
        began = time.perf_counter()
        board = session.dashboard(budget=args.budget, interval=args.interval)
        load_s = time.perf_counter() - began
        board.frame_times.clear()
        board.frame_cpu_times.clear()
        session.start(n_trials=args.live).wait()
        session.bus.flush()
        frames_ms = [t * 1000 for t in board.frame_times]
        cpu_ms = [t * 1000 for t in board.frame_cpu_times]
        board.close()
        session.close()
    return {
        "fill_s": fill_s,
        "load_s": load_s,
        "frames_ms": percentiles(frames_ms),
        "cpu_ms": percentiles(cpu_ms),
    }


# ---------------------------------------------------------------------------------- browser
HOOK_JS = """() => {
  const gd = document.querySelector('.hpo-dash-curves .js-plotly-plot');
  window.__hpoSeen = [];
  const seen = () => requestAnimationFrame(() => {
    const painted = Date.now() / 1000;
    for (const trace of gd.data) {
      if (trace.visible === false || !trace.name || !trace.name.startsWith('trial ')) continue;
      const x = trace.x;
      if (x && x.length) {
        window.__hpoSeen.push([Number(trace.name.slice(6)), x[x.length - 1], painted]);
      }
    }
  });
  gd.on('plotly_afterplot', seen);  // a full redraw
  gd.on('plotly_animated', seen);  // running curves moved without one
  return true;
}"""


def latencies(
    reports: list[tuple[int, float, float]], seen: list[tuple[int, float, float]], n_steps: int
) -> tuple[list[float], int]:
    """Seconds from each sampled report to the first paint that shows its step."""
    by_trial: dict[int, list[tuple[float, float]]] = {}
    for number, step, painted in seen:
        by_trial.setdefault(int(number), []).append((painted, step))
    for frames in by_trial.values():
        frames.sort()
    out, missed = [], 0
    for number, step, reported in reports:
        if step > n_steps - 50:  # the last steps may show only once the trial has ended
            continue
        frames = by_trial.get(number, [])
        hit = next((p for p, s in frames if s >= step and p >= reported), None)
        if hit is None:
            missed += 1
        else:
            out.append(hit - reported)
    return out, missed


def browser_bench(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from playwright.sync_api import sync_playwright

    from tests.browser.lab import Lab, launch_chromium
    from tests.browser.server import JupyterServer

    bench_dir = str(Path(__file__).resolve().parent)
    options = {
        k: getattr(args, k)
        for k in ("trials", "steps", "live", "running", "step_ms", "budget", "interval")
    }
    cells = [
        f"""\
import sys, tempfile, time, argparse
sys.path.insert(0, {bench_dir!r})
import dashboard_stream as bench
args = argparse.Namespace(**{options!r})
folder = tempfile.mkdtemp()
session, live, fill_s = bench.make_session(args, folder)
t0 = time.perf_counter()
board = session.dashboard(budget=args.budget, interval=args.interval)
load_s = time.perf_counter() - t0
shown_at = time.time()""",
        "board",
    ]
    out: dict[str, Any] = {}
    root, state = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp())
    env = {"PYTHONPATH": str(REPO)}
    with JupyterServer.start(root, state, env=env, log_path=state / "server.log") as server:
        server.write_notebook("bench.ipynb", cells)
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                with Lab(server, browser, state) as lab:
                    nb = lab.open("bench.ipynb")
                    nb.run_all(timeout=300)
                    nb.wait_for(".hpo-dash-curves .js-plotly-plot .scatterlayer .trace", 120)
                    out["first_show_s"] = time.time() - nb.evaluate("shown_at")
                    out["load_s"] = nb.evaluate("load_s")
                    nb.page.evaluate(HOOK_JS)
                    nb.execute(
                        "board.frame_times.clear(); board.frame_cpu_times.clear(); "
                        "_ = session.start(n_trials=args.live)"
                    )
                    time.sleep(3)  # let the first wave get going
                    cells_ms = []
                    for _ in range(20):
                        began = time.perf_counter()
                        nb.execute("1 + 1")
                        cells_ms.append((time.perf_counter() - began) * 1000)
                        time.sleep(0.25)
                    nb.execute("session.wait(); session.bus.flush(); time.sleep(1)", timeout=600)
                    reports = nb.evaluate("live.reports")
                    seen = nb.page.evaluate("() => window.__hpoSeen")
                    frames_ms = nb.evaluate("[t * 1000 for t in board.frame_times]")
                    cpu_ms = nb.evaluate("[t * 1000 for t in board.frame_cpu_times]")
                    out["frames_ms"] = percentiles(frames_ms)
                    out["cpu_ms"] = percentiles(cpu_ms)
                    lat, missed = latencies(reports, seen, args.steps)
                    out["latency_ms"] = percentiles([x * 1000 for x in lat])
                    out["latency_missed"] = missed
                    out["cell_ms"] = percentiles(cells_ms)
                    nb.execute("board.close(); session.close()")
            finally:
                browser.close()
    return out


# ---------------------------------------------------------------------------------- report
def table(args: argparse.Namespace, kernel: dict[str, Any], browser: dict[str, Any] | None) -> str:
    def row(what: str, stats: dict[str, float], goal: str) -> str:
        return (
            f"| {what} | {stats['n']} | {stats['p50']:.1f} | {stats['p95']:.1f} | "
            f"{stats['max']:.1f} | {goal} |"
        )

    points = (args.trials - args.live) * args.steps * 0.85
    lines = [
        f"{args.trials} trials x {args.steps} steps ({args.trials - args.live} stored, about "
        f"{points / 1e6:.2f} M points; {args.live} live, {args.running} at once, a report every "
        f"{args.step_ms} ms each)",
        "",
        "| measure | n | p50 ms | p95 ms | max ms | goal |",
        "|---|---|---|---|---|---|",
        row("kernel: pump cost per update, no front end", kernel["frames_ms"], "p95 <= 20"),
        row("kernel: pump CPU time per update, no front end", kernel["cpu_ms"], ""),
    ]
    if browser:
        lines += [
            row(
                "kernel: pump cost per update, JupyterLab attached",
                browser["frames_ms"],
                "p95 <= 20",
            ),
            row("kernel: pump CPU time per update, JupyterLab attached", browser["cpu_ms"], ""),
            row("report -> point drawn in the browser", browser["latency_ms"], "p95 <= 250"),
            row("trivial cell round trip while streaming", browser["cell_ms"], "< 100"),
        ]
    lines += [
        "",
        f"history written in {kernel['fill_s']:.1f} s; dashboard created (loads it all) in "
        f"{kernel['load_s']:.2f} s without a front end"
        + (
            f", {browser['load_s']:.2f} s in JupyterLab, first shown "
            f"{browser['first_show_s']:.1f} s after; {browser['latency_missed']} sampled reports "
            "never seen"
            if browser
            else ""
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--live", type=int, default=48)
    parser.add_argument("--running", type=int, default=16)
    parser.add_argument("--step-ms", type=float, default=5.0)
    parser.add_argument("--budget", type=int, default=15_000, help="Dashboard(budget=)")
    parser.add_argument("--interval", type=float, default=0.1, help="Dashboard(interval=)")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()
    if not 0 < args.live <= args.trials:
        parser.error(f"--live must be between 1 and --trials ({args.trials}), got {args.live}")
    # The browser part first: the kernel part leaves its closed session in this process (its
    # model of 0.81 M points, idle threads), which measurably slowed the browser part after it.
    browser = None if args.no_browser else browser_bench(args)
    kernel = kernel_bench(args)
    print(table(args, kernel, browser))
    if args.json:
        args.json.write_text(json.dumps({"kernel": kernel, "browser": browser}, indent=1))


if __name__ == "__main__":
    main()
