"""`hl.Trial`: what an objective receives. Optuna's trial, plus named metric series, a device and
live controls."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from hpo_lab.events import CheckpointSaved, ControlApplied, Event, ParamsSuggested
from hpo_lab.trial._controls import (
    Control,
    Mailbox,
    Pause,
    Prune,
    Resume,
    Stop,
    TrialPruned,
    TrialStopped,
)
from hpo_lab.trial._deferred import DEFAULT_INTERVAL, DeferredBuffer
from hpo_lab.trial._intermediate import IntermediateValues
from hpo_lab.trial._values import check_step, convert_metrics, is_deferred, resolve_deferred

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrialSettings:
    """What a trial needs to know about its session (plain data: it travels to workers).

    Attributes:
        metric: the primary series; it also goes to Optuna's ``trial.report`` (None: no series
            goes to Optuna and no pruner runs).
        n_objectives: how many values the objective returns.
        objective_names: their names, when the objective returns a dict.
        pruning: whether an Optuna pruner decides at each report of ``metric``.
        pruner_name: how to name the pruner in reasons (``"median pruner"``).
        gpu_flush_interval: seconds a deferred GPU value may wait before conversion.
    """

    metric: str | None = None
    n_objectives: int = 1
    objective_names: tuple[str, ...] | None = None
    pruning: bool = False
    pruner_name: str = "pruner"
    gpu_flush_interval: float = DEFAULT_INTERVAL


class Trial:
    """A trial of a :class:`~hpo_lab.Session`, passed to the objective.

    It speaks Optuna's language (``suggest_float``, ``suggest_int``, ``suggest_categorical``,
    ``should_prune``, ``set_user_attr``, ``number``, ``params``) and adds:

    - ``report(step, **metrics)``: any number of named series per step, all stored;
    - ``device``: the ``torch.device`` the session assigned to this trial;
    - controls from the notebook (prune, stop, pause), applied at the next ``report``.

    Example:
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", -10, 10)
        ...     for step in range(5):
        ...         trial.report(step, loss=(x - 2) ** 2 / (step + 1))
        ...     return (x - 2) ** 2
    """

    def __init__(
        self,
        optuna_trial: optuna.Trial,
        *,
        settings: TrialSettings,
        publish: Callable[[Event], None],
        mailbox: Mailbox | None = None,
        device: str = "cpu",
        checkpoints: Any = None,
    ) -> None:
        self._ot = optuna_trial
        self._settings = settings
        self._publish = publish
        self._mailbox = mailbox if mailbox is not None else Mailbox()
        self._device_name = device
        self._device: Any = None
        self._checkpoints = checkpoints
        self._buffer = DeferredBuffer(optuna_trial.number, publish, settings.gpu_flush_interval)
        self._known_params: set[str] = set(optuna_trial.params)
        self._primary_steps: set[int] = set()
        self._optuna_reports = settings.metric is not None and settings.n_objectives == 1
        # without a pruner nothing reads Optuna's intermediate values while the trial runs
        self._intermediate = (
            IntermediateValues(optuna_trial.study._storage, optuna_trial._trial_id)
            if self._optuna_reports and not settings.pruning
            else None
        )
        self._last_values: dict[str, Any] = {}
        self.last_step: float | None = None
        self.last_primary: float | None = None
        self.end_reason: str | None = None
        #: Whether the session's pruner (not a user) ended the trial: Optuna's record says
        #: as much (PRUNED after the last intermediate value), so no reason is written.
        self.pruned_by_pruner = False
        self.last_report_time: float | None = None

    # ------------------------------------------------------------------ Optuna's vocabulary
    @property
    def number(self) -> int:
        """The trial's number in its study (Optuna's ``trial.number``)."""
        return self._ot.number

    @property
    def params(self) -> dict[str, Any]:
        """Parameters suggested so far."""
        return self._ot.params

    @property
    def distributions(self) -> dict[str, optuna.distributions.BaseDistribution]:
        return self._ot.distributions

    @property
    def user_attrs(self) -> dict[str, Any]:
        return self._ot.user_attrs

    @property
    def datetime_start(self) -> Any:
        return self._ot.datetime_start

    @property
    def study(self) -> optuna.Study:
        """The Optuna study this trial belongs to."""
        return self._ot.study

    @property
    def optuna_trial(self) -> optuna.Trial:
        """The underlying ``optuna.Trial``, for anything hpo_lab does not wrap."""
        return self._ot

    def set_user_attr(self, key: str, value: Any) -> None:
        self._ot.set_user_attr(key, value)

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """As Optuna's ``suggest_float``."""
        return self._noted(name, self._ot.suggest_float(name, low, high, step=step, log=log))

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        """As Optuna's ``suggest_int``."""
        return self._noted(name, self._ot.suggest_int(name, low, high, step=step, log=log))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """As Optuna's ``suggest_categorical``."""
        return self._noted(name, self._ot.suggest_categorical(name, choices))

    def _noted(self, name: str, value: Any) -> Any:
        if name not in self._known_params:
            self._known_params.add(name)
            self._publish(ParamsSuggested(self.number, {name: value}))
        return value

    # ------------------------------------------------------------------ hpo_lab's additions
    @property
    def device(self) -> Any:
        """The ``torch.device`` this trial should use (assigned by the session)."""
        if self._device is None:
            import torch

            self._device = torch.device(self._device_name)
        return self._device

    def report(self, step: Any, metrics: Mapping[str, Any] | None = None, /, **named: Any) -> None:
        """Record named values at ``step``; raise :class:`TrialPruned` if the trial should end.

        Args:
            step: a finite number >= 0 (an epoch, a batch count...); a whole number when the
                session's ``metric`` is among the values, since Optuna indexes by integer steps.
            metrics: optional mapping of names to values (for names that are not identifiers,
                e.g. ``{"hyper/lr": 0.01}``).
            **named: values by keyword. Values are numbers, numpy scalars or one-element torch
                tensors (CPU or GPU; GPU values are converted in batches, not synchronised here).

        The session's ``metric`` also goes to Optuna's ``trial.report``, so every Optuna pruner
        works. Controls from the notebook (prune, stop, pause) take effect here.

        Raises:
            TrialPruned: the pruner or the user pruned this trial.
            TrialStopped: the user stopped this trial.
            TypeError, ValueError: bad step, names or values (nothing is recorded then).
        """
        step = check_step(step)
        values = convert_metrics(metrics, named)
        now = time.time()
        metric = self._settings.metric
        primary = metric is not None and metric in values
        if primary:
            v = values[metric]
            if is_deferred(v) and (self._optuna_reports or self._settings.pruning):
                v = values[metric] = resolve_deferred([v])[0]  # the pruner needs it now
            if not is_deferred(v):
                self.last_primary = v
            if self._optuna_reports:
                self._report_to_optuna(step, v)
        self._last_values.update(values)
        self._buffer.emit(step, values, now)
        self.last_step = step
        self.last_report_time = now
        self._take_controls()
        if primary and self._settings.pruning and self._ot.should_prune():
            self.end_reason = f"pruned by the {self._settings.pruner_name} at step {step}"
            self.pruned_by_pruner = True
            raise TrialPruned(self.end_reason)

    @property
    def last_values(self) -> dict[str, float]:
        """The last value reported for each series."""
        out = {}
        for k, v in self._last_values.items():
            out[k] = v if not is_deferred(v) else float(resolve_deferred([v])[0])
        return out

    def _report_to_optuna(self, step: float, value: float) -> None:
        if not isinstance(step, int):
            raise ValueError(
                f"step must be a whole number when the metric {self._settings.metric!r} is "
                f"reported (Optuna indexes intermediate values by integer steps); got {step!r}"
            )
        if step in self._primary_steps:
            return  # Optuna keeps the first value reported at a step; so do its pruners
        self._primary_steps.add(step)
        if self._intermediate is None:
            self._ot.report(value, step)  # the pruner reads it at once
        else:
            self._intermediate.add(step, float(value))

    def should_prune(self) -> bool:
        """Whether the trial should end now (asked by the user, or decided by the pruner).

        Raises:
            TrialStopped: the user stopped this trial.
        """
        try:
            self._take_controls()
        except TrialPruned:
            return True
        if self._settings.pruning and self._primary_steps and self._ot.should_prune():
            self.end_reason = f"pruned by the {self._settings.pruner_name}"
            self.pruned_by_pruner = True
            return True
        return False

    # ------------------------------------------------------------------ checkpoints and lineage
    @property
    def parent(self) -> int | None:
        """The trial this one was forked from (None for a fresh trial)."""
        return self._ot.user_attrs.get("parent")

    @property
    def fork_step(self) -> float | None:
        """The step of the parent's checkpoint this trial starts from (None if not forked)."""
        return self._ot.user_attrs.get("fork_step")

    def save_checkpoint(self, state: Any, step: Any = None) -> None:
        """Store ``state`` (tensors and containers of them: model, optimizer, scheduler, RNG
        states) as this trial's checkpoint at ``step`` (default: the last reported step), so the
        trial can be forked from there. Older checkpoints are removed by the session's retention
        policy unless something was forked from them.

        Example:
            >>> def objective(trial):  # doctest: +SKIP
            ...     ...
            ...     trial.report(epoch, val_loss=vl)
            ...     trial.save_checkpoint({"model": model.state_dict(),
            ...                            "optimizer": opt.state_dict(), "epoch": epoch})
        """
        if self._checkpoints is None:
            raise RuntimeError("this trial's session keeps no checkpoints")
        if step is None:
            if self.last_step is None:
                raise ValueError("save_checkpoint needs step= (nothing was reported yet)")
            step = self.last_step
        step = check_step(step)
        ref = self._checkpoints.save(self.number, step, state)
        self._publish(CheckpointSaved(self.number, step, ref.key, ref.size))

    def load_checkpoint(self) -> Any:
        """The state this trial should start from — its fork parent's checkpoint, with tensors on
        this trial's device — or None for a fresh trial. Loaded with
        ``torch.load(..., weights_only=True)``."""
        key = self._ot.user_attrs.get("checkpoint")
        if key is None:
            return None
        if self._checkpoints is None:
            raise RuntimeError("this trial's session keeps no checkpoints")
        return self._checkpoints.load(key, map_location=self.device)

    # ------------------------------------------------------------------ controls
    def _take_controls(self) -> None:
        if not self._mailbox._queue:
            return
        held = False
        controls = self._mailbox.take()
        while True:
            for c in controls:
                held = self._apply(c, held)
            if not held:
                return
            self._buffer.flush()
            self._flush_intermediate()
            controls = self._mailbox.wait(timeout=1.0)

    def _apply(self, c: Control, held: bool) -> bool:
        if isinstance(c, (Prune, Stop)):
            self._buffer.flush()
            self.end_reason = c.reason
            self._confirm(c)
            raise (TrialPruned if isinstance(c, Prune) else TrialStopped)(c.reason)
        if isinstance(c, Pause):
            if not held:
                self._confirm(c)
            return True
        if isinstance(c, Resume):
            if held:
                self._confirm(c)
            return False
        return held

    def _confirm(self, c: Control) -> None:
        self._publish(
            ControlApplied(
                c.kind,
                self.number,
                source=c.source,
                result="applied",
                details={"step": self.last_step},
            )
        )

    def _flush_intermediate(self) -> None:
        if self._intermediate is None:
            return
        try:
            self._intermediate.flush()
        except Exception as exc:  # the values are in the session's series all the same
            _logger.warning(
                "trial %d: writing %d intermediate values to Optuna's storage failed: %s",
                self.number,
                self._intermediate.held,
                exc,
            )

    def _close(self) -> None:
        """Write and publish whatever is still buffered (the trial has ended)."""
        self._flush_intermediate()
        self._buffer.flush()

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self.params}, device={self._device_name!r})"
