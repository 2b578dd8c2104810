"""Scaling out: trials per second with 1, 2 and 4 workers on the thread, process and Dask
executors; the delay from a worker's ``report`` to the notebook; the per-trial cost of the Dask
path against raw Optuna.

The objective sleeps 50 ms in five steps of 10 ms, reporting at each (random sampler, no pruner:
every trial runs all five steps). It needs no CPU, so the ideal is a linear speed-up (k workers:
k times the 1-worker rate); what falls short of it is hpo_lab's, Optuna's and the executor's own
per-trial work (storage, scheduling, pickling), which competes for the machine's cores. Every
storage is a fresh journal folder (the default kind). Process and Dask workers are started
before timing (a warm-up run), as in a notebook where the cluster is up before the search. Each
configuration runs ``--rounds`` times and the fastest round counts (other jobs on a shared
machine only ever slow a round down).

Run: ``python benchmarks/scale_out.py [--trials 60] [--workers 1 2 4] [--rounds 2]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import optuna

import hpo_lab as hl
from hpo_lab.events import MetricsReported
from hpo_lab.executors import ProcessExecutor

optuna.logging.set_verbosity(optuna.logging.WARNING)
STEPS, STEP_S = 5, 0.010


def objective(trial):
    x = trial.suggest_float("x", -10, 10)
    for step in range(STEPS):
        time.sleep(STEP_S)
        trial.report(step, loss=(x - 2) ** 2 + 1.0 / (step + 1))
    return (x - 2) ** 2


def optuna_objective(trial):
    x = trial.suggest_float("x", -10, 10)
    for step in range(STEPS):
        time.sleep(STEP_S)
        trial.report((x - 2) ** 2 + 1.0 / (step + 1), step)
    return (x - 2) ** 2


class Latency:
    """When each reported value reaches a subscriber of the session's event stream."""

    def __init__(self, session: hl.Session) -> None:
        self.delays: list[float] = []
        self.on = False
        self._lock = threading.Lock()
        session.bus.subscribe(self._seen, interval=0.001, name="latency")

    def _seen(self, batch) -> None:
        now = time.time()
        if self.on:
            with self._lock:
                self.delays.extend(now - e.time for e in batch if isinstance(e, MetricsReported))


def make_executor(kind: str, workers: int):
    """(executor argument, cleanup) for ``kind``."""
    if kind == "threads":
        return "threads", lambda: None
    if kind == "processes":
        ex = ProcessExecutor(env={"OMP_NUM_THREADS": "1"})
        return ex, lambda: ex.shutdown(wait=True)
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=50,
    )
    client = Client(cluster)

    def close() -> None:
        client.close()
        cluster.close()

    return client, close


def run(
    kind: str, workers: int, n: int, rounds: int, folder: Path
) -> tuple[float, list[float], float]:
    """Trials per second and s/trial of the fastest of ``rounds`` runs, and report delays (s)."""
    executor, close = make_executor(kind, workers)
    try:
        s = hl.Session(
            objective,
            storage=folder,
            metric="loss",
            sampler="random",
            seed=0,
            pruner="none",
            executor=executor,
            n_workers=workers,
            progress=False,
        )
        lat = Latency(s)
        s.start(workers).wait()  # warm-up: worker processes started, code loaded
        best = float("inf")
        for _ in range(rounds):
            lat.on = True
            t0 = time.perf_counter()
            s.start(n).wait()
            best = min(best, time.perf_counter() - t0)
            s.bus.flush()
            lat.on = False
        assert all(t.state.name == "COMPLETE" for t in s.trials), "a trial did not complete"
        s.close()
        return n / best, lat.delays, best / n
    finally:
        close()


def raw_optuna(n: int, rounds: int, folder: Path) -> float:
    """s/trial of ``optuna.Study.optimize`` with the same objective and kind of storage (the
    fastest of ``rounds``)."""
    from optuna.storages.journal import JournalFileBackend

    folder.mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(
        storage=optuna.storages.JournalStorage(JournalFileBackend(str(folder / "journal.log"))),
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.optimize(optuna_objective, n_trials=2)
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        study.optimize(optuna_objective, n_trials=n)
        best = min(best, time.perf_counter() - t0)
    return best / n


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=60)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    n = args.trials
    rows = []
    delays: dict[str, list[float]] = {}
    per_trial: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("threads", "processes", "dask"):
            base = None
            for k in args.workers:
                rate, lat, spt = run(kind, k, n, args.rounds, Path(tmp) / f"{kind}{k}")
                base = base or rate / k
                rows.append((kind, k, rate, base * k, rate / (base * k)))
                delays.setdefault(kind, []).extend(lat)
                if k == 1:
                    per_trial[kind] = spt
        raw = raw_optuna(n, args.rounds, Path(tmp) / "raw")

    ideal_one = 1.0 / (STEPS * STEP_S)
    print(
        f"{n} trials of a {STEPS * STEP_S * 1000:.0f} ms objective ({STEPS} reports), journal "
        f"storage, {os.cpu_count()} CPU cores, best of {args.rounds} rounds; ideal for one "
        f"worker: {ideal_one:.1f} trials/s\n"
    )
    print(f"{'executor':10} {'workers':>7} {'trials/s':>9} {'linear':>9} {'of linear':>10}")
    for kind, k, rate, linear, frac in rows:
        print(f"{kind:10} {k:7d} {rate:9.2f} {linear:9.2f} {frac:9.0%}")
    print("\nreport -> notebook subscriber (all runs of each executor)")
    print(f"{'executor':10} {'values':>7} {'median ms':>10} {'p95 ms':>8}")
    for kind, d in delays.items():
        med, p95 = statistics.median(d) * 1000, pct(d, 0.95) * 1000
        print(f"{kind:10} {len(d):7d} {med:10.1f} {p95:8.1f}")
    print("\nper trial, one worker, same objective and storage kind")
    obj_ms = STEPS * STEP_S * 1000
    print(f"{'path':22} {'ms/trial':>9} {'beyond the objective':>21}")
    print(f"{'raw Optuna (optimize)':22} {raw * 1000:9.1f} {raw * 1000 - obj_ms:21.1f}")
    for kind, spt in per_trial.items():
        print(f"{'hpo_lab, ' + kind:22} {spt * 1000:9.1f} {spt * 1000 - obj_ms:21.1f}")
    dask = per_trial.get("dask")
    if dask is not None:
        print(f"\nDask path against raw Optuna: +{(dask - raw) * 1000:.1f} ms per trial")


if __name__ == "__main__":
    main()
