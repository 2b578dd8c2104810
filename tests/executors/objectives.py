"""Objectives for executor tests, in a module of their own.

Worker processes import a test objective's module to unpickle it; keeping these here (no torch,
no pytest at import) keeps spawning a worker quick. Behaviour is steered by the study's user
attributes, which every process reads from the shared storage.
"""

from __future__ import annotations

import os
import time


def conformance(trial):
    """The objective of ``test_conformance.py``: ``mode`` ok/raise/nan/oom, ``steps``, ``sleep``."""
    x = trial.suggest_float("x", 0, 1)
    attrs = trial.study.user_attrs
    mode = attrs.get("mode", "ok")
    for step in range(attrs.get("steps", 3)):
        trial.report(step, loss=x + step, extra=step * 2.0)
        time.sleep(attrs.get("sleep", 0.0))
    if mode == "raise":
        raise ValueError("objective broke")
    if mode == "nan":
        return float("nan")
    if mode == "oom":
        import torch

        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    return x


def slow(trial):
    """Reports ``loss`` every 20 ms for ``steps`` steps (study user attr, default 25); its pid
    goes to the user attribute ``pid`` so that tests can kill its process."""
    trial.set_user_attr("pid", os.getpid())
    x = trial.suggest_float("x", 0, 1)
    for step in range(trial.study.user_attrs.get("steps", 25)):
        trial.report(step, loss=x + 1.0 / (step + 1), hyper_lr=0.1 * x)
        time.sleep(0.02)
    return x


def forkable(trial):
    """Trains a two-weight 'model' for 4 epochs from its fork parent's checkpoint, if any,
    saving a checkpoint each epoch; the epoch it started from goes to user attr ``start``."""
    import torch

    x = trial.suggest_float("x", 0, 1)
    state = trial.load_checkpoint()
    start = 0 if state is None else int(state["epoch"]) + 1
    w = torch.zeros(2) if state is None else state["w"]
    trial.set_user_attr("start", start)
    for epoch in range(start, 4):
        w = w + x
        trial.report(epoch, loss=float(w.sum()))
        trial.save_checkpoint({"w": w, "epoch": epoch})
    return float(w.sum())


def on_gpu(trial):
    """Computes on ``trial.device``, reports CUDA tensors (converted in batches) and saves CUDA
    checkpoints; records what the process sees (user attrs ``visible``, ``device``)."""
    import torch

    trial.set_user_attr("visible", os.environ.get("CUDA_VISIBLE_DEVICES"))
    trial.set_user_attr("device", str(trial.device))
    x = trial.suggest_float("x", 0.5, 1)
    w = torch.full((4,), x, device=trial.device)
    for step in range(4):
        w = w * 1.5
        trial.report(step, loss=w.sum(), **{"hyper/x": torch.tensor(x, device=trial.device)})
        trial.save_checkpoint({"w": w, "step": step})
        time.sleep(0.1)
    return float(w.sum())
