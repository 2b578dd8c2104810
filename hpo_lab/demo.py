"""The quickstart search, headless: ``python -m hpo_lab.demo`` (or ``hpo-lab demo``).

Tunes a small PyTorch MLP on scikit-learn's digits with TPE and the median pruner, two trials at
a time, with a progress bar in the terminal, then prints the best trial.
"""

from __future__ import annotations

import argparse
import sys

import hpo_lab as hl
from hpo_lab.examples.digits import digits_objective


def run(
    n_trials: int = 30,
    n_workers: int = 2,
    storage: str | None = None,
    name: str = "demo-digits",
    progress: bool = True,
) -> hl.Session:
    """Run the demo search and return its session."""
    session = hl.Session(
        digits_objective,
        name=name,
        metric="val_loss",
        direction="minimize",
        sampler="tpe",
        pruner="median",
        n_workers=n_workers,
        storage=storage,
        progress=progress,
        seed=0,
    )
    session.start(n_trials=n_trials)
    session.wait()
    return session


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="hpo-lab demo", description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=30, help="number of trials (default 30)")
    p.add_argument("--workers", type=int, default=2, help="trials at once (default 2)")
    p.add_argument("--storage", default=None, help="storage folder or URL (default .hpo_lab/)")
    p.add_argument("--name", default="demo-digits", help="session name (default demo-digits)")
    args = p.parse_args(argv)
    s = run(args.trials, args.workers, args.storage, args.name)
    print(s)
    best = s.best_trial
    print(f"best val_loss {best.value:.4f} (trial {best.number}) with")
    for k, v in best.params.items():
        print(f"  {k:>13} = {v:.4g}" if isinstance(v, float) else f"  {k:>13} = {v}")
    acc = s.metrics(best.number)["val_acc"].iloc[-1]
    print(f"its validation accuracy: {acc:.3f}")
    print(f"stored in {s.storage.describe()}; reload with hl.Session.load({s.name!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
