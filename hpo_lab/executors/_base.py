"""The executor contract: what runs trials for a session.

A session decides *which* trial runs next and where (its driver creates the trial in Optuna's
storage and picks a slot and a device); an executor decides *how* it runs — in a thread of the
kernel, in a worker process, on a cluster. Algorithms and widgets never see executors.

Every executor passes ``tests/executors/test_conformance.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import optuna

from hpo_lab.events import Event
from hpo_lab.trial import Control, TrialSettings


@dataclass(frozen=True)
class TrialTask:
    """One trial to run: plain data, so that it can travel to another process.

    Attributes:
        number: the trial's number in the study.
        trial_id: its id in Optuna's storage (already RUNNING there).
        slot: which of the session's ``n_workers`` slots it occupies.
        device: the device name assigned to it (``"cpu"``, ``"cuda:1"``).
        extra: free-form data for later features (fork parent, checkpoint key...).
    """

    number: int
    trial_id: int
    slot: int = 0
    device: str = "cpu"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialOutcome:
    """How a trial ended: Optuna's state name, its values, and why (for PRUNED and FAIL)."""

    number: int
    state: str
    values: tuple[float, ...] | None = None
    reason: str | None = None


@dataclass
class ExecutionContext:
    """What a session gives its executor when it starts.

    Attributes:
        study: the session's Optuna study (samplers, pruners and storage included).
        objective: the user's objective function.
        settings: what each trial needs to know about the session.
        publish: where events go (the session's event stream).
        study_name: the study's name.
        storage: the session's :class:`~hpo_lab.storage.StorageSpec` (remote executors reopen
            storage from it).
        checkpoints: the session's :class:`~hpo_lab.checkpoints.CheckpointStore`.
        constraints: the session's :class:`~hpo_lab.constraints.ConstraintSource` (outcome
            constraints are evaluated when a trial ends).
    """

    study: optuna.Study
    objective: Callable[..., Any]
    settings: TrialSettings
    publish: Callable[[Event], None]
    study_name: str = ""
    storage: Any = None
    checkpoints: Any = None
    constraints: Any = None


class BaseExecutor(abc.ABC):
    """Runs trials. Contract:

    - :meth:`start` is called once, before any :meth:`submit`.
    - :meth:`submit` returns at once with a future; the future's result is a
      :class:`TrialOutcome` once the trial is told to Optuna's storage. Errors in the objective
      never raise from the future: they are FAIL outcomes. The executor publishes the trial's
      events (started, metrics, finished) through ``context.publish``.
    - :meth:`send` delivers a control to a running trial (cooperatively: the trial reads it at its
      next ``report``); it returns False when the trial is not running here.
    - :meth:`shutdown` stops accepting trials; with ``wait`` it returns once running ones ended.
    - Thread-safety: ``submit``, ``send`` and ``shutdown`` may be called from any thread.
    - :attr:`persists_metrics`: whether the executor's workers write the values their trials
      report to the side tables themselves (remote workers must: the notebook may be gone). The
      session then writes none of the ``MetricsReported`` events it receives, so nothing is
      written twice.
    """

    #: Short name used in reprs and errors.
    name: str = "executor"
    #: Whether the workers persist reported values themselves (see the contract above).
    persists_metrics: bool = False

    @abc.abstractmethod
    def start(self, context: ExecutionContext) -> None:
        """Bind to a session."""

    @abc.abstractmethod
    def submit(self, task: TrialTask) -> Future[TrialOutcome]:
        """Run ``task`` in the background."""

    @abc.abstractmethod
    def send(self, number: int, control: Control) -> bool:
        """Deliver ``control`` to running trial ``number``."""

    @abc.abstractmethod
    def running(self) -> list[int]:
        """Numbers of the trials running now."""

    @abc.abstractmethod
    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting trials (and wait for running ones to end when ``wait``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
