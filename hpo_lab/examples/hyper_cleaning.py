"""Small-data reproductions of gradient-based HPO on scikit-learn's bundled digits (no download).

* :func:`hyper_cleaning`: data hyper-cleaning (Franceschi et al. 2017). Half of the training
  labels are flipped; one weight per training example (the sigmoid of a hyperparameter) is
  learned from hypergradients of the loss on a small clean validation set, and compared with
  training on the noisy data and on the clean subset only (oracle).
* :func:`compare_learning_curves`: hypergradient descent (Baydin et al. 2018) against plain
  SGD and Adam on a small MLP, per-epoch curves.

Both return plain result objects so a notebook can plot them; sizes and budgets are arguments
so a notebook can pick a run of a few seconds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hpo_lab.hypergrad import (
    SGDHD,
    AdamHD,
    OuterLoop,
    Reporter,
    gd_map,
    implicit_hypergrad,
    report_trace,
    reverse_hypergrad,
)

N_CLASSES = 10


@dataclass(frozen=True)
class DigitsSplit:
    """Standardised digits features (float tensors) and labels, split three ways."""

    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    x_test: Tensor
    y_test: Tensor


def load_digits_split(
    n_train: int, n_val: int, *, seed: int = 0, dtype: torch.dtype = torch.float32
) -> DigitsSplit:
    """Shuffle scikit-learn's digits (1797 images) into train / validation / test.

    Features are standardised with the training mean and standard deviation; the test set is
    every example not in the first two splits.
    """
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    if n_train < 1 or n_val < 1 or n_train + n_val >= len(y):
        raise ValueError(
            f"n_train and n_val must be >= 1 and leave test examples out of {len(y)}, got "
            f"n_train={n_train}, n_val={n_val}"
        )
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order], y[order]
    mean = x[:n_train].mean(0)
    std = x[:n_train].std(0) + 1.0
    x = torch.as_tensor((x - mean) / std, dtype=dtype)
    y = torch.as_tensor(y, dtype=torch.long)
    a, b = n_train, n_train + n_val
    return DigitsSplit(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])


# --------------------------------------------------------------------------- hyper-cleaning


@dataclass(frozen=True)
class HyperCleaningResult:
    """Outcome of :func:`hyper_cleaning`.

    Attributes:
        test_acc_noisy: test accuracy after training on all (noisy) labels, uniform weights.
        test_acc_oracle: test accuracy after training on the unflipped examples only.
        test_acc_cleaned: test accuracy after training with the learned example weights.
        precision: share of examples flagged (weight below ``threshold``) that were flipped.
        recall: share of flipped examples that were flagged.
        f1: harmonic mean of precision and recall.
        weights: learned per-example weights ``sigmoid(λ)``, shape ``(n_train,)``.
        flipped: whether each training label was flipped, shape ``(n_train,)``.
        val_losses: validation loss at each outer iteration.
        history: the :class:`~hpo_lab.hypergrad.OuterLoop` trace of each outer iteration.
        seconds: wall-clock time of the whole run.
        config: the arguments of the run.
    """

    test_acc_noisy: float
    test_acc_oracle: float
    test_acc_cleaned: float
    precision: float
    recall: float
    f1: float
    weights: np.ndarray
    flipped: np.ndarray
    val_losses: list[float]
    history: list[dict] = field(repr=False)
    seconds: float
    config: dict


def _linear_init(n_features: int, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    return torch.zeros(n_features, N_CLASSES, dtype=dtype), torch.zeros(N_CLASSES, dtype=dtype)


def _train_linear(x: Tensor, y: Tensor, weights: Tensor, steps: int, lr: float, l2: float):
    """Full-batch gradient descent on the weighted, L2-regularised softmax regression."""
    step = gd_map(_weighted_loss(x, y, l2, logits=False), lr)
    w = _linear_init(x.shape[1], x.dtype)
    for t in range(steps):
        w = tuple(p.detach() for p in step(w, (weights,), t))
    return w


def _weighted_loss(x: Tensor, y: Tensor, l2: float, *, logits: bool):
    """Inner loss; ``h[0]`` holds per-example weights, or their logits when ``logits``."""

    def loss(w: tuple[Tensor, ...], h: tuple[Tensor, ...]) -> Tensor:
        weights = torch.sigmoid(h[0]) if logits else h[0]
        per_example = F.cross_entropy(x @ w[0] + w[1], y, reduction="none")
        return (weights * per_example).mean() + 0.5 * l2 * (w[0] ** 2).sum()

    return loss


def _accuracy(w: tuple[Tensor, ...], x: Tensor, y: Tensor) -> float:
    return float(((x @ w[0] + w[1]).argmax(1) == y).double().mean())


def hyper_cleaning(
    *,
    n_train: int = 1000,
    n_val: int = 200,
    flip_fraction: float = 0.5,
    outer_steps: int = 60,
    inner_steps: int = 100,
    inner_lr: float = 1.0,
    outer_lr: float = 0.3,
    l2: float = 1e-3,
    method: str = "reverse",
    truncate: int | None = 20,
    threshold: float = 0.5,
    final_steps: int = 300,
    seed: int = 0,
    trial: Reporter | None = None,
) -> HyperCleaningResult:
    """Data hyper-cleaning on digits with per-example weights learned by hypergradients.

    The inner problem is softmax regression trained by ``inner_steps`` of full-batch gradient
    descent on ``mean_i sigmoid(λ_i) CE_i + l2/2 ‖W‖²``; the outer problem is the cross-entropy
    on ``n_val`` clean validation examples, minimised over ``λ`` by Adam with hypergradients from
    ``method`` (``"reverse"``: through the last ``truncate`` of the unrolled steps, each outer
    iteration training from scratch; ``"implicit"``: CG at the inner solution, warm-started
    across outer iterations). All three final models are trained the same way for
    ``final_steps`` steps. With the defaults a run takes about 5 s on 2 CPU cores (15 s with
    ``truncate=None``, the full unroll of Franceschi et al.).

    Args:
        n_train: training examples (a share ``flip_fraction`` gets a wrong label).
        n_val: clean validation examples; the rest of the 1797 digits are the test set.
        flip_fraction: share of training labels replaced by a different random class.
        outer_steps: hypergradient (outer) iterations.
        inner_steps: inner gradient steps per outer iteration.
        inner_lr: inner gradient-descent step size.
        outer_lr: Adam learning rate on ``λ``.
        l2: inner L2 regularisation.
        method: ``"reverse"`` or ``"implicit"``.
        truncate: for ``"reverse"``, back-propagate through the last ``truncate`` steps only
            (``None``: through all ``inner_steps``).
        threshold: examples with weight below it are flagged as flipped.
        final_steps: gradient steps used to train the three compared models.
        seed: seeds the split, the flips and torch.
        trial: an hpo_lab trial (anything with ``report(step, metrics)``) that receives the
            outer loop's trace after each outer iteration ``k`` (:func:`report_trace`):
            ``hyper/example_logit/mean|min|max``, ``hypergrad/example_logit/norm``,
            ``hypergrad_norm`` and ``outer_loss`` at step ``k``, so a session shows the run
            live. A pruned trial
            stops the run (``report`` raises).

    Returns:
        A :class:`HyperCleaningResult`.

    Example:
        >>> from hpo_lab.examples.hyper_cleaning import hyper_cleaning
        >>> r = hyper_cleaning(n_train=300, n_val=100, outer_steps=5, inner_steps=20)
        >>> 0.0 <= r.f1 <= 1.0 and r.weights.shape == (300,)
        True
    """
    if method not in ("reverse", "implicit"):
        raise ValueError(f"method must be 'reverse' or 'implicit', got {method!r}")
    if not 0.0 < flip_fraction < 1.0:
        raise ValueError(f"flip_fraction must be in (0, 1), got {flip_fraction!r}")
    config = {k: v for k, v in locals().items() if k != "trial"}
    start = time.perf_counter()
    torch.manual_seed(seed)
    data = load_digits_split(n_train, n_val, seed=seed)
    rng = np.random.default_rng(seed + 1)
    flipped = np.zeros(n_train, dtype=bool)
    flipped[rng.choice(n_train, size=round(flip_fraction * n_train), replace=False)] = True
    shift = torch.as_tensor(rng.integers(1, N_CLASSES, size=n_train))
    noisy = torch.where(torch.as_tensor(flipped), (data.y_train + shift) % N_CLASSES, data.y_train)

    lam = torch.zeros(n_train, requires_grad=True)
    step = gd_map(_weighted_loss(data.x_train, noisy, l2, logits=True), inner_lr)

    def val_loss(w: tuple[Tensor, ...], h: tuple[Tensor, ...]) -> Tensor:
        return F.cross_entropy(data.x_val @ w[0] + w[1], data.y_val)

    if method == "reverse":
        loop = OuterLoop(reverse_hypergrad, {"example_logit": lam}, lr=outer_lr, truncate=truncate)
    else:
        loop = OuterLoop(implicit_hypergrad, {"example_logit": lam}, lr=outer_lr, solver="cg")
    w = _linear_init(data.x_train.shape[1], data.x_train.dtype)
    val_losses = []
    for k in range(outer_steps):
        result = loop.step(w, step, val_loss, n_steps=inner_steps)
        val_losses.append(float(result.stats["outer_loss"]))
        if trial is not None:
            report_trace(trial, k, loop)
        if method == "implicit":
            w = result.final_params

    weights = torch.sigmoid(lam.detach())
    ones = torch.ones(n_train)
    clean = torch.as_tensor(~flipped)
    models = {
        "noisy": _train_linear(data.x_train, noisy, ones, final_steps, inner_lr, l2),
        "oracle": _train_linear(
            data.x_train[clean], noisy[clean], ones[clean], final_steps, inner_lr, l2
        ),
        "cleaned": _train_linear(data.x_train, noisy, weights, final_steps, inner_lr, l2),
    }
    acc = {k: _accuracy(m, data.x_test, data.y_test) for k, m in models.items()}
    flagged = weights.numpy() < threshold
    hits = int((flagged & flipped).sum())
    precision = hits / max(int(flagged.sum()), 1)
    recall = hits / max(int(flipped.sum()), 1)
    f1 = 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)
    return HyperCleaningResult(
        test_acc_noisy=acc["noisy"],
        test_acc_oracle=acc["oracle"],
        test_acc_cleaned=acc["cleaned"],
        precision=precision,
        recall=recall,
        f1=f1,
        weights=weights.numpy(),
        flipped=flipped,
        val_losses=val_losses,
        history=loop.history,
        seconds=time.perf_counter() - start,
        config=config,
    )


# --------------------------------------------------------------------------- HD learning curves

OPTIMIZERS = ("sgd", "sgd_hd", "adam", "adam_hd")


@dataclass(frozen=True)
class LearningCurves:
    """Per-epoch curves of :func:`compare_learning_curves`.

    Attributes:
        epochs: ``[1, ..., n_epochs]``.
        curves: optimizer name -> metric name -> one value per epoch. Metrics: ``train_loss``
            (mean over the epoch's batches), ``val_loss``, ``val_acc`` and ``lr`` (at the end of
            the epoch).
        seconds: wall-clock time per optimizer.
        config: the arguments of the run.
    """

    epochs: list[int]
    curves: dict[str, dict[str, list[float]]]
    seconds: dict[str, float]
    config: dict


def _make_optimizer(
    name: str, params, lr: float, hypergrad_lr: float, adam_lr: float, adam_hypergrad_lr: float
) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "sgd_hd":
        return SGDHD(params, lr=lr, hypergrad_lr=hypergrad_lr)
    if name == "adam":
        return torch.optim.Adam(params, lr=adam_lr)
    return AdamHD(params, lr=adam_lr, hypergrad_lr=adam_hypergrad_lr)


def compare_learning_curves(
    *,
    optimizers: tuple[str, ...] = OPTIMIZERS,
    epochs: int = 10,
    lr: float = 0.01,
    hypergrad_lr: float = 1e-3,
    adam_lr: float = 1e-3,
    adam_hypergrad_lr: float = 1e-7,
    batch_size: int = 32,
    hidden: int = 64,
    n_train: int = 1200,
    n_val: int = 300,
    seed: int = 0,
) -> LearningCurves:
    """Train the same MLP on digits with each optimizer from the same start, same batches.

    Defaults start SGD from a too-small learning rate (``lr=0.01``), the setting where
    hypergradient descent pays off: SGD-HD raises the rate online.

    Args:
        optimizers: names among ``("sgd", "sgd_hd", "adam", "adam_hd")``.
        epochs: passes over the training set.
        lr: SGD and SGD-HD (initial) learning rate.
        hypergrad_lr: SGD-HD hyper learning rate.
        adam_lr: Adam and Adam-HD (initial) learning rate.
        adam_hypergrad_lr: Adam-HD hyper learning rate.
        batch_size: minibatch size.
        hidden: width of the MLP's hidden layer (64 -> hidden -> 10, ReLU).
        n_train: training examples; ``n_val`` validation examples.
        n_val: validation examples.
        seed: seeds the split, the initial weights and the batch order.

    Returns:
        :class:`LearningCurves`.

    Example:
        >>> from hpo_lab.examples.hyper_cleaning import compare_learning_curves
        >>> c = compare_learning_curves(optimizers=("sgd", "sgd_hd"), epochs=1, n_train=200)
        >>> sorted(c.curves["sgd_hd"])
        ['lr', 'train_loss', 'val_acc', 'val_loss']
    """
    unknown = [o for o in optimizers if o not in OPTIMIZERS]
    if not optimizers or unknown:
        raise ValueError(f"optimizers must be names from {OPTIMIZERS}, got {optimizers!r}")
    config = dict(locals())
    data = load_digits_split(n_train, n_val, seed=seed)
    curves, seconds = {}, {}
    for name in optimizers:
        torch.manual_seed(seed)
        model = torch.nn.Sequential(
            torch.nn.Linear(64, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, N_CLASSES)
        )
        opt = _make_optimizer(
            name, model.parameters(), lr, hypergrad_lr, adam_lr, adam_hypergrad_lr
        )
        batches = torch.Generator().manual_seed(seed)
        metrics: dict[str, list[float]] = {
            "train_loss": [],
            "val_loss": [],
            "val_acc": [],
            "lr": [],
        }
        start = time.perf_counter()
        for _ in range(epochs):
            order = torch.randperm(n_train, generator=batches)
            total = torch.zeros(())
            n_batches = math.ceil(n_train / batch_size)
            for i in range(n_batches):
                idx = order[i * batch_size : (i + 1) * batch_size]
                opt.zero_grad()
                loss = F.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
                loss.backward()
                opt.step()
                total += loss.detach()
            with torch.no_grad():
                logits = model(data.x_val)
                metrics["val_loss"].append(float(F.cross_entropy(logits, data.y_val)))
                metrics["val_acc"].append(float((logits.argmax(1) == data.y_val).double().mean()))
            metrics["train_loss"].append(float(total) / n_batches)
            metrics["lr"].append(float(opt.param_groups[0]["lr"]))
        seconds[name] = time.perf_counter() - start
        curves[name] = metrics
    return LearningCurves(list(range(1, epochs + 1)), curves, seconds, config)
