"""Forward-mode hypergradients (Franceschi et al. 2017): propagate the tangent ``dw_t/dλ``
alongside the inner iterates, with memory independent of the number of steps."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from ._base import (
    HypergradResult,
    OuterLoss,
    UpdateMap,
    apply_map,
    check_prepared,
    eval_outer,
    grads,
    leaves,
    nbytes,
)
from ._memory import SavedBytes


def forward_hypergrad(
    params: Tensor | Sequence[Tensor],
    hparams: Tensor | Sequence[Tensor],
    update_map: UpdateMap,
    outer_loss: OuterLoss,
    *,
    n_steps: int,
    track_memory: bool = False,
) -> HypergradResult:
    """Exact hypergradient of ``outer_loss(w_T)`` by forward-mode differentiation.

    Runs the tangent recursion ``Z_{t+1} = A_t Z_t + B_t`` with ``A_t = ∂Φ/∂w`` and
    ``B_t = ∂Φ/∂λ`` next to the inner steps, then returns ``∇_w E · Z_T + ∂E/∂λ``. ``Z`` has one
    column per scalar hyperparameter, so memory is ``(1 + m)·|w|`` for ``m`` scalar
    hyperparameters, whatever ``n_steps``; time grows with ``m``. Use it for a few
    hyperparameters and long horizons; use :func:`reverse_hypergrad` or
    :func:`implicit_hypergrad` for many.

    Each Jacobian-vector product is obtained by double backward (the JVP of ``Φ`` is the gradient
    of its VJP ``u ↦ Jᵀu`` along the tangent), which works for any map built from
    ``torch.autograd.grad(..., create_graph=True)`` and avoids forward-AD dtype pitfalls.

    Args:
        params: initial inner parameters ``w_0``.
        hparams: hyperparameters, each with ``requires_grad=True``; their total number of
            elements is the number of tangent columns.
        update_map: ``update_map(params, hparams, step) -> new_params``.
        outer_loss: ``outer_loss(params, hparams) -> scalar``.
        n_steps: number of inner steps ``T >= 1``.
        track_memory: count the bytes autograd saves per step (off by default, it costs time);
            when ``False``, ``"graph_bytes"`` and ``"peak_bytes"`` are ``None``.

    Returns:
        :class:`HypergradResult`; ``stats`` adds ``"columns"`` (number of tangent columns),
        ``"tangent_bytes"`` (``Z`` plus the current iterate) and ``"graph_bytes"`` (the largest
        one-step graph).

    Example:
        >>> import torch
        >>> from hpo_lab.hypergrad import forward_hypergrad, gd_map
        >>> lam = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        >>> inner = lambda w, h: 0.5 * ((w[0] - 2.0) ** 2).sum() + 0.5 * h[0] * (w[0] ** 2).sum()
        >>> res = forward_hypergrad(
        ...     [torch.zeros(1, dtype=torch.float64)], [lam], gd_map(inner, lr=0.5),
        ...     lambda w, h: 0.5 * ((w[0] - 1.0) ** 2).sum(), n_steps=200,
        ... )
        >>> round(res.hypergrads[0].item(), 6)
        -0.296296
    """
    w, hp, n_steps = check_prepared(params, hparams, n_steps)
    columns = [(i, j) for i, h in enumerate(hp) for j in range(h.numel())]
    tangents = [tuple(torch.zeros_like(p) for p in w) for _ in columns]
    graph_bytes, grad_calls = (0 if track_memory else None), 0
    for t in range(n_steps):
        w_leaf = leaves(w)
        saved = SavedBytes(track_memory)
        with saved.track():
            new_w = apply_map(update_map, w_leaf, hp, t)
            probe = tuple(torch.zeros_like(p, requires_grad=True) for p in new_w)
            vjp = grads(new_w, w_leaf + hp, probe, create_graph=True)
        if track_memory:
            graph_bytes = max(graph_bytes, saved.total)
        vjp_w, vjp_h = vjp[: len(w)], vjp[len(w) :]
        new_tangents = []
        for (i, j), z in zip(columns, tangents):
            # <Jᵀu, (z, e_ij)> is linear in u; its gradient in u is J_w z + J_λ e_ij.
            directional = vjp_h[i].reshape(-1)[j] + sum((a * b).sum() for a, b in zip(vjp_w, z))
            new_tangents.append(grads(directional, probe, retain_graph=True))
        grad_calls += 1 + len(columns)
        tangents = new_tangents
        w = tuple(p.detach() for p in new_w)

    w_last = leaves(w)
    outer = eval_outer(outer_loss, w_last, hp)
    both = grads(outer, w_last + hp)
    e_w, e_h = both[: len(w)], both[len(w) :]
    flat = [e.detach().reshape(-1).clone() for e in e_h]
    for (i, j), z in zip(columns, tangents):
        flat[i][j] += sum((a * b).sum() for a, b in zip(e_w, z))
    hypergrads = tuple(f.reshape(h.shape) for f, h in zip(flat, hp))
    stats = {
        "method": "forward",
        "n_steps": n_steps,
        "outer_loss": outer.detach(),
        "columns": len(columns),
        "grad_calls": grad_calls + 1,
        "tangent_bytes": nbytes(w) * (1 + len(columns)),
        "graph_bytes": graph_bytes,
    }
    stats["peak_bytes"] = None if graph_bytes is None else stats["tangent_bytes"] + graph_bytes
    return HypergradResult(hypergrads, w, stats)
