"""Running one trial, worker-side: the objective, its failures, and telling Optuna.

The same function serves every executor: a thread of the kernel, a worker process or a cluster
task each build an Optuna study for their process and call :func:`run_trial`.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import TrialState

from hpo_lab.constraints import evaluate_outcomes
from hpo_lab.events import Event, TrialFinished, TrialStarted
from hpo_lab.executors._base import TrialOutcome, TrialTask
from hpo_lab.storage._liveness import FAIL_REASON_ATTR
from hpo_lab.trial import Mailbox, Trial, TrialPruned, TrialSettings, TrialStopped
from hpo_lab.trial._values import objective_values

_logger = logging.getLogger("hpo_lab")

END_REASON_ATTR = "end_reason"
TRACEBACK_ATTR = "traceback"
OOM_REASON = "out of memory"
_MAX_TRACEBACK = 20_000


def _is_oom(exc: BaseException) -> bool:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(exc, getattr(torch.cuda, "OutOfMemoryError", ())):
        return True
    return isinstance(exc, (RuntimeError, MemoryError)) and "out of memory" in str(exc).lower()


def _free_accelerator_memory() -> None:
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _call(objective: Callable[[Trial], Any], trial: Trial, settings: TrialSettings) -> tuple:
    """Run the objective; return ``(state, values, reason, traceback)``."""
    names = list(settings.objective_names) if settings.objective_names else None
    try:
        result = objective(trial)
    except TrialPruned as exc:
        return TrialState.PRUNED, None, str(exc) or trial.end_reason or "pruned", None
    except TrialStopped as exc:
        reason = str(exc) or "stopped by user"
        if settings.n_objectives == 1 and trial.last_primary is not None:
            return TrialState.COMPLETE, (trial.last_primary,), reason, None  # its last result
        return TrialState.PRUNED, None, reason, None
    except BaseException as exc:  # the session must outlive any objective
        tb = "".join(traceback.format_exception(exc))[-_MAX_TRACEBACK:]
        if _is_oom(exc):
            del exc
            _free_accelerator_memory()
            return TrialState.FAIL, None, OOM_REASON, tb
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return TrialState.FAIL, None, reason, tb
    try:
        return (
            TrialState.COMPLETE,
            objective_values(result, settings.n_objectives, names),
            None,
            None,
        )
    except (TypeError, ValueError) as exc:
        return TrialState.FAIL, None, str(exc), None


def run_trial(
    task: TrialTask,
    study: optuna.Study,
    objective: Callable[[Trial], Any],
    settings: TrialSettings,
    publish: Callable[[Event], None],
    mailbox: Mailbox,
    worker: str = "",
    checkpoints: Any = None,
    constraints: Any = None,
    before_tell: Callable[[], None] | None = None,
) -> TrialOutcome:
    """Run ``objective`` for the (already RUNNING) trial ``task.trial_id`` and tell the result.

    Never raises for anything the objective does: the outcome says how the trial ended.
    ``before_tell`` runs once the objective has returned and its reported values are published,
    before the trial's end is stored (a remote worker writes those values then, so a finished
    trial in storage always has all of them).
    """
    started = time.time()
    storage = study._storage
    study._thread_local.cached_all_trials = None  # as study.ask() does: samplers see new trials
    ot = optuna.Trial(study, task.trial_id)
    trial = Trial(
        ot,
        settings=settings,
        publish=publish,
        mailbox=mailbox,
        device=task.device,
        checkpoints=checkpoints,
    )
    parent = task.extra.get("parent")
    publish(TrialStarted(task.number, device=task.device, worker=worker, parent=parent))
    state, values, reason, tb = _call(objective, trial, settings)
    try:
        trial._close()
    except Exception as exc:  # a device error while converting buffered values
        if state == TrialState.COMPLETE:
            state, values, reason = TrialState.FAIL, None, f"reading reported values failed: {exc}"
    if before_tell is not None:
        try:
            before_tell()
        except Exception:
            _logger.exception("writing the values of trial %d before its end failed", task.number)
    try:
        current = constraints.current() if constraints is not None else None
        if current is not None and current.outcomes and state != TrialState.FAIL:
            evaluate_outcomes(ot, current, values, settings.objective_names, trial.last_values)
        if state == TrialState.FAIL:
            storage.set_trial_user_attr(task.trial_id, FAIL_REASON_ATTR, reason)
            if tb:
                storage.set_trial_user_attr(task.trial_id, TRACEBACK_ATTR, tb)
            _logger.warning("trial %d failed: %s", task.number, reason)
        elif reason and not trial.pruned_by_pruner:  # asked for by a user or a scheduler
            storage.set_trial_user_attr(task.trial_id, END_REASON_ATTR, reason)
        frozen = study.tell(ot, values, state=state, skip_if_finished=True)
    except Exception as exc:
        _logger.exception("could not record the end of trial %d", task.number)
        state, reason = TrialState.FAIL, f"could not record the result: {exc}"
        try:
            storage.set_trial_state_values(task.trial_id, state=TrialState.FAIL)
        except Exception:
            pass
        frozen = storage.get_trial(task.trial_id)
    final = frozen.state.name
    outcome = TrialOutcome(
        task.number, final, tuple(frozen.values) if frozen.values else None, reason
    )
    publish(
        TrialFinished(
            task.number,
            final,
            outcome.values,
            reason,
            dict(frozen.params),
            time.time() - started,
            trial.last_step,
        )
    )
    return outcome
