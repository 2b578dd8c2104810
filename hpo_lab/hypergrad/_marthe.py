"""MARTHE (Donini et al. 2020): online learning-rate schedules from discounted forward-mode
hypergradients, interpolating between HD (``mu=0``) and real-time forward mode (``mu=1``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor

from ._base import grads
from ._online import (
    check_nonneg,
    dot,
    ensure_tensors,
    outer_grads,
    scalar_like,
    single_group_params,
    training_grads,
)
from ._trace import Trace, hypergrad_trace


class MARTHE(torch.optim.Optimizer):
    """SGD whose learning rate follows MARTHE's online hypergradient schedule.

    With inner dynamics ``w_{t+1} = Φ_t(w_t, η_t) = w_t - η_t ∇L_t(w_t)`` (plus L2
    ``weight_decay``), each step does, in this order::

        h_t = ∇E(w_t) · Z_t                        # approximate dE/dη (Z_0 = 0)
        β_t = max(β_{t-1} + α h_t h_{t-1}, 0)      # only with adapt_hypergrad_lr=α
        η_t = max(η_{t-1} - β_t h_t, lr_min)
        Z_{t+1} = μ A_t Z_t + B_t,  A_t = I - η_t ∇²L_t,  B_t = -∇L_t(w_t)
        w_{t+1} = w_t - η_t ∇L_t(w_t)

    ``μ = 0`` gives hypergradient descent (:class:`SGDHD` when ``E`` is the training loss),
    ``μ = 1`` the real-time forward-mode hypergradient of a constant learning rate
    (:class:`RTHO`); ``0 < μ < 1`` discounts the influence of old steps. ``E`` is the loss
    returned by ``outer_closure`` (e.g. a validation batch); without it the current training
    gradient is used. The adaptive hyper-learning rate follows the authors' reference
    implementation: hypergradient descent on ``β`` itself, ``dE/dβ ≈ -h_t h_{t-1}``.

    Unlike ``torch.optim.SGD``, :meth:`step` computes the gradient itself: ``closure`` must
    return the training loss *without* calling ``backward`` (one Hessian-vector product per step
    is taken through its graph when ``mu > 0``).

    Args:
        params: the parameters (one group).
        lr: initial learning rate ``η_0 >= 0``.
        hypergrad_lr: hyper learning rate ``β >= 0`` (initial value when adapted).
        mu: discount factor in ``[0, 1]``.
        weight_decay: L2 penalty ``>= 0`` added to the training gradient.
        adapt_hypergrad_lr: ``α >= 0`` to adapt ``β`` online, or ``None`` to keep it fixed.
        lr_min: lower bound of the learning rate (``>= 0``; the paper uses 0).

    Example:
        >>> import torch
        >>> from hpo_lab.hypergrad import MARTHE
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = MARTHE([w], lr=0.01, hypergrad_lr=0.01, mu=0.9)
        >>> for _ in range(5):
        ...     loss = opt.step(lambda: (w ** 2).sum())
        >>> bool(opt.param_groups[0]["lr"] > 0.01)
        True
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        hypergrad_lr: float = 1e-3,
        mu: float = 0.9,
        weight_decay: float = 0.0,
        *,
        adapt_hypergrad_lr: float | None = None,
        lr_min: float = 0.0,
    ) -> None:
        check_nonneg("lr", lr)
        check_nonneg("hypergrad_lr", hypergrad_lr)
        check_nonneg("weight_decay", weight_decay)
        check_nonneg("lr_min", lr_min)
        if check_nonneg("mu", mu) > 1:
            raise ValueError(f"mu must be a float in [0, 1], got {mu!r}")
        if adapt_hypergrad_lr is not None:
            check_nonneg("adapt_hypergrad_lr", adapt_hypergrad_lr)
        defaults = dict(lr=lr, hypergrad_lr=hypergrad_lr, mu=mu, weight_decay=weight_decay)
        super().__init__(params, defaults)
        self._params = single_group_params(self.param_groups, "MARTHE")
        group = self.param_groups[0]
        group["lr"] = scalar_like(lr, self._params)
        group["hypergrad_lr"] = scalar_like(hypergrad_lr, self._params)
        self.adapt_hypergrad_lr = adapt_hypergrad_lr
        self.lr_min = float(lr_min)
        self._hypergrad = torch.zeros_like(group["lr"])

    def step(  # type: ignore[override]
        self, closure: Callable[[], Tensor], outer_closure: Callable[[], Tensor] | None = None
    ) -> Tensor:
        """One MARTHE step.

        Args:
            closure: returns the training loss at the current parameters (no ``backward``).
            outer_closure: returns the outer loss ``E`` (e.g. validation) at the current
                parameters; defaults to the training loss of ``closure``.

        Returns:
            The (detached) training loss.
        """
        group = self.param_groups[0]
        params = self._params
        ensure_tensors(group, ("lr", "hypergrad_lr"))
        loss, g = training_grads(closure, params, "MARTHE")
        wd, mu = group["weight_decay"], group["mu"]
        if wd:
            g = [gi + wd * p for gi, p in zip(g, params)]
        g_now = [gi.detach() for gi in g]
        e = g_now if outer_closure is None else outer_grads(outer_closure, params, "MARTHE")
        tangents = [self.state[p].get("tangent") for p in params]
        started = tangents[0] is not None
        h = dot(e, tangents, group["lr"]) if started else torch.zeros_like(group["lr"])
        beta = group["hypergrad_lr"]
        if self.adapt_hypergrad_lr is not None:
            beta = torch.clamp(beta + self.adapt_hypergrad_lr * h * self._hypergrad, min=0)
            group["hypergrad_lr"] = beta
        lr = torch.clamp(group["lr"] - beta * h, min=self.lr_min)
        group["lr"], self._hypergrad = lr, h
        if started and mu > 0:
            hz = grads(g, params, tangents)
            new = [mu * (z - lr * a) - b for z, a, b in zip(tangents, hz, g_now)]
        else:
            new = [-b for b in g_now]
        with torch.no_grad():
            for p, z, b in zip(params, new, g_now):
                self.state[p]["tangent"] = z
                p.addcmul_(b, -lr)
        return loss

    def hyper_trace(self) -> Trace:
        """``hyper/lr``, ``hypergrad/lr`` (the latest ``h_t``) and, when ``β`` is adapted,
        ``hyper/hypergrad_lr``; 0-dim tensors on the parameters' device."""
        group = self.param_groups[0]
        trace = hypergrad_trace(["lr"], [group["lr"]], [self._hypergrad])
        if self.adapt_hypergrad_lr is not None:
            trace["hyper/hypergrad_lr"] = group["hypergrad_lr"].detach().clone()
        return trace
