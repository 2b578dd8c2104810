"""Gradient-based hyperparameter optimisation for PyTorch.

Offline methods, over a whole inner training run, all with one signature
``method(params, hparams, update_map, outer_loss, *, n_steps, **settings) -> HypergradResult``:

* :func:`reverse_hypergrad`: reverse mode through the unrolled steps, with truncation and
  checkpointing.
* :func:`forward_hypergrad`: forward mode, memory independent of the number of steps.
* :func:`implicit_hypergrad`: implicit differentiation at a fixed point (CG or Neumann series).

:func:`gd_map` builds an update map from an inner loss.
"""

from ._base import HypergradMethod, HypergradResult, OuterLoss, UpdateMap
from ._forward import forward_hypergrad
from ._implicit import implicit_hypergrad
from ._maps import gd_map
from ._reverse import reverse_hypergrad

__all__ = [
    "HypergradMethod",
    "HypergradResult",
    "OuterLoss",
    "UpdateMap",
    "forward_hypergrad",
    "gd_map",
    "implicit_hypergrad",
    "reverse_hypergrad",
]
