"""Schedulers: algorithms that steer running trials (population-based training)."""

from hpo_lab.schedulers._base import BaseScheduler, SchedulerControls
from hpo_lab.schedulers._pbt import PBT

__all__ = ["PBT", "BaseScheduler", "SchedulerControls"]
