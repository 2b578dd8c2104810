"""Shared machinery of the online hypergradient optimizers: tensor-valued hyperparameters kept on
the parameters' device, argument checks and the evaluation of closures."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor


def check_nonneg(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a real number ``>= 0``, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{name} must be a float >= 0, got {value!r}")
    return float(value)


def check_range(name: str, value: object, low: float, high: float) -> float:
    """Return ``value`` as a float if ``low <= value < high``, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < high:
        raise ValueError(f"{name} must be a float in [{low}, {high}), got {value!r}")
    return float(value)


def scalar_like(value: float | Tensor, params: Sequence[Tensor]) -> Tensor:
    """A 0-dim tensor holding ``value`` on the device of ``params[0]``, at least float32."""
    ref = params[0]
    dtype = torch.promote_types(ref.dtype, torch.float32)
    if isinstance(value, Tensor):
        return value.detach().to(device=ref.device, dtype=dtype).reshape(()).clone()
    return torch.tensor(float(value), device=ref.device, dtype=dtype)


def ensure_tensors(group: dict[str, Any], names: Sequence[str]) -> None:
    """Turn hyperparameters written into ``group`` as floats (by a scheduler or a user) back
    into 0-dim tensors on the parameters' device."""
    for name in names:
        if not isinstance(group[name], Tensor):
            group[name] = scalar_like(group[name], group["params"])


def dot(xs: Sequence[Tensor], ys: Sequence[Tensor], like: Tensor) -> Tensor:
    """``Σ_i <xs[i], ys[i]>`` as a 0-dim tensor (zero, shaped like ``like``, when empty)."""
    if not xs:
        return torch.zeros_like(like)
    parts = [torch.dot(x.reshape(-1), y.reshape(-1)) for x, y in zip(xs, ys)]
    total = parts[0] if len(parts) == 1 else torch.stack(parts).sum()
    return total.to(like.dtype)


def single_group_params(groups: list[dict[str, Any]], cls: str) -> list[Tensor]:
    """The parameters of an optimizer that supports exactly one parameter group."""
    if len(groups) != 1:
        raise ValueError(
            f"{cls} tunes one set of hyperparameters shared by all parameters; got "
            f"{len(groups)} parameter groups, expected 1 (pass a plain iterable of parameters)"
        )
    return groups[0]["params"]


def params_with_grad(params: Iterable[Tensor], cls: str) -> list[Tensor]:
    """The parameters that have a gradient; sparse gradients are rejected."""
    out = []
    for p in params:
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            raise RuntimeError(f"{cls} does not support sparse gradients")
        out.append(p)
    return out


def training_grads(closure: Any, params: Sequence[Tensor], cls: str) -> tuple[Tensor, list[Tensor]]:
    """Evaluate ``closure()`` (the training loss) and its gradient with a graph for HVPs."""
    if not callable(closure):
        raise TypeError(
            f"{cls}.step needs closure: a callable returning the training loss as a scalar "
            f"tensor (without calling backward), got {closure!r}"
        )
    with torch.enable_grad():
        loss = closure()
        if not isinstance(loss, Tensor) or loss.numel() != 1 or not loss.requires_grad:
            raise ValueError(
                f"{cls}.step: closure() must return a scalar tensor that requires grad, got "
                f"{loss!r:.80}"
            )
        grads = torch.autograd.grad(
            loss, list(params), create_graph=True, allow_unused=True, materialize_grads=True
        )
    return loss.detach(), list(grads)


def outer_grads(outer_closure: Any, params: Sequence[Tensor], cls: str) -> list[Tensor]:
    """Gradient of ``outer_closure()`` (e.g. a validation loss) at the current parameters."""
    if not callable(outer_closure):
        raise TypeError(
            f"{cls}.step: outer_closure must be callable or None, got {outer_closure!r}"
        )
    with torch.enable_grad():
        value = outer_closure()
        if not isinstance(value, Tensor) or value.numel() != 1:
            raise ValueError(
                f"{cls}.step: outer_closure() must return a scalar tensor, got {value!r:.80}"
            )
        if not value.requires_grad:
            return [torch.zeros_like(p) for p in params]
        grads = torch.autograd.grad(value, list(params), allow_unused=True, materialize_grads=True)
    return list(grads)
