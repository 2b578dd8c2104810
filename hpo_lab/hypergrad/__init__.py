"""Gradient-based hyperparameter optimisation for PyTorch.

Online methods, inside one training run (drop-in ``torch.optim.Optimizer`` subclasses):

* :class:`SGDHD`, :class:`AdamHD`: hypergradient descent on the learning rate (Baydin et al.
  2018), with momentum / Nesterov for SGD and one global or one-per-group learning rate.
* :class:`MARTHE`: discounted forward-mode learning-rate schedules (Donini et al. 2020).
* :class:`RTHO`: real-time forward-mode optimisation of SGD's learning rate, momentum and weight
  decay (Franceschi et al. 2017).

Offline methods, over a whole inner training run, all with one signature
``method(params, hparams, update_map, outer_loss, *, n_steps, **settings) -> HypergradResult``:

* :func:`reverse_hypergrad`: reverse mode through the unrolled steps, with truncation and
  checkpointing.
* :func:`forward_hypergrad`: forward mode, memory independent of the number of steps.
* :func:`implicit_hypergrad`: implicit differentiation at a fixed point (CG or Neumann series).

:func:`gd_map` builds an update map from an inner loss, :class:`OuterLoop` runs an outer
gradient loop with any offline method, and :func:`report_trace` sends ``hyper_trace()`` of any
of these to an hpo_lab trial.
"""

from ._base import HypergradMethod, HypergradResult, OuterLoss, UpdateMap
from ._forward import forward_hypergrad
from ._hd import SGDHD, AdamHD
from ._implicit import implicit_hypergrad
from ._maps import gd_map
from ._marthe import MARTHE
from ._outer import OuterLoop
from ._reverse import reverse_hypergrad
from ._rtho import RTHO
from ._trace import HyperTraced, Reporter, hypergrad_trace, report_trace

__all__ = [
    "MARTHE",
    "RTHO",
    "SGDHD",
    "AdamHD",
    "HyperTraced",
    "HypergradMethod",
    "HypergradResult",
    "OuterLoop",
    "OuterLoss",
    "Reporter",
    "UpdateMap",
    "forward_hypergrad",
    "gd_map",
    "hypergrad_trace",
    "implicit_hypergrad",
    "report_trace",
    "reverse_hypergrad",
]
