"""Small-data paper reproductions on scikit-learn's digits, printed as tables.

Run: ``PYTHONPATH=. python benchmarks/hyper_cleaning.py [--quick]``.

1. Data hyper-cleaning (Franceschi et al. 2017): 50% of the training labels flipped; per-example
   weights learned by reverse-mode (full and truncated) and implicit hypergradients.
2. Hypergradient descent (Baydin et al. 2018): per-epoch validation loss of SGD, SGD-HD, Adam
   and Adam-HD on a digits MLP, starting SGD from a too-small learning rate.
"""

from __future__ import annotations

import argparse

from hpo_lab.examples.hyper_cleaning import compare_learning_curves, hyper_cleaning


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    cells = [header, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("  " + " | ".join(c.ljust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  " + "-+-".join("-" * w for w in widths))


def cleaning_table(quick: bool) -> None:
    size = (
        {"n_train": 400, "n_val": 100, "outer_steps": 20, "inner_steps": 30}
        if quick
        else {"n_train": 1000, "n_val": 200, "outer_steps": 60, "inner_steps": 100}
    )
    runs = {
        "reverse (full unroll)": {"method": "reverse", "truncate": None},
        "reverse, truncate=20": {"method": "reverse", "truncate": 20},
        "implicit (CG, warm start)": {"method": "implicit", "inner_steps": 30},
    }
    rows = []
    for name, settings in runs.items():
        r = hyper_cleaning(**{**size, **settings})
        rows.append(
            [
                name,
                f"{r.test_acc_noisy:.3f}",
                f"{r.test_acc_oracle:.3f}",
                f"{r.test_acc_cleaned:.3f}",
                f"{r.precision:.3f}",
                f"{r.recall:.3f}",
                f"{r.f1:.3f}",
                f"{r.seconds:.1f}",
            ]
        )
    print_table(
        f"Data hyper-cleaning on digits: {size['n_train']} training examples (50% labels "
        f"flipped), {size['n_val']} clean validation, {size['outer_steps']} outer steps "
        f"x {size['inner_steps']} inner steps (test accuracy; flipped-label detection at weight "
        "< 0.5)",
        ["method", "noisy", "oracle", "cleaned", "precision", "recall", "F1", "seconds"],
        rows,
    )


def curves_table(quick: bool) -> None:
    epochs = 5 if quick else 10
    curves = compare_learning_curves(epochs=epochs, lr=0.01, hypergrad_lr=1e-3)
    rows = []
    for name, metrics in curves.curves.items():
        shown = [f"{v:.3f}" for v in metrics["val_loss"]]
        rows.append(
            [
                name,
                *shown,
                f"{metrics['val_acc'][-1]:.3f}",
                f"{metrics['lr'][-1]:.4g}",
                f"{curves.seconds[name]:.2f}",
            ]
        )
    print_table(
        "HD vs SGD/Adam on a digits MLP 64-64-10 (validation loss per epoch; SGD and SGD-HD "
        "start at lr=0.01 with beta=1e-3, Adam and Adam-HD at 1e-3 with beta=1e-7)",
        ["optimizer", *[f"ep{e}" for e in curves.epochs], "val acc", "final lr", "seconds"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller problems")
    args = parser.parse_args()
    cleaning_table(args.quick)
    curves_table(args.quick)


if __name__ == "__main__":
    main()
