"""Steering a running search: prune or stop one trial, fork one from a checkpoint, constrain
and relax the search space, replay another session's actions. `Session` inherits these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

from hpo_lab.constraints import (
    Constraints,
    is_outcome_expression,
    make_param_constraint,
    parse_outcome,
)
from hpo_lab.constraints._model import _UNSET
from hpo_lab.session import _constrain
from hpo_lab.session._fork import check_overrides, enqueue_fork
from hpo_lab.session._replay import Replayer
from hpo_lab.storage._liveness import WORKER_ATTR
from hpo_lab.trial import Control, Prune, Stop

if TYPE_CHECKING:
    from hpo_lab.session._session import Session


class SteeringMixin:
    """The controls of single trials and of the search space (see :class:`Session`)."""

    _executor: Any
    _live: Any
    _config: Any
    _objective: Any
    name: str
    store: Any
    study: Any

    def prune(self, number: int, *, source: str = "code") -> bool:
        """End running trial ``number`` as PRUNED at its next report.

        Returns:
            True if the request reached the trial (or, for a trial run by another hpo_lab
            worker, was posted to the action log those workers read); False if it ended before
            the request arrived (the action log records which).

        Raises:
            ValueError: the trial does not exist or has already finished.
        """
        return self._control_trial(number, Prune(source=source), "prune")

    def stop_trial(self, number: int, *, source: str = "code") -> bool:
        """End running trial ``number`` at its next report, keeping its last reported value of
        the session's metric as its result (COMPLETE). See :meth:`prune` for errors."""
        return self._control_trial(number, Stop(source=source), "stop_trial")

    def _control_trial(self, number: Any, control: Control, kind: str) -> bool:
        ft = self._frozen(number)
        if ft.state != TrialState.RUNNING:
            raise ValueError(
                f"trial {number} is {ft.state.name}, not RUNNING: only running trials can be "
                f"{'pruned' if kind == 'prune' else 'stopped'}"
            )
        if self._executor.send(number, control):
            self._record(kind, {}, source=control.source, trial=number)
            return True
        ft = self._frozen(number)
        if ft.state != TrialState.RUNNING:
            self._record(
                kind,
                {},
                source=control.source,
                trial=number,
                result=f"ignored: the trial ended ({ft.state.name}) first",
            )
            return False
        owner = ft.system_attrs.get(WORKER_ATTR)
        if owner is None:
            raise ValueError(
                f"trial {number} is running outside hpo_lab (plain Optuna); it cannot be "
                "controlled from here"
            )
        # Run by another hpo_lab worker (an 'hpo-lab worker' process, or a cluster task a
        # previous session started): those read the action log, where _record posts it.
        self._record(kind, {}, source=control.source, trial=number, result=f"posted for {owner}")
        return True

    def fork(
        self,
        number: int,
        overrides: Mapping[str, Any] | None = None,
        *,
        step: float | None = None,
        stop_parent: bool = False,
        source: str = "code",
        _attrs: Mapping[str, Any] | None = None,
    ) -> int:
        """Start a new trial from trial ``number``'s checkpoint with some parameters changed.

        The child gets the parent's parameters updated by ``overrides`` (checked against the
        search space), and ``trial.load_checkpoint()`` in the child returns the parent's
        checkpoint at ``step`` (the latest when None). The child runs at once (ahead of the
        budget, which forks do not use up); its lineage is stored in its user attributes
        (``parent``, ``fork_step``, ``checkpoint``). The parent's checkpoint is kept from then on.

        Args:
            number: the parent trial (running or finished).
            overrides: parameter values to change.
            step: which of the parent's checkpoints to start from.
            stop_parent: also stop the parent (if running), keeping its last value.

        Returns:
            The child's trial number.

        Raises:
            ValueError / TypeError: unknown parent, no checkpoint (at that step), bad overrides.
        """
        self._check_open()
        if self._objective is None:
            raise RuntimeError(f"session {self.name!r} has no objective to run the fork with")
        parent = self._frozen(number)
        values = check_overrides(parent, overrides)
        try:
            ref = self.checkpoints.find(number, step)
            self.checkpoints.pin(ref)
        except LookupError as exc:
            raise ValueError(f"cannot fork trial {number}: {exc}") from None
        fork_step = int(ref.step) if ref.step.is_integer() else ref.step
        child, _ = enqueue_fork(
            self.study, parent, {**parent.params, **values}, fork_step, ref.key, _attrs
        )
        self._record(
            "fork",
            {"parent": number, "overrides": values, "step": fork_step, "child": child},
            source=source,
            trial=number,
        )
        if stop_parent and parent.state == TrialState.RUNNING:
            try:
                self.stop_trial(number, source=source)
            except ValueError:
                pass  # it ended meanwhile
        self._ensure_executor()
        self._driver.add_priority(1)
        return child

    def constrain(
        self,
        target: str,
        *,
        low: float | None = None,
        high: float | None = None,
        choices: Sequence[Any] | None = None,
        fixed: Any = _UNSET,
        strict: bool = True,
        source: str = "code",
    ) -> Constraints:
        """Constrain the rest of the search, live.

        - ``constrain("lr", low=1e-3, high=1e-2)`` narrows a float or int range;
        - ``constrain("optimizer", choices=["adam"])`` restricts a categorical;
        - ``constrain("dropout", fixed=0.1)`` fixes a parameter;
        - ``constrain("latency_ms <= 5")`` adds an outcome constraint on any returned objective,
          reported series (its last value) or numeric user attribute.

        New trials sample inside the constrained space; the sampler keeps its history (it is
        wrapped, not reset). Outcome constraints are recorded on each trial that ends from now on
        (Optuna's ``set_constraint``, which TPE, GP and NSGA samplers use) and mark infeasible
        trials in the dashboard. A constraint on the same parameter or outcome replaces the last.

        Returns:
            The constraints now in force.
        """
        if not isinstance(target, str) or not target.strip():
            raise TypeError(f"constrain needs a parameter name or 'name <= bound', got {target!r}")
        current = self._constraints.current()
        if is_outcome_expression(target):
            if any(v is not None for v in (low, high, choices)) or fixed is not _UNSET:
                raise ValueError("an outcome constraint takes no low/high/choices/fixed")
            oc = parse_outcome(target)
            _constrain.check_outcome(self, oc, strict)
            new = current.with_outcome(oc)
            payload: dict[str, Any] = {"target": target}
        else:
            pc = make_param_constraint(
                target.strip(), low=low, high=high, choices=choices, fixed=fixed
            )
            _constrain.check_param(self, pc, strict)
            new = current.with_param(pc)
            payload = {"target": pc.name, **{k: v for k, v in pc.to_json().items() if k != "name"}}
        self._constraints.set(new)
        self._record("constrain", payload, source=source)
        return new

    def relax(self, target: str | None = None, *, source: str = "code") -> Constraints:
        """Remove the constraints on ``target`` (a parameter or outcome name, or an outcome
        expression); with no target, all of them.

        Raises:
            ValueError: nothing is constrained on ``target``.
        """
        new, removed = self._constraints.current().without(target)
        if not removed:
            raise ValueError(
                f"relax: nothing is constrained on {target!r}; in force: "
                f"{self._constraints.current().describe()}"
            )
        self._constraints.set(new)
        self._record("relax", {"target": target, "removed": removed}, source=source)
        return new

    @property
    def constraints(self) -> Constraints:
        """The constraints in force (see :meth:`constrain`)."""
        return self._constraints.current()

    def replay_actions(self, other: Session) -> Replayer:
        """Re-apply this session's action log to ``other``, each action when ``other`` reaches
        the point where it was taken (see :mod:`hpo_lab.session._replay`). Returns the replayer;
        ``.wait()`` blocks until all actions are applied, ``.results`` says how each went."""
        from hpo_lab.session._session import Session

        if not isinstance(other, Session):
            raise TypeError(f"other must be a Session, got {type(other).__name__}")
        if other is self:
            raise ValueError("replay_actions needs another session than this one")
        return Replayer(self.store.read_actions(self.name), other)

    def unresponsive(self) -> dict[int, float]:
        """Running trials that have not reported for longer than ``unresponsive_after``:
        trial number -> seconds of silence. Controls sent to them wait for their next report."""
        return self._live.unresponsive()
