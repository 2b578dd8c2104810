"""A small PyTorch MLP on scikit-learn's bundled digits (8x8 images, 10 classes, 1,797 samples).

Used by the quickstart notebook, the headless demo, tests and benchmarks. Everything is local:
the data ships with scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn


@dataclass
class DigitsData:
    """Standardised tensors: a training split and a validation split."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor

    def to(self, device: Any) -> DigitsData:
        return DigitsData(
            *(t.to(device) for t in (self.x_train, self.y_train, self.x_val, self.y_val))
        )


_cache: dict[tuple[int, float], DigitsData] = {}


def load_digits_data(seed: int = 0, val_fraction: float = 0.3) -> DigitsData:
    """Digits as float32 tensors (standardised with training statistics), split at random."""
    key = (seed, val_fraction)
    if key not in _cache:
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        g = torch.Generator().manual_seed(seed)
        perm = torch.randperm(len(x), generator=g)
        x = torch.tensor(x, dtype=torch.float32)[perm]
        y = torch.tensor(y, dtype=torch.long)[perm]
        n_val = int(len(x) * val_fraction)
        x_train, x_val = x[n_val:], x[:n_val]
        mean, std = x_train.mean(0), x_train.std(0).clamp_min(1e-3)
        _cache[key] = DigitsData((x_train - mean) / std, y[n_val:], (x_val - mean) / std, y[:n_val])
    return _cache[key]


def make_mlp(hidden: int = 64, layers: int = 1, dropout: float = 0.0) -> nn.Module:
    """An MLP from 64 pixels to 10 classes."""
    mods: list[nn.Module] = []
    width = 64
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
        width = hidden
    mods.append(nn.Linear(width, 10))
    return nn.Sequential(*mods)


def evaluate(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss and accuracy of ``model`` on ``(x, y)``, as 0-d tensors (no device sync)."""
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        acc = (logits.argmax(1) == y).float().mean()
    model.train()
    return loss, acc


def digits_objective(trial: Any, epochs: int = 15, batch_size: int = 128) -> float:
    """Tune an MLP's learning rate, width, depth, dropout and weight decay on digits.

    Reports ``train_loss``, ``val_loss`` and ``val_acc`` every epoch; returns the final
    validation loss.
    """
    lr = trial.suggest_float("lr", 1e-4, 3e-1, log=True)
    hidden = trial.suggest_int("hidden", 16, 128, log=True)
    layers = trial.suggest_int("layers", 1, 2)
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    weight_decay = trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True)
    device = getattr(trial, "device", torch.device("cpu"))
    data = load_digits_data().to(device)
    torch.manual_seed(trial.number)
    model = make_mlp(hidden, layers, dropout).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    n = len(data.x_train)
    val_loss = torch.tensor(float("nan"))
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
        trial.report(epoch, train_loss=total / n, val_loss=val_loss, val_acc=val_acc)
    return float(val_loss)
