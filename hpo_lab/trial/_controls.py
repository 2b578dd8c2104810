"""Controls: what a user (or a scheduler) asks of a running trial, in the imperative.

The session posts controls to the trial's :class:`Mailbox`; the trial reads them at its next
``report`` or ``should_prune`` (cancellation is cooperative: no thread is ever killed).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

import optuna


class TrialStopped(Exception):
    """Raised inside a trial the user asked to stop: it ends now, keeping its last result.

    An objective may catch it and return a value; otherwise a single-objective trial ends
    COMPLETE with the last value it reported for the session's metric (PRUNED when it reported
    none).
    """


TrialPruned = optuna.TrialPruned


@dataclass(frozen=True)
class Control:
    """Base class of controls. ``source`` says who asked (``code``, ``dashboard``, ...)."""

    source: str = "code"

    @property
    def kind(self) -> str:
        return type(self).__name__.lower()


@dataclass(frozen=True)
class Prune(Control):
    """End the trial as PRUNED at its next report."""

    reason: str = "pruned by user"


@dataclass(frozen=True)
class Stop(Control):
    """End the trial now, keeping its last reported result (see :class:`TrialStopped`)."""

    reason: str = "stopped by user"


@dataclass(frozen=True)
class Pause(Control):
    """Hold the trial at its next report until it is resumed (or pruned or stopped)."""


@dataclass(frozen=True)
class Resume(Control):
    """Let a held trial go on."""


class Mailbox:
    """The controls waiting for one running trial. Thread-safe; reading an empty box is cheap."""

    def __init__(self) -> None:
        self._queue: deque[Control] = deque()
        self._cond = threading.Condition()

    def post(self, control: Control) -> None:
        """Leave ``control`` for the trial."""
        if not isinstance(control, Control):
            raise TypeError(f"control must be a Control, got {type(control).__name__}")
        with self._cond:
            self._queue.append(control)
            self._cond.notify_all()

    def take(self) -> list[Control]:
        """Everything posted so far (possibly nothing), oldest first."""
        if not self._queue:
            return []
        with self._cond:
            out = list(self._queue)
            self._queue.clear()
            return out

    def wait(self, timeout: float | None = None) -> list[Control]:
        """Block until something is posted (or ``timeout`` passes), then take it."""
        with self._cond:
            self._cond.wait_for(lambda: bool(self._queue), timeout)
        return self.take()
