"""Real-time forward-mode hyperparameter optimisation (RTHO, Franceschi et al. 2017) for the
learning rate, momentum and weight decay of SGD with heavy-ball momentum."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from ._base import check_int, grads
from ._online import (
    check_nonneg,
    check_range,
    dot,
    ensure_tensors,
    outer_grads,
    scalar_like,
    single_group_params,
    training_grads,
)
from ._trace import Trace, hypergrad_trace

HYPERPARAMETERS = ("lr", "momentum", "weight_decay")
_MAX_MOMENTUM = 0.999


class RTHO(torch.optim.Optimizer):
    """SGD with momentum whose hyperparameters follow real-time forward-mode hypergradients.

    The inner dynamics are those of ``torch.optim.SGD`` (no dampening, no Nesterov)::

        v_{t+1} = m v_t + ∇L_t(w_t) + γ w_t,     w_{t+1} = w_t - η v_{t+1}

    For each tuned hyperparameter ``λ ∈ {η, m, γ}`` the tangents ``Z^w = dw/dλ`` and
    ``Z^v = dv/dλ`` are carried forward exactly::

        Z^v_{t+1} = (∇²L_t + γ) Z^w_t + m Z^v_t + [v_t if λ=m] + [w_t if λ=γ]
        Z^w_{t+1} = Z^w_t - η Z^v_{t+1} - [v_{t+1} if λ=η]

    and the hypergradient ``h_t = ∇E(w_t) · Z^w_t`` is the exact derivative of ``E(w_t)`` for
    hyperparameters held constant (through ``w_t`` only: a direct dependence of ``E`` on ``λ``,
    such as that of the L2-regularised training loss on ``γ``, is not included). Every
    ``update_every`` steps each tuned hyperparameter moves by ``-β h_t`` and is clipped to its
    domain (``η, γ >= 0``, ``0 <= m <= 0.999``). ``E`` is the loss of ``outer_closure`` (e.g. a
    validation batch), or the training loss without it.

    :meth:`step` computes the gradient itself: ``closure`` returns the training loss without
    calling ``backward``. Each step costs one gradient with graph plus one Hessian-vector product
    per tuned hyperparameter, and stores two tangent buffers per tuned hyperparameter.

    Args:
        params: the parameters (one group).
        lr: initial learning rate ``>= 0``.
        momentum: initial momentum in ``[0, 1)``.
        weight_decay: initial L2 weight decay ``>= 0``.
        hypergrad_lr: hyper learning rate ``β >= 0``, one float or a mapping from tuned name to
            float.
        tune: the hyperparameters to optimise, a subset of ``("lr", "momentum",
            "weight_decay")``.
        update_every: hyperparameter update period in steps (``>= 1``).

    Example:
        >>> import torch
        >>> from hpo_lab.hypergrad import RTHO
        >>> w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
        >>> opt = RTHO([w], lr=0.01, momentum=0.5, hypergrad_lr=1e-3, tune=("lr", "momentum"))
        >>> for _ in range(5):
        ...     loss = opt.step(lambda: (w ** 2).sum())
        >>> sorted(opt.hyper_trace())
        ['hyper/lr', 'hyper/momentum', 'hypergrad/lr', 'hypergrad/momentum', 'hypergrad_norm']
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        hypergrad_lr: float | Mapping[str, float] = 1e-3,
        *,
        tune: Sequence[str] = HYPERPARAMETERS,
        update_every: int = 1,
    ) -> None:
        check_nonneg("lr", lr)
        check_range("momentum", momentum, 0.0, 1.0)
        check_nonneg("weight_decay", weight_decay)
        tune = tuple(tune)
        unknown = [n for n in tune if n not in HYPERPARAMETERS]
        if not tune or unknown or len(set(tune)) != len(tune):
            raise ValueError(f"tune must be distinct names from {HYPERPARAMETERS}, got {tune!r}")
        if isinstance(hypergrad_lr, Mapping):
            extra = set(hypergrad_lr) - set(tune)
            missing = set(tune) - set(hypergrad_lr)
            if extra or missing:
                raise ValueError(
                    f"hypergrad_lr must map exactly the tuned names {tune}, got "
                    f"{sorted(hypergrad_lr)}"
                )
            betas = {n: check_nonneg(f"hypergrad_lr[{n!r}]", b) for n, b in hypergrad_lr.items()}
        else:
            betas = dict.fromkeys(tune, check_nonneg("hypergrad_lr", hypergrad_lr))
        check_int("update_every", update_every, 1)
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay)
        super().__init__(params, defaults)
        self._params = single_group_params(self.param_groups, "RTHO")
        group = self.param_groups[0]
        for name in HYPERPARAMETERS:
            group[name] = scalar_like(group[name], self._params)
        self.tune, self.hypergrad_lrs, self.update_every = tune, betas, update_every
        self._hypergrads = {n: torch.zeros_like(group["lr"]) for n in tune}
        self._t = 0

    def step(  # type: ignore[override]
        self, closure: Callable[[], Tensor], outer_closure: Callable[[], Tensor] | None = None
    ) -> Tensor:
        """One RTHO step.

        Args:
            closure: returns the training loss at the current parameters (no ``backward``).
            outer_closure: returns the outer loss ``E`` at the current parameters; defaults to
                the training loss of ``closure``.

        Returns:
            The (detached) training loss.
        """
        group = self.param_groups[0]
        params = self._params
        ensure_tensors(group, HYPERPARAMETERS)
        loss, g_raw = training_grads(closure, params, "RTHO")
        states = [self.state[p] for p in params]
        started = all(f"zw_{n}" in s for s in states for n in self.tune)
        if started:
            if outer_closure is None:
                wd = group["weight_decay"]
                e = [gi.detach() + wd * p.detach() for gi, p in zip(g_raw, params)]
            else:
                e = outer_grads(outer_closure, params, "RTHO")
            for name in self.tune:
                self._hypergrads[name] = dot(e, [s["zw_" + name] for s in states], group["lr"])
            if self._t % self.update_every == 0:
                self._update_hyperparameters(group)
        lr, mom, wd = group["lr"], group["momentum"], group["weight_decay"]
        g = [gi + wd * p for gi, p in zip(g_raw, params)]
        g_now = [gi.detach() for gi in g]
        velocity = [s.get("momentum_buffer", torch.zeros_like(b)) for s, b in zip(states, g_now)]
        new_velocity = [mom * v + b for v, b in zip(velocity, g_now)]
        for name in self.tune:
            if not started:
                zw = zv = [torch.zeros_like(p) for p in params]
                hz = zw
            else:
                zw = [s["zw_" + name] for s in states]
                zv = [s["zv_" + name] for s in states]
                hz = grads(g, params, zw, retain_graph=True)
            new_zv = [a + mom * b for a, b in zip(hz, zv)]
            if name == "momentum":
                new_zv = [z + v for z, v in zip(new_zv, velocity)]
            if name == "weight_decay":
                new_zv = [z + p.detach() for z, p in zip(new_zv, params)]
            new_zw = [z - lr * zv_ for z, zv_ in zip(zw, new_zv)]
            if name == "lr":
                new_zw = [z - v for z, v in zip(new_zw, new_velocity)]
            for s, a, b in zip(states, new_zw, new_zv):
                s["zw_" + name], s["zv_" + name] = a, b
        with torch.no_grad():
            for p, s, v in zip(params, states, new_velocity):
                s["momentum_buffer"] = v
                p.addcmul_(v, -lr)
        self._t += 1
        return loss

    def _update_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in self.tune:
            value = group[name] - self.hypergrad_lrs[name] * self._hypergrads[name]
            high = _MAX_MOMENTUM if name == "momentum" else None
            group[name] = torch.clamp(value, min=0.0, max=high)

    def hyper_trace(self) -> Trace:
        """``hyper/<name>`` and ``hypergrad/<name>`` for each tuned hyperparameter, plus
        ``hypergrad_norm`` when several are tuned; 0-dim tensors on the parameters' device."""
        group = self.param_groups[0]
        names = list(self.tune)
        return hypergrad_trace(
            names, [group[n] for n in names], [self._hypergrads[n] for n in names]
        )
