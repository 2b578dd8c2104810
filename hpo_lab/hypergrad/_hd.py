"""Hypergradient descent on the learning rate (Baydin et al. 2018): SGD-HD, SGDN-HD and Adam-HD.

With ``u_{t-1} = -α d_{t-1}`` the previous update, the derivative of the current loss with
respect to the learning rate is ``∂f(θ_{t-1})/∂α = -∇f(θ_{t-1}) · d_{t-1}``, so each step does

    h_t = -g_t · d_{t-1};   α_t = α_{t-1} - β h_t;   θ_t = θ_{t-1} - α_t d_t

where ``d`` is the update direction of the base optimizer (the gradient for SGD, the momentum or
Nesterov direction for SGDN, ``m̂/(√v̂+ε)`` for Adam) and ``β`` is ``hypergrad_lr``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from ._online import (
    check_nonneg,
    check_range,
    dot,
    ensure_tensors,
    params_with_grad,
    scalar_like,
)
from ._trace import Trace, hypergrad_trace


class _HDOptimizer(torch.optim.Optimizer):
    """Learning-rate bookkeeping shared by :class:`SGDHD` and :class:`AdamHD`.

    ``group["lr"]`` holds a 0-dim tensor on the device of the group's parameters. With
    ``per_group=False`` all groups share one learning-rate tensor, driven by the hypergradient
    summed over every parameter.
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any], per_group: bool) -> None:
        self.per_group = bool(per_group)
        self._hypergrads: list[Tensor] = []
        self._initialised = False
        super().__init__(params, defaults)  # calls add_param_group for every group
        self._initialised = True

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group; with ``per_group=False`` it joins the shared learning rate."""
        super().add_param_group(param_group)
        try:
            self._setup_group(len(self.param_groups) - 1, self.param_groups[-1])
        except ValueError:
            self.param_groups.pop()
            raise

    def _setup_group(self, i: int, group: dict[str, Any]) -> None:
        check_nonneg(f"lr (param group {i})", float(group["lr"]))
        check_nonneg(f"hypergrad_lr (param group {i})", group["hypergrad_lr"])
        if i == 0:
            self._first = {"lr": float(group["lr"]), "hypergrad_lr": group["hypergrad_lr"]}
        if self.per_group or i == 0:
            group["lr"] = scalar_like(group["lr"], group["params"])
            self._hypergrads.append(torch.zeros_like(group["lr"]))
            return
        for key in ("hypergrad_lr",) if self._initialised else ("lr", "hypergrad_lr"):
            if float(group[key]) != self._first[key]:
                raise ValueError(
                    f"{type(self).__name__} with per_group=False needs one {key} for every "
                    f"param group, got {[self._first[key], float(group[key])]}; pass "
                    "per_group=True for one learning rate per group"
                )
        group["lr"] = self.param_groups[0]["lr"]

    def _update_lrs(self, hypergrads: list[Tensor]) -> None:
        """Apply ``α ← α - β h`` per group, or once with the summed hypergradient."""
        groups = self.param_groups
        if self.per_group:
            for group, h in zip(groups, hypergrads):
                group["lr"] = group["lr"] - group["hypergrad_lr"] * h
            self._hypergrads = hypergrads
            return
        lr = groups[0]["lr"]
        h = torch.stack([x.to(lr.device, lr.dtype) for x in hypergrads]).sum()
        new_lr = lr - groups[0]["hypergrad_lr"] * h
        for group in groups:
            group["lr"] = new_lr
        self._hypergrads = [h]

    def hyper_trace(self) -> Trace:
        """Current learning rate(s) and latest hypergradient(s) ``∂f/∂lr`` as a trace.

        Keys: ``hyper/lr`` and ``hypergrad/lr`` (``per_group=False``), or ``hyper/lr/group<i>``,
        ``hypergrad/lr/group<i>`` and ``hypergrad_norm`` (``per_group=True``). Values are 0-dim
        tensors on the parameters' device; the hypergradient is zero before the second step.
        """
        if not self.per_group:
            return hypergrad_trace(["lr"], [self.param_groups[0]["lr"]], self._hypergrads)
        names = [f"lr/group{i}" for i in range(len(self.param_groups))]
        return hypergrad_trace(names, [g["lr"] for g in self.param_groups], self._hypergrads)

    def _gradients(self, group: dict[str, Any]) -> tuple[list[Tensor], list[Tensor]]:
        """Parameters with a gradient and their gradients including L2 weight decay."""
        ensure_tensors(group, ("lr",))  # a scheduler may have written a float
        params = params_with_grad(group["params"], type(self).__name__)
        wd = group["weight_decay"]
        grads = [p.grad if wd == 0 else p.grad.add(p, alpha=wd) for p in params]
        return params, grads


class SGDHD(_HDOptimizer):
    """SGD with hypergradient descent on the learning rate (SGD-HD, and SGDN-HD with momentum).

    A drop-in replacement for ``torch.optim.SGD`` (same momentum, dampening, Nesterov and L2
    weight-decay semantics; identical to it when ``hypergrad_lr=0``). The learning rate is a 0-dim
    tensor in ``param_group["lr"]``, updated without host synchronisation.

    Args:
        params: parameters or parameter groups (groups may set their own ``hypergrad_lr``).
        lr: initial learning rate ``α_0 >= 0``.
        hypergrad_lr: hyper learning rate ``β >= 0`` (Baydin et al. use ~1e-3 for SGD).
        momentum: momentum factor in ``[0, 1)``.
        dampening: dampening for momentum in ``[0, 1)``.
        weight_decay: L2 penalty ``>= 0`` (added to the gradient, as in ``torch.optim.SGD``).
        nesterov: Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
        per_group: one learning rate per parameter group instead of one global rate.

    Example:
        >>> import torch
        >>> from hpo_lab.hypergrad import SGDHD
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = SGDHD([w], lr=0.01, hypergrad_lr=0.01)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()
        ...     _ = opt.step()
        >>> bool(opt.param_groups[0]["lr"] > 0.01)  # consecutive gradients agree: lr grows
        True
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        hypergrad_lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        per_group: bool = False,
    ) -> None:
        check_range("momentum", momentum, 0.0, 1.0)
        check_range("dampening", dampening, 0.0, 1.0)
        check_nonneg("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening == 0, got momentum={momentum}, "
                f"dampening={dampening}"
            )
        defaults = dict(
            lr=lr,
            hypergrad_lr=hypergrad_lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults, per_group)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One SGD(N)-HD step; ``closure`` (optional) re-evaluates the loss and calls backward."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        work, hypergrads = [], []
        for group in self.param_groups:
            params, grads = self._gradients(group)
            prev = [self.state[p].get("direction") for p in params]
            pairs = [(g, d) for g, d in zip(grads, prev) if d is not None]
            h = -dot([g for g, _ in pairs], [d for _, d in pairs], group["lr"])
            work.append((params, grads))
            hypergrads.append(h)
        self._update_lrs(hypergrads)
        for group, (params, grads) in zip(self.param_groups, work):
            neg_lr = -group["lr"]
            mom, damp = group["momentum"], group["dampening"]
            for p, g in zip(params, grads):
                state = self.state[p]
                if mom == 0:
                    direction = g if "direction" not in state else state["direction"].copy_(g)
                else:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = g.clone()
                    else:
                        buf.mul_(mom).add_(g, alpha=1 - damp)
                    direction = g.add(buf, alpha=mom) if group["nesterov"] else buf
                if direction is g and g is p.grad:
                    direction = g.clone()
                state["direction"] = direction
                p.addcmul_(direction, neg_lr)
        return loss


