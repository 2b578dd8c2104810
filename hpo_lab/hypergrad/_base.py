"""Shared types, input checks and autograd helpers for the offline hypergradient methods.

Every offline method has the same signature (the contract of :class:`HypergradMethod`)::

    method(params, hparams, update_map, outer_loss, *, n_steps, **settings) -> HypergradResult

* ``params``: the initial inner parameters ``w_0`` (a tensor or a sequence of tensors). They are
  never modified; the methods work on detached aliases.
* ``hparams``: the hyperparameters ``λ`` (a tensor or a sequence of tensors), each a floating-point
  tensor with ``requires_grad=True``.
* ``update_map(params, hparams, step) -> new_params``: one differentiable inner-optimisation step
  ``w_{t+1} = Φ(w_t, λ, t)``. It receives a tuple of tensors that require grad (fresh leaves or
  parts of a graph) and returns tensors shaped like ``params``. When it computes a gradient
  internally it must use ``torch.autograd.grad(..., create_graph=True)`` (see
  :func:`~hpo_lab.hypergrad.gd_map`). A method that needs no derivatives for a step passes
  hyperparameters that do not require grad; maps may then skip ``create_graph`` to save work.
* ``outer_loss(params, hparams) -> scalar``: the outer objective ``E(w_T, λ)``, e.g. a validation
  loss.
* ``n_steps``: the number of inner steps ``T >= 1``.

The result holds ``dE(w_T(λ), λ)/dλ`` (or an approximation of it, depending on the method) with the
same shapes as ``hparams``, the final inner iterate ``w_T`` and a dictionary of statistics (costs,
memory). Offline methods never touch ``.grad`` of ``params`` or ``hparams``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

Tensors = tuple[Tensor, ...]
UpdateMap = Callable[[Tensors, Tensors, int], Sequence[Tensor]]
OuterLoss = Callable[[Tensors, Tensors], Tensor]


class HypergradResult(NamedTuple):
    """What every offline hypergradient method returns.

    Attributes:
        hypergrads: ``dE/dλ``, one detached tensor per hyperparameter, shaped like ``hparams``.
        final_params: the detached final inner iterate ``w_T``, shaped like ``params``.
        stats: method-specific statistics. Always present: ``"method"`` (str), ``"n_steps"``
            (int), ``"outer_loss"`` (0-dim tensor, ``E(w_T, λ)``), ``"grad_calls"`` (int, number
            of ``torch.autograd.grad`` calls made for the hypergradient, excluding the gradients
            taken inside ``update_map``) and ``"peak_bytes"`` (int, the largest number of bytes
            held at once for the hypergradient: stored iterates, tangents and tensors saved by
            autograd; ``None`` unless the method ran with ``track_memory=True``).
    """

    hypergrads: Tensors
    final_params: Tensors
    stats: dict[str, Any]


class HypergradMethod(Protocol):
    """The shared signature of :func:`reverse_hypergrad`, :func:`forward_hypergrad` and
    :func:`implicit_hypergrad`; see the module docstring of ``hpo_lab.hypergrad._base``."""

    def __call__(
        self,
        params: Tensor | Sequence[Tensor],
        hparams: Tensor | Sequence[Tensor],
        update_map: UpdateMap,
        outer_loss: OuterLoss,
        *,
        n_steps: int,
        **settings: Any,
    ) -> HypergradResult: ...


def as_tensors(value: Tensor | Sequence[Tensor], name: str) -> Tensors:
    """Return ``value`` as a non-empty tuple of floating-point tensors or raise naming ``name``."""
    items = (value,) if isinstance(value, Tensor) else value
    if not isinstance(items, Sequence) or isinstance(items, str) or len(items) == 0:
        raise TypeError(
            f"{name} must be a tensor or a non-empty sequence of tensors, got {value!r:.80}"
        )
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(f"{name}[{i}] must be a torch.Tensor, got {type(item).__name__}")
        if not item.is_floating_point():
            raise TypeError(f"{name}[{i}] must be a floating-point tensor, got dtype {item.dtype}")
    return tuple(items)


def check_hparams(hparams: Tensor | Sequence[Tensor]) -> Tensors:
    """Validate hyperparameters: floating point and ``requires_grad=True``."""
    out = as_tensors(hparams, "hparams")
    for i, h in enumerate(out):
        if not h.requires_grad:
            raise ValueError(
                f"hparams[{i}] (shape {tuple(h.shape)}) has requires_grad=False; expected a "
                "floating-point tensor created with requires_grad=True"
            )
    return out


def check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an int ``>= minimum``, else raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return value


def check_prepared(
    params: Tensor | Sequence[Tensor], hparams: Tensor | Sequence[Tensor], n_steps: object
) -> tuple[Tensors, Tensors, int]:
    """Validate the three inputs shared by every offline method."""
    p = as_tensors(params, "params")
    h = check_hparams(hparams)
    return p, h, check_int("n_steps", n_steps, 1)


def apply_map(update_map: UpdateMap, params: Tensors, hparams: Tensors, step: int) -> Tensors:
    """Call ``update_map`` and check that it returns tensors shaped like ``params``."""
    out = update_map(params, hparams, step)
    if isinstance(out, Tensor):
        out = (out,)
    got = [tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__ for t in out]
    want = [tuple(p.shape) for p in params]
    if got != want:
        raise ValueError(
            f"update_map(params, hparams, step={step}) returned {got}; expected tensors with "
            f"shapes {want} (one per entry of params)"
        )
    return tuple(out)


def eval_outer(outer_loss: OuterLoss, params: Tensors, hparams: Tensors) -> Tensor:
    """Call ``outer_loss`` and check that it returns a one-element tensor."""
    value = outer_loss(params, hparams)
    if not isinstance(value, Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
        raise ValueError(f"outer_loss(params, hparams) must return a scalar tensor, got {shape}")
    return value.reshape(())


def leaves(tensors: Sequence[Tensor]) -> Tensors:
    """Detached copies of ``tensors`` that require grad (fresh leaves of a new graph)."""
    return tuple(t.detach().requires_grad_(True) for t in tensors)


def detach_all(tensors: Sequence[Tensor]) -> Tensors:
    """Detach every tensor of a sequence."""
    return tuple(t.detach() for t in tensors)


def plain_step(update_map: UpdateMap, params: Tensors, hparams: Tensors, step: int) -> Tensors:
    """One inner step with no derivatives kept: hyperparameters are passed detached."""
    return detach_all(apply_map(update_map, leaves(params), detach_all(hparams), step))


def grads(
    outputs: Sequence[Tensor] | Tensor,
    inputs: Sequence[Tensor],
    grad_outputs: Sequence[Tensor] | None = None,
    *,
    retain_graph: bool = False,
    create_graph: bool = False,
) -> Tensors:
    """``torch.autograd.grad`` returning zeros for inputs that the outputs do not depend on."""
    if isinstance(outputs, Tensor):
        outputs = (outputs,)
    pairs = [
        (o, g) for o, g in zip(outputs, grad_outputs or [None] * len(outputs)) if o.requires_grad
    ]
    if not pairs:
        return tuple(torch.zeros_like(t) for t in inputs)
    return torch.autograd.grad(
        [o for o, _ in pairs],
        list(inputs),
        None if grad_outputs is None else [g for _, g in pairs],
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=True,
        materialize_grads=True,
    )


def nbytes(tensors: Sequence[Tensor]) -> int:
    """Bytes held by the elements of ``tensors``."""
    return sum(t.numel() * t.element_size() for t in tensors)
