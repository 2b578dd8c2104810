"""Executors: how trials run — threads of the kernel, worker processes, a Dask cluster."""

from __future__ import annotations

from typing import Any

from hpo_lab.executors._base import (
    BaseExecutor,
    ExecutionContext,
    TrialOutcome,
    TrialTask,
)
from hpo_lab.executors._dask import DaskExecutor, is_dask_target
from hpo_lab.executors._process import ProcessExecutor
from hpo_lab.executors._runner import run_trial
from hpo_lab.executors._thread import ThreadExecutor

__all__ = [
    "BaseExecutor",
    "DaskExecutor",
    "ExecutionContext",
    "ProcessExecutor",
    "ThreadExecutor",
    "TrialOutcome",
    "TrialTask",
    "make_executor",
    "run_trial",
]


def make_executor(executor: Any) -> BaseExecutor:
    """An executor from ``Session(executor=...)``.

    Args:
        executor: ``"threads"`` (default), ``"processes"``, a :class:`BaseExecutor`, or what a
            :class:`DaskExecutor` takes: ``"dask"`` (the current default Dask client), a
            ``dask.distributed.Client``, a Dask cluster object, or a scheduler address such as
            ``"tcp://127.0.0.1:8786"``.

    Raises:
        ValueError: anything else (the message lists what is accepted).

    Example:
        >>> make_executor("processes")
        ProcessExecutor(processes=0, running=0)
    """
    if isinstance(executor, BaseExecutor):
        return executor
    if executor is None or executor in ("threads", "thread"):
        return ThreadExecutor()
    if executor in ("processes", "process"):
        return ProcessExecutor()
    if executor == "dask":
        return DaskExecutor()
    if is_dask_target(executor):
        return DaskExecutor(executor)
    raise ValueError(
        "executor must be 'threads', 'processes', 'dask', a dask.distributed.Client, a Dask "
        "cluster, a scheduler address such as 'tcp://127.0.0.1:8786', or a BaseExecutor "
        f"instance; got {executor!r}"
    )
