"""A fork-aware digits objective for population-based training, and the PBT-vs-random-search
comparison of the benchmark and the notebook.

The objective trains an MLP with plain SGD for ``epochs`` epochs in total; when the trial is a
fork it starts from the parent's checkpoint (weights, optimizer state, epoch) and continues with
its own — possibly changed — learning rate. A learning-rate *schedule* helps here (large early,
small late), which one fixed rate per trial cannot express and PBT discovers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from hpo_lab.examples.digits import evaluate, load_digits_data, make_mlp

EPOCHS = 8
BATCH = 64


def pbt_objective(trial: Any, epochs: int = EPOCHS) -> float:
    """Train, reporting ``val_loss``/``val_acc`` and saving a checkpoint every epoch."""
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    device = getattr(trial, "device", torch.device("cpu"))
    data = load_digits_data().to(device)
    torch.manual_seed(trial.number)
    model = make_mlp(64, 1, 0.0).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    start = 0
    state = trial.load_checkpoint()
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        for group in opt.param_groups:
            group["lr"] = lr  # the fork's (explored) rate from here on
        start = int(state["epoch"]) + 1
    g = torch.Generator(device="cpu").manual_seed(1000 * trial.number + start)
    n = len(data.x_train)
    val_loss = evaluate(model, data.x_val, data.y_val)[0]
    for epoch in range(start, epochs):
        perm = torch.randperm(n, generator=g).to(device)
        for i in range(0, n, BATCH):
            idx = perm[i : i + BATCH]
            loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        trial.report(epoch, val_loss=val_loss, val_acc=val_acc, **{"hyper/lr": lr})
        trial.save_checkpoint(
            {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch}
        )
    return float(val_loss)


@dataclass
class Comparison:
    """Final validation loss of the best trial, and epochs trained, for PBT and random search."""

    pbt_best: float
    pbt_epochs: int
    random_best: float
    random_epochs: int
    pbt_lineage: list[dict[str, Any]]


def _epochs(session: Any) -> int:
    m = session.metrics()
    m = m[m.name == "val_loss"]
    return len(m)


def compare(
    population: int = 8,
    interval: int = 1,
    epochs: int = EPOCHS,
    seed: int = 0,
    storage: Any = ":memory:",
) -> Comparison:
    """Run PBT and random search with the same population and compare (``epochs`` each)."""
    import hpo_lab as hl

    def objective(trial: Any) -> float:
        return pbt_objective(trial, epochs)

    pbt = hl.PBT(population=population, interval=interval, quantile=0.25, seed=seed)
    s_pbt = hl.Session(
        objective,
        name=f"pbt-{seed}",
        metric="val_loss",
        sampler="random",
        pruner="none",
        n_workers=population,
        seed=seed,
        storage=storage,
        progress=False,
        scheduler=pbt,
        keep_checkpoints=2,
    )
    s_pbt.start(population).wait()
    pbt_epochs = _epochs(s_pbt)
    s_rs = hl.Session(
        objective,
        name=f"random-{seed}",
        metric="val_loss",
        sampler="random",
        pruner="none",
        n_workers=population,
        seed=seed,
        storage=storage,
        progress=False,
    )
    # the same number of trials, then more until random search has trained as many epochs
    s_rs.start(population).wait()
    while _epochs(s_rs) + epochs <= pbt_epochs:
        s_rs.start(1).wait()
    done = [t for t in s_pbt.trials if t.state.name == "COMPLETE"]
    return Comparison(
        pbt_best=min(t.value for t in done),
        pbt_epochs=pbt_epochs,
        random_best=s_rs.best_value,
        random_epochs=_epochs(s_rs),
        pbt_lineage=pbt.decisions,
    )
