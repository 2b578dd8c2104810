"""Recording a trial whose worker is gone: FAIL with the reason, once, whoever notices first."""

from __future__ import annotations

import time
from collections.abc import Callable

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from hpo_lab.events import Event, TrialFinished
from hpo_lab.executors._base import TrialOutcome, TrialTask
from hpo_lab.storage._liveness import FAIL_REASON_ATTR


def outcome_of(number: int, ft: FrozenTrial, reason: str | None = None) -> TrialOutcome:
    """The outcome of a trial that has already ended, as its stored record says."""
    reason = reason or ft.user_attrs.get(FAIL_REASON_ATTR) or ft.user_attrs.get("end_reason")
    return TrialOutcome(number, ft.state.name, tuple(ft.values) if ft.values else None, reason)


def fail_lost_trial(
    study: optuna.Study,
    task: TrialTask,
    reason: str,
    publish: Callable[[Event], None],
) -> TrialOutcome:
    """Mark ``task``'s trial FAIL with ``reason`` (unless it already ended) and publish it.

    Returns:
        The trial's outcome: FAIL with ``reason``, or how it ended if it ended first (its
        worker told the storage just before dying, or another process failed it already).
    """
    storage = study._storage
    ft = storage.get_trial(task.trial_id)
    if ft.state.is_finished():
        return outcome_of(task.number, ft)
    try:
        storage.set_trial_user_attr(task.trial_id, FAIL_REASON_ATTR, reason)
        storage.set_trial_state_values(task.trial_id, state=TrialState.FAIL)
    except UpdateFinishedTrialError:
        return outcome_of(task.number, storage.get_trial(task.trial_id))
    started = ft.datetime_start.timestamp() if ft.datetime_start else None
    publish(
        TrialFinished(
            task.number,
            "FAIL",
            None,
            reason,
            dict(ft.params),
            None if started is None else time.time() - started,
        )
    )
    return TrialOutcome(task.number, "FAIL", None, reason)