class AdamHD(_HDOptimizer):
    """Adam with hypergradient descent on the learning rate (Adam-HD).

    Identical to ``torch.optim.Adam`` (L2 ``weight_decay``, no AMSGrad) when ``hypergrad_lr=0``.
    The hypergradient uses the previous Adam direction ``m̂/(√v̂+ε)``, stored per parameter.

    Args:
        params: parameters or parameter groups (groups may set their own ``hypergrad_lr``).
        lr: initial learning rate ``>= 0``.
        hypergrad_lr: hyper learning rate ``β >= 0`` (Baydin et al. use ~1e-7 for Adam).
        betas: coefficients of the running averages, each in ``[0, 1)``.
        eps: denominator term ``> 0``.
        weight_decay: L2 penalty ``>= 0`` added to the gradient.
        per_group: one learning rate per parameter group instead of one global rate.

    Example:
        >>> import torch
        >>> from hpo_lab.hypergrad import AdamHD
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = AdamHD([w], lr=1e-3, hypergrad_lr=1e-4)
        >>> for _ in range(3):
        ...     opt.zero_grad()
        ...     (w ** 2).sum().backward()
        ...     _ = opt.step()
        >>> sorted(opt.hyper_trace())
        ['hyper/lr', 'hypergrad/lr']
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        hypergrad_lr: float = 1e-7,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        per_group: bool = False,
    ) -> None:
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair of floats in [0, 1), got {betas!r}")
        check_range("betas[0]", betas[0], 0.0, 1.0)
        check_range("betas[1]", betas[1], 0.0, 1.0)
        if check_nonneg("eps", eps) == 0:
            raise ValueError(f"eps must be a float > 0, got {eps!r}")
        check_nonneg("weight_decay", weight_decay)
        defaults = dict(
            lr=lr, hypergrad_lr=hypergrad_lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay
        )
        super().__init__(params, defaults, per_group)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One Adam-HD step; ``closure`` (optional) re-evaluates the loss and calls backward."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        work, hypergrads = [], []
        for group in self.param_groups:
            params, grads = self._gradients(group)
            prev = [self.state[p].get("direction") for p in params]
            pairs = [(g, d) for g, d in zip(grads, prev) if d is not None]
            hypergrads.append(-dot([g for g, _ in pairs], [d for _, d in pairs], group["lr"]))
            work.append((params, grads))
        self._update_lrs(hypergrads)
        for group, (params, grads) in zip(self.param_groups, work):
            neg_lr = -group["lr"]
            beta1, beta2 = group["betas"]
            for p, g in zip(params, grads):
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                    state["direction"] = torch.zeros_like(p)
                state["step"] += 1
                m, v, d = state["exp_avg"], state["exp_avg_sq"], state["direction"]
                m.lerp_(g, 1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                bc1 = 1 - beta1 ** state["step"]
                bc2 = 1 - beta2 ** state["step"]
                denom = (v.sqrt() / bc2**0.5).add_(group["eps"])
                torch.div(m, denom, out=d).div_(bc1)
                p.addcmul_(d, neg_lr)
        return loss
