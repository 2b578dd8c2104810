"""An outer gradient loop around any offline hypergradient method, with per-iteration traces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from ._base import HypergradMethod, HypergradResult, OuterLoss, UpdateMap, check_hparams
from ._trace import Trace, hypergrad_trace


class OuterLoop:
    """Optimise hyperparameters with hypergradients from one offline method.

    Each :meth:`step` runs ``method`` (e.g. :func:`reverse_hypergrad`) from the given initial
    inner parameters, writes the hypergradients into ``hparam.grad`` and steps the outer
    optimizer. After each step :meth:`hyper_trace` gives the updated hyperparameters, the
    hypergradients just used and ``outer_loss``; :attr:`history` keeps every trace.

    Args:
        method: an offline method with the shared signature (see :class:`HypergradMethod`).
        hparams: a mapping from name to hyperparameter tensor (``requires_grad=True``), or a
            sequence (named ``h0``, ``h1``, ...).
        optimizer: the outer optimizer over those tensors; defaults to
            ``torch.optim.Adam(hparams, lr=lr)``.
        lr: learning rate of the default outer optimizer.
        **settings: passed to ``method`` on every call (``truncate=...``, ``solver=...``).

    Example:
        >>> import torch
        >>> from hpo_lab.hypergrad import OuterLoop, gd_map, implicit_hypergrad
        >>> lam = torch.tensor(1.0, requires_grad=True)
        >>> inner = lambda w, h: 0.5 * ((w[0] - 2.0) ** 2).sum() + 0.5 * h[0] * (w[0] ** 2).sum()
        >>> outer = lambda w, h: 0.5 * ((w[0] - 1.5) ** 2).sum()
        >>> loop = OuterLoop(implicit_hypergrad, {"l2": lam}, lr=0.1, solver="cg")
        >>> for _ in range(100):
        ...     _ = loop.step([torch.zeros(1)], gd_map(inner, lr=0.5), outer, n_steps=30)
        >>> round(lam.item(), 2)  # 2 / (1 + λ) = 1.5
        0.33
    """

    def __init__(
        self,
        method: HypergradMethod,
        hparams: Mapping[str, Tensor] | Sequence[Tensor],
        optimizer: torch.optim.Optimizer | None = None,
        *,
        lr: float = 0.1,
        **settings: Any,
    ) -> None:
        if not callable(method):
            raise TypeError(f"method must be an offline hypergradient method, got {method!r}")
        if isinstance(hparams, Mapping):
            names, tensors = list(hparams), check_hparams(list(hparams.values()))
        else:
            tensors = check_hparams(hparams)
            names = [f"h{i}" for i in range(len(tensors))]
        self.method, self.names, self.hparams = method, names, tensors
        self.optimizer = optimizer or torch.optim.Adam(tensors, lr=lr)
        self.settings = settings
        self.history: list[Trace] = []
        self.result: HypergradResult | None = None

    def step(
        self,
        params: Tensor | Sequence[Tensor],
        update_map: UpdateMap,
        outer_loss: OuterLoss,
        *,
        n_steps: int,
    ) -> HypergradResult:
        """Compute hypergradients from ``params`` over ``n_steps`` and update the hyperparameters.

        Returns:
            The method's :class:`HypergradResult` (hypergradients at the pre-update values).
        """
        result = self.method(
            params, self.hparams, update_map, outer_loss, n_steps=n_steps, **self.settings
        )
        for h, g in zip(self.hparams, result.hypergrads):
            h.grad = g.detach().clone()
        self.optimizer.step()
        self.result = result
        trace = hypergrad_trace(self.names, self.hparams, result.hypergrads)
        trace["outer_loss"] = result.stats["outer_loss"]
        self.history.append(trace)
        return result

    def hyper_trace(self) -> Trace:
        """The hyperparameters after the latest step, the hypergradients that step used and its
        ``outer_loss`` (zero hypergradients and no ``outer_loss`` before the first step)."""
        if not self.history:
            zeros = [torch.zeros_like(h) for h in self.hparams]
            return hypergrad_trace(self.names, self.hparams, zeros)
        return dict(self.history[-1])
