"""Ready-made differentiable inner update maps for the offline methods."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ._base import Tensors, UpdateMap

InnerLoss = Callable[[Tensors, Tensors], Tensor]


def gd_map(inner_loss: InnerLoss, lr: float | Callable[[Tensors], Tensor]) -> UpdateMap:
    """Build the gradient-descent update map ``Φ(w, λ) = w - lr · ∇_w inner_loss(w, λ)``.

    The map keeps the graph of the inner gradient (``create_graph=True``) whenever a derivative
    can be asked for, i.e. when a hyperparameter requires grad or a parameter is part of a graph;
    when the caller passes detached hyperparameters it takes a cheap first-order step.

    Args:
        inner_loss: ``inner_loss(params, hparams) -> scalar`` training objective.
        lr: the step size: a positive float, or a callable ``lr(hparams) -> tensor`` when the
            learning rate is itself a hyperparameter.

    Returns:
        ``update_map(params, hparams, step) -> new_params`` for any offline method.

    Example:
        >>> import torch
        >>> from hpo_lab.hypergrad import gd_map, reverse_hypergrad
        >>> lam = torch.tensor(0.1, requires_grad=True)
        >>> inner = lambda w, h: ((w[0] - 1.0) ** 2).sum() + h[0] * (w[0] ** 2).sum()
        >>> step = gd_map(inner, lr=0.1)
        >>> res = reverse_hypergrad(
        ...     [torch.zeros(3)], [lam], step, lambda w, h: (w[0] ** 2).sum(), n_steps=50
        ... )
        >>> bool(res.hypergrads[0] < 0)  # more regularisation shrinks w towards 0
        True
    """
    if not callable(inner_loss):
        raise TypeError(f"inner_loss must be callable, got {type(inner_loss).__name__}")
    if not callable(lr) and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr <= 0):
        raise ValueError(f"lr must be a positive float or a callable of hparams, got {lr!r}")

    def update(params: Sequence[Tensor], hparams: Sequence[Tensor], step: int) -> Tensors:
        create_graph = any(h.requires_grad for h in hparams) or any(
            p.grad_fn is not None for p in params
        )
        ws = [p if p.requires_grad else p.detach().requires_grad_(True) for p in params]
        with torch.enable_grad():
            loss = inner_loss(tuple(ws), tuple(hparams))
            gs = torch.autograd.grad(loss, ws, create_graph=create_graph, allow_unused=True)
        rate = lr(tuple(hparams)) if callable(lr) else lr
        out = []
        for w, g in zip(ws, gs):
            out.append(w if g is None else w - rate * g)
        return tuple(out)

    return update
