"""The events a session emits: things that happened, named in the past tense.

Events are small, immutable and hold plain Python data only (floats, strings, dicts), so that
they can cross thread and process boundaries and be stored or streamed without conversion.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


def _now() -> float:
    return time.time()


@dataclass(frozen=True, slots=True)
class Event:
    """Base class of every event. ``time`` is the wall-clock time (``time.time()``) it happened."""


@dataclass(frozen=True, slots=True)
class TrialStarted(Event):
    """A trial began running on a worker."""

    number: int
    device: str = "cpu"
    worker: str = ""
    parent: int | None = None
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class ParamsSuggested(Event):
    """A trial drew new parameter values (one event per ``suggest_*`` that added a value)."""

    number: int
    params: dict[str, Any]
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class MetricsReported(Event):
    """A trial reported named values at one step (``trial.report(step, ...)``)."""

    number: int
    step: float
    values: dict[str, float]
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class CheckpointSaved(Event):
    """A trial stored a checkpoint at ``step`` (it can be forked from there)."""

    number: int
    step: float
    key: str
    size: int
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class TrialFinished(Event):
    """A trial reached a final state (Optuna's COMPLETE, PRUNED or FAIL).

    ``reason`` says why a trial was pruned or failed (``"out of memory"``, ``"stale: process
    died"``, the exception's repr, ...); ``values`` are the objective values of a complete trial.
    """

    number: int
    state: str
    values: tuple[float, ...] | None = None
    reason: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    duration: float | None = None
    last_step: float | None = None
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class ControlApplied(Event):
    """A control (prune, stop, pause, ...) was asked for or took effect.

    ``number`` is the trial it applies to, or None for the whole session. ``source`` is who asked
    (``"code"``, ``"dashboard"``, ``"scheduler"``); ``result`` what came of it (``"requested"``,
    ``"applied"``, ``"ignored: ..."``).
    """

    kind: str
    number: int | None = None
    source: str = "code"
    result: str = "requested"
    details: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class TrialUnresponsive(Event):
    """A running trial has not reported for ``silent_for`` seconds (more than the session's
    ``unresponsive_after``): controls sent to it wait for its next report."""

    number: int
    silent_for: float
    time: float = field(default_factory=_now)


@dataclass(frozen=True, slots=True)
class SessionStateChanged(Event):
    """The session moved to a new state: ``idle``, ``running``, ``paused``, ``stopping``,
    ``finished`` (budget spent) or ``stopped`` (by the user)."""

    state: str
    time: float = field(default_factory=_now)
