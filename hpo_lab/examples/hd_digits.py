"""Hypergradient descent inside trials: an outer (black-box) search over SGD-HD's own settings —
the initial learning rate and the hyper-learning-rate β — on digits. Every trial reports its
learning-rate schedule and hypergradients as live series (``hyper/lr``, ``hypergrad/lr``), so the
dashboard shows the traces of every trial side by side.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hpo_lab.examples.digits import evaluate, load_digits_data, make_mlp
from hpo_lab.hypergrad import SGDHD, report_trace


def hd_objective(trial: Any, epochs: int = 8, batch_size: int = 64, trace_every: int = 5) -> float:
    """Train with SGD-HD from ``lr0`` with hyper-learning-rate ``beta``; return the final
    validation loss. Reports ``train_loss`` and the hypergradient trace every ``trace_every``
    steps, ``val_loss``/``val_acc`` every epoch (steps count optimisation steps)."""
    lr0 = trial.suggest_float("lr0", 1e-3, 0.3, log=True)
    beta = trial.suggest_float("beta", 1e-5, 1e-2, log=True)
    device = getattr(trial, "device", torch.device("cpu"))
    data = load_digits_data().to(device)
    torch.manual_seed(trial.number)
    model = make_mlp(64, 1, 0.0).to(device)
    opt = SGDHD(model.parameters(), lr=lr0, hypergrad_lr=beta)
    n, step = len(data.x_train), 0
    g = torch.Generator().manual_seed(trial.number)
    val_loss = torch.tensor(float("nan"))
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g).to(device)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % trace_every == 0:
                trial.report(step, train_loss=loss)
                report_trace(trial, step, opt)
            step += 1
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        trial.report(step, val_loss=val_loss, val_acc=val_acc)
    return float(val_loss)
