"""The scheduler contract: algorithms that decide about running trials from what they report.

A scheduler sees the session's events and acts only through :class:`SchedulerControls` — the
session's own controls (fork, prune, stop), which are recorded in the action log like a user's.
It never sees executors or widgets.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from optuna.distributions import BaseDistribution

from hpo_lab.events import Event


class SchedulerControls(Protocol):
    """What a session lets a scheduler do and see."""

    metric: str
    maximize: bool

    def params(self, number: int) -> dict[str, Any]: ...

    def distributions(self, number: int) -> dict[str, BaseDistribution]: ...

    def checkpoint_steps(self, number: int) -> list[float]: ...

    def fork(
        self,
        number: int,
        overrides: Mapping[str, Any],
        step: float | None,
        attrs: Mapping[str, Any],
    ) -> int: ...

    def prune(self, number: int, reason: str) -> bool: ...

    def user_attrs(self, number: int) -> dict[str, Any]: ...


class BaseScheduler(abc.ABC):
    """Base class of schedulers (see the module docstring)."""

    #: Short name for the action log's ``source``.
    name = "scheduler"

    def attach(self, controls: SchedulerControls) -> None:
        """Called once by the session before any event arrives."""
        self.controls = controls

    @abc.abstractmethod
    def on_events(self, events: Sequence[Event]) -> None:
        """React to a batch of the session's events (on the scheduler's own thread)."""
