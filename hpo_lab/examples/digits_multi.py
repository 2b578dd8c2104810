"""Two objectives that really conflict: a digits MLP's validation error against its size.

A wider or deeper network classifies better but has more parameters (and answers more
slowly); the Pareto front shows what each extra parameter buys. The objective returns a dict,
so the session names its objectives:

    session = hl.Session(digits_multi_objective, directions=DIRECTIONS, metric="val_error")

It also measures the inference latency of one batch (``latency_ms``), for a third objective
(``directions=DIRECTIONS_WITH_LATENCY``) or, kept as a user attribute, for an outcome
constraint: ``session.constrain("latency_ms <= 0.5")``. The data ships with scikit-learn: no
downloads.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from hpo_lab.examples.digits import evaluate, load_digits_data, make_mlp

#: Minimise validation error and parameter count.
DIRECTIONS = {"val_error": "minimize", "params": "minimize"}
#: ... and the time to classify one batch of 64 images.
DIRECTIONS_WITH_LATENCY = {**DIRECTIONS, "latency_ms": "minimize"}


def count_params(model: nn.Module) -> int:
    """The number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def latency_ms(model: nn.Module, x: torch.Tensor, repeats: int = 20) -> float:
    """Median wall time (ms) of one forward pass on ``x``, after a warm-up pass."""
    model.eval()
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(repeats):
            if x.device.type == "cuda":
                torch.cuda.synchronize(x.device)
            start = time.perf_counter()
            model(x)
            if x.device.type == "cuda":
                torch.cuda.synchronize(x.device)
            times.append((time.perf_counter() - start) * 1e3)
    model.train()
    return sorted(times)[len(times) // 2]


def digits_multi_objective(trial: Any, epochs: int = 10, batch_size: int = 128) -> dict[str, Any]:
    """Tune an MLP's width, depth, learning rate and dropout on digits, for accuracy and size.

    Reports ``train_loss``, ``val_loss`` and ``val_error`` every epoch; returns
    ``{"val_error": ..., "params": ..., "latency_ms": ...}`` (the session uses the keys its
    ``directions`` name). ``params`` and ``latency_ms`` are also set as user attributes, so
    outcome constraints and tables see them whichever objectives the session names.

    Example:
        >>> import hpo_lab as hl
        >>> trial = hl.FixedTrial({"hidden": 16, "layers": 1, "lr": 0.1, "dropout": 0.0},
        ...                       number=0, device="cpu", verbose=False)
        >>> result = digits_multi_objective(trial, epochs=2)
        >>> result["params"], result["val_error"] < 0.5
        (1210, True)
    """
    hidden = trial.suggest_int("hidden", 4, 256, log=True)
    layers = trial.suggest_int("layers", 1, 3)
    lr = trial.suggest_float("lr", 1e-3, 3e-1, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.3)
    device = getattr(trial, "device", torch.device("cpu"))
    data = load_digits_data().to(device)
    torch.manual_seed(trial.number)
    model = make_mlp(hidden, layers, dropout).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    n = len(data.x_train)
    val_error = 1.0
    for epoch in range(epochs):
        perm = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.detach() * len(idx)
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        val_error = 1.0 - float(val_acc)
        trial.report(epoch, train_loss=total / n, val_loss=val_loss, val_error=val_error)
    result = {
        "val_error": val_error,
        "params": count_params(model),
        "latency_ms": latency_ms(model, data.x_val[:64]),
    }
    trial.set_user_attr("params", result["params"])
    trial.set_user_attr("latency_ms", result["latency_ms"])
    return result
