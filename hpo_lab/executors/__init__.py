"""Executors: how trials run (threads of the kernel; later worker processes and clusters)."""

from hpo_lab.executors._base import (
    BaseExecutor,
    ExecutionContext,
    TrialOutcome,
    TrialTask,
)
from hpo_lab.executors._runner import run_trial
from hpo_lab.executors._thread import ThreadExecutor

__all__ = [
    "BaseExecutor",
    "ExecutionContext",
    "ThreadExecutor",
    "TrialOutcome",
    "TrialTask",
    "make_executor",
    "run_trial",
]


def make_executor(executor: object) -> BaseExecutor:
    """An executor from ``Session(executor=...)``: ``"threads"`` or a :class:`BaseExecutor`."""
    if isinstance(executor, BaseExecutor):
        return executor
    if executor in (None, "threads", "thread"):
        return ThreadExecutor()
    raise ValueError(f"executor must be 'threads' or a BaseExecutor instance, got {executor!r}")
