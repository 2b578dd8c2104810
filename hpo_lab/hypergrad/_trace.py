"""Traces: the metrics contract between hypergradient methods and hpo_lab trials.

A trace is a ``dict[str, float | torch.Tensor]`` of 0-dim values, keyed

* ``hyper/<name>``: the current value of a scalar hyperparameter;
* ``hypergrad/<name>``: its latest hypergradient ``dE/d<name>`` (the derivative, not the step);
* ``hyper/<name>/mean|min|max`` and ``hypergrad/<name>/norm`` for a tensor hyperparameter with
  several elements;
* ``hypergrad_norm``: the Euclidean norm of all hypergradients together, whenever there is more
  than one scalar hyperparameter.

Per-group learning rates are named ``lr/group0``, ``lr/group1``, ... Values are tensors on the
device of the hyperparameter (never synchronised with ``.item()``); each call returns fresh tensors
that later optimisation steps do not modify, so a reporter may convert them lazily.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from ._base import check_int

Trace = dict[str, "float | Tensor"]


@runtime_checkable
class HyperTraced(Protocol):
    """Anything that can report its hyperparameters and hypergradients as a trace."""

    def hyper_trace(self) -> Trace: ...


@runtime_checkable
class Reporter(Protocol):
    """The part of an hpo_lab trial that traces need: ``report(step, metrics)``."""

    def report(self, step: int, metrics: Mapping[str, float | Tensor]) -> object: ...


def hypergrad_trace(
    names: Sequence[str], values: Sequence[Tensor], hypergrads: Sequence[Tensor]
) -> Trace:
    """Build a trace from named hyperparameter values and their hypergradients.

    Args:
        names: one name per hyperparameter.
        values: the hyperparameter tensors (any shape).
        hypergrads: their hypergradients, shaped like ``values``.

    Returns:
        The trace, see the module documentation for the keys.

    Example:
        >>> import torch
        >>> t = hypergrad_trace(["lr"], [torch.tensor(0.1)], [torch.tensor(-2.0)])
        >>> sorted(t)
        ['hyper/lr', 'hypergrad/lr']
    """
    if not len(names) == len(values) == len(hypergrads):
        raise ValueError(
            f"names, values and hypergrads must have the same length, got {len(names)}, "
            f"{len(values)} and {len(hypergrads)}"
        )
    trace: Trace = {}
    squares = []
    for name, value, grad in zip(names, values, hypergrads):
        value, grad = value.detach(), grad.detach()
        if value.numel() == 1:
            trace[f"hyper/{name}"] = value.reshape(()).clone()
            trace[f"hypergrad/{name}"] = grad.reshape(()).clone()
        else:
            trace[f"hyper/{name}/mean"] = value.mean()
            trace[f"hyper/{name}/min"] = value.min()
            trace[f"hyper/{name}/max"] = value.max()
            trace[f"hypergrad/{name}/norm"] = torch.linalg.vector_norm(grad)
        squares.append(grad.square().sum())
    if sum(v.numel() for v in values) > 1:
        device = squares[0].device
        trace["hypergrad_norm"] = torch.stack([s.to(device) for s in squares]).sum().sqrt()
    return trace


def report_trace(trial: Reporter, step: int, source: HyperTraced, every: int = 1) -> bool:
    """Report ``source.hyper_trace()`` to ``trial`` at every ``every``-th step.

    Args:
        trial: any object with a ``report(step, metrics)`` method (an hpo_lab trial).
        step: the current step (``>= 0``); the trace is reported when ``step % every == 0``.
        source: an online optimizer (:class:`SGDHD`, :class:`AdamHD`, :class:`MARTHE`,
            :class:`RTHO`) or an :class:`OuterLoop`, anything with ``hyper_trace()``.
        every: report period in steps (``>= 1``).

    Returns:
        Whether the trace was reported.

    Example:
        >>> import torch
        >>> from hpo_lab.hypergrad import SGDHD, report_trace
        >>> class Trial:
        ...     def report(self, step, metrics):
        ...         print(step, sorted(metrics))
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> opt = SGDHD([w], lr=0.1, hypergrad_lr=0.01)
        >>> report_trace(Trial(), 0, opt)
        0 ['hyper/lr', 'hypergrad/lr']
        True
    """
    check_int("every", every, 1)
    check_int("step", step, 0)
    if not callable(getattr(trial, "report", None)):
        raise TypeError(
            f"trial must have a report(step, metrics) method, got {type(trial).__name__}"
        )
    if not callable(getattr(source, "hyper_trace", None)):
        raise TypeError(f"source must have a hyper_trace() method, got {type(source).__name__}")
    if step % every:
        return False
    trial.report(step, source.hyper_trace())
    return True
