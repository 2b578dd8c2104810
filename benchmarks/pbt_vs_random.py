"""Population-based training against random search on digits, with the same total epochs.

Both start from a population of 8 random learning rates (plain SGD, 8 epochs per lineage); PBT
replaces the bottom quarter every epoch by perturbed forks of the top quarter; random search then
runs extra trials until it has trained as many epochs as PBT did. Prints the best final
validation loss of each, per seed.

Run: ``python benchmarks/pbt_vs_random.py [--seeds 5]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import optuna

from hpo_lab.examples.pbt_digits import compare

optuna.logging.set_verbosity(optuna.logging.WARNING)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=5)
    args = p.parse_args()
    print(
        f"{'seed':>4} {'PBT best':>9} {'epochs':>7} {'random best':>12} {'epochs':>7} "
        f"{'exploits':>9} {'s':>5}"
    )
    rows = []
    for seed in range(args.seeds):
        t = time.perf_counter()
        c = compare(seed=seed)
        rows.append(c)
        print(
            f"{seed:>4} {c.pbt_best:9.4f} {c.pbt_epochs:7d} {c.random_best:12.4f} "
            f"{c.random_epochs:7d} {len(c.pbt_lineage):9d} {time.perf_counter() - t:5.1f}"
        )
    wins = sum(c.pbt_best < c.random_best for c in rows)
    print(
        f"\nmean best validation loss: PBT {statistics.mean(c.pbt_best for c in rows):.4f}, "
        f"random search {statistics.mean(c.random_best for c in rows):.4f}; "
        f"PBT better in {wins} of {len(rows)} seeds"
    )


if __name__ == "__main__":
    main()
