"""Storage: Optuna's record of the study, and hpo_lab's tables beside it."""

from hpo_lab.storage._liveness import Heartbeat, fail_stale_trials, this_worker
from hpo_lab.storage._side import Points, SideStore
from hpo_lab.storage._spec import StorageSpec, default_dir, resolve_storage
from hpo_lab.storage._writer import MetricWriter

__all__ = [
    "Heartbeat",
    "MetricWriter",
    "Points",
    "SideStore",
    "StorageSpec",
    "default_dir",
    "fail_stale_trials",
    "resolve_storage",
    "this_worker",
]
