"""Search algorithms by short name: Optuna's samplers and pruners."""

from hpo_lab.algorithms._pruners import PRUNERS, is_nop, make_pruner, pruner_label
from hpo_lab.algorithms._samplers import SAMPLERS, make_sampler

__all__ = ["PRUNERS", "SAMPLERS", "is_nop", "make_pruner", "make_sampler", "pruner_label"]
