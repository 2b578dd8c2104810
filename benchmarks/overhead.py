"""hpo_lab's per-trial overhead against raw Optuna, measured side by side in one run.

1,000 trials of a trivial objective with 10 reports each, through ``hl.Session`` (one worker
thread) and through ``optuna.Study.optimize`` with the same sampler, pruner and kind of
storage (each side on a fresh journal file). Rounds alternate to share machine noise; the
median round counts. Goal: hpo_lab <= 1.1x raw Optuna headless.

Also: ms/trial of the default storage (journal file) against SQLite through Optuna.

Run: ``python benchmarks/overhead.py [--trials 1000] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import optuna

import hpo_lab as hl

optuna.logging.set_verbosity(optuna.logging.WARNING)
N_REPORTS = 10


def hl_objective(trial):
    x = trial.suggest_float("x", -10, 10)
    for step in range(N_REPORTS):
        trial.report(step, loss=(x - 2) ** 2 + 1.0 / (step + 1))
    return (x - 2) ** 2


def optuna_objective(trial):
    x = trial.suggest_float("x", -10, 10)
    for step in range(N_REPORTS):
        trial.report((x - 2) ** 2 + 1.0 / (step + 1), step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return (x - 2) ** 2


def journal(path: Path) -> optuna.storages.BaseStorage:
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def run_hpo_lab(n: int, folder: Path) -> float:
    s = hl.Session(
        hl_objective,
        name="bench",
        metric="loss",
        sampler="random",
        seed=0,
        pruner="median",
        storage=folder,
        progress=False,
    )
    t0 = time.perf_counter()
    s.start(n).wait()
    dt = time.perf_counter() - t0
    assert len(s.trials) == n and len(s.metrics()) == sum(
        len(t.intermediate_values) for t in s.trials
    )
    s.close()
    return dt


def run_optuna(n: int, storage: optuna.storages.BaseStorage) -> float:
    study = optuna.create_study(
        storage=storage,
        study_name="bench",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
    )
    t0 = time.perf_counter()
    study.optimize(optuna_objective, n_trials=n)
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    n = args.trials
    rows: dict[str, list[float]] = {"raw Optuna (journal file)": [], "hpo_lab (journal file)": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            rows["raw Optuna (journal file)"].append(
                run_optuna(n, journal(Path(tmp) / f"o{r}.log"))
            )
            rows["hpo_lab (journal file)"].append(run_hpo_lab(n, Path(tmp) / f"h{r}"))
        sqlite = (
            run_optuna(n // 4, optuna.storages.RDBStorage(f"sqlite:///{tmp}/s.db")) / (n // 4) * n
        )
    print(
        f"{n} trials x {N_REPORTS} reports, random sampler, median pruner, 1 worker, "
        f"{args.rounds} alternating rounds (median shown)\n"
    )
    print(f"{'path':32} {'s total':>9} {'ms/trial':>9}")
    med = {k: statistics.median(v) for k, v in rows.items()}
    for k, v in med.items():
        print(f"{k:32} {v:9.2f} {v / n * 1000:9.2f}")
    print(f"{'raw Optuna (SQLite, 1/4 of n)':32} {sqlite:9.2f} {sqlite / n * 1000:9.2f}")
    ratio = med["hpo_lab (journal file)"] / med["raw Optuna (journal file)"]
    print(f"\nhpo_lab / raw Optuna: {ratio:.3f}x   (goal <= 1.1x)")
    print(
        f"default storage (journal file) through hpo_lab: "
        f"{med['hpo_lab (journal file)'] / n * 1000:.2f} ms/trial; SQLite through Optuna: "
        f"{sqlite / n * 1000:.2f} ms/trial"
    )


if __name__ == "__main__":
    main()
