"""The Controls tab: fork the selected trial, constrain the search, the lineage of forks and
the action log.

Forms act on the session with ``source="dashboard"``, so the action log (persisted with the
study, replayable) says who asked. What they show is computed by pure functions
(:func:`controls_data`); the few facts the model lacks (the selected trial's distributions and
checkpoints, the constraints in force) are read from the session, only when they may have
changed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import ipywidgets as w
from optuna.distributions import BaseDistribution

from hpo_lab.constraints import Constraints

from ._action_log import ActionLogData, action_log_data
from ._changes import Changes
from ._controls import ConstrainData, ForkData, constrain_data, fmt_step, fork_data
from ._controls_forms import ConstrainForm, ForkForm
from ._controls_views import ActionLogView, LineageView
from ._hover import fmt_value
from ._lineage import LineageData, lineage_data
from ._model import DashboardModel
from ._panel import Panel, register_panel

logger = logging.getLogger(__name__)


class ControlsData(NamedTuple):
    """The tab's four views."""

    fork: ForkData
    constrain: ConstrainData
    lineage: LineageData
    actions: ActionLogData


def controls_data(
    model: DashboardModel,
    *,
    selected: int | None = None,
    distributions: Mapping[str, BaseDistribution] | None = None,
    checkpoint_steps: Sequence[float] = (),
    constraints: Constraints | None = None,
    known: Mapping[str, BaseDistribution] | None = None,
    can_run: bool = True,
) -> ControlsData:
    """Everything the Controls tab shows.

    Args:
        model: The dashboard's model.
        selected: The selected trial.
        distributions: The selected trial's parameter distributions.
        checkpoint_steps: The steps of the selected trial's kept checkpoints.
        constraints: The constraints in force.
        known: Every parameter distribution the session knows of (for the constrain form).
        can_run: Whether the session has an objective (it can run forks).

    Example:
        >>> m = DashboardModel("demo", ["minimize"])
        >>> d = controls_data(m)
        >>> d.fork.enabled, d.constrain.active, d.lineage.nodes, d.actions.total
        (False, (), (), 0)
    """
    return ControlsData(
        fork_data(
            model,
            selected,
            distributions=distributions or {},
            checkpoint_steps=checkpoint_steps,
            can_run=can_run,
        ),
        constrain_data(model, constraints or Constraints(), distributions=known or {}),
        lineage_data(model, selected=selected),
        action_log_data(model),
    )


@register_panel
class ControlsPanel(Panel):
    """Fork and constrain forms, the lineage tree and the action log.

    Clicking a trial in the lineage or the log selects it; the fork form follows the selection.
    """

    name = "controls"
    title = "Controls"
    order = 35

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self.fork_form: ForkForm | None = None
        self.constrain_form: ConstrainForm | None = None
        self.lineage: LineageView | None = None
        self.log: ActionLogView | None = None
        self._root: w.Widget | None = None
        self._memo: dict[str, tuple[Any, Any]] = {}
        self._shown: dict[str, Any] = {}

    # ------------------------------------------------------------------ build
    def build(self) -> w.Widget:
        lock = self.context.lock
        self.fork_form = ForkForm(self._on_fork, lock)
        self.constrain_form = ConstrainForm(self._on_constrain, self._on_relax, lock)
        self.lineage = LineageView()
        self.lineage.add_class("hpo-ctl-lineage")
        self.log = ActionLogView()
        self.log.add_class("hpo-ctl-log")
        for view in (self.lineage, self.log):
            view.on_select(self.context.select)
        left = w.VBox([self.fork_form.widget, self.constrain_form.widget])
        left.add_class("hpo-ctl-column")
        right = w.VBox([self.lineage, self.log])
        right.add_class("hpo-ctl-column")
        self._root = w.HBox([left, right])
        self._root.add_class("hpo-ctl")
        self._shown = {}
        return self._root

    # ------------------------------------------------------------------ compute / apply
    def wants(self, changes: Changes) -> bool:
        selected = self.context.selected
        return bool(
            changes.reset
            or changes.selection
            or changes.actions
            or changes.states
            or changes.finished
            or changes.params
            or changes.param_names
            or changes.series_names
            or changes.best
            or (selected is not None and (selected in changes.rows or selected in changes.steps))
        )

    def compute(self, model: DashboardModel) -> ControlsData:
        selected = self.context.selected
        session = self.context.session
        t = model.trials.get(selected) if selected is not None else None
        distributions: Mapping[str, BaseDistribution] = {}
        steps: Sequence[float] = ()
        if t is not None:
            distributions = self._remember(
                "distributions",
                (selected, tuple(sorted(t.params))),
                lambda: trial_distributions(session, t.number),
            )
            steps = self._remember(
                "steps",
                (id(model), selected, t.version, t.state),
                lambda: checkpoint_steps(session, t.number),
            )
        missing = [n for n in model.param_names if n not in model.distributions]
        known = self._remember(
            "known",
            (tuple(missing), len(model.trials)) if missing else (),
            lambda: known_distributions(session) if missing else {},
        )
        fork = fork_data(
            model,
            selected,
            distributions=distributions,
            checkpoint_steps=steps,
            can_run=getattr(session, "_objective", None) is not None,
        )
        constrain = constrain_data(model, current_constraints(session), distributions=known)
        lineage = self._remember(
            "lineage",
            (id(model), len(model.actions), model.outcome_version, selected, model.best),
            lambda: lineage_data(model, selected=selected),
        )
        actions = self._remember(
            "actions", (id(model), len(model.actions)), lambda: action_log_data(model)
        )
        return ControlsData(fork, constrain, lineage, actions)

    def _remember(self, name: str, key: Any, make: Any) -> Any:
        memo = self._memo.get(name)
        if memo is None or memo[0] != key:
            memo = self._memo[name] = (key, make())
        return memo[1]

    def apply(self, data: ControlsData) -> None:
        if self.fork_form is None or self.constrain_form is None:
            raise RuntimeError("ControlsPanel.apply called before build()")
        assert self.lineage is not None and self.log is not None
        if self._shown.get("fork") != data.fork:
            self.fork_form.show(data.fork)
        if self._shown.get("constrain") != data.constrain:
            self.constrain_form.show(data.constrain)
        if self._shown.get("lineage") != data.lineage:
            self.lineage.show(data.lineage)
        if self._shown.get("actions") != data.actions:
            self.log.show(data.actions)
        self._shown = data._asdict()

    # ------------------------------------------------------------------ callbacks
    # They run on the kernel's main thread. The session is called without the dashboard's lock
    # (its controls publish events the pump applies under that lock); widgets are touched
    # with it.
    def _on_fork(self) -> None:
        form = self.fork_form
        if form is None:
            return
        with self.context.lock:
            data = form.data
            overrides, errors = form.read()
            step, stop_parent = form.chosen_step, bool(form.stop_parent.value)
        if data is None or data.number is None or not data.enabled:
            with self.context.lock:
                reason = data.reason if data is not None else "select a trial first."
                form.say(f"Nothing forked: {reason}", "error")
            return
        if errors:
            with self.context.lock:
                form.say("Nothing forked: " + "; ".join(errors), "error")
            return
        try:
            child = self.context.session.fork(
                data.number, overrides, step=step, stop_parent=stop_parent, source="dashboard"
            )
        except Exception as exc:  # a refusal of the session: shown, nothing lost
            with self.context.lock:
                form.say(f"Nothing forked: {exc}", "error")
            return
        changed = ", ".join(f"{k}={fmt_value(v)}" for k, v in overrides.items())
        where = f"step {fmt_step(step)}" if step is not None else "its latest checkpoint"
        text = f"Forked trial {data.number} from {where} → trial {child}"
        text += f" ({changed})" if changed else " (same parameters)"
        if stop_parent:
            text += "; the parent stops at its next report"
        with self.context.lock:
            form.say(text, "ok")
        self.context.refresh(self)

    def _on_constrain(self) -> None:
        form = self.constrain_form
        if form is None:
            return
        with self.context.lock:
            try:
                target, kwargs = form.read()
            except ValueError as exc:
                form.say(f"Nothing changed: {exc}", "error")
                return
        try:
            now = self.context.session.constrain(target, source="dashboard", **kwargs)
        except Exception as exc:
            with self.context.lock:
                form.say(f"Nothing changed: {exc}", "error")
            return
        param = now.params.get(target)
        added = param.describe() if param is not None else target
        with self.context.lock:
            form.say(f"Constrained: {added} (trials that start from now on)", "ok")
        self.context.refresh(self)

    def _on_relax(self, target: str | None) -> None:
        form = self.constrain_form
        if form is None:
            return
        try:
            self.context.session.relax(target, source="dashboard")
        except Exception as exc:
            with self.context.lock:
                form.say(f"Nothing relaxed: {exc}", "error")
            return
        with self.context.lock:
            form.say(f"Relaxed {target}" if target else "Relaxed every constraint", "ok")
        self.context.refresh(self)

    def close(self) -> None:
        for part in (self.fork_form, self.constrain_form):
            if part is not None:
                part.close()
        for view in (self.lineage, self.log, self._root):
            if view is not None:
                view.close()
        self.fork_form = self.constrain_form = None
        self.lineage = self.log = None
        self._root = None


# ---------------------------------------------------------------------- reading the session
def trial_distributions(session: Any, number: int) -> dict[str, BaseDistribution]:
    """Trial ``number``'s parameter distributions, from storage ({} if unknown)."""
    try:
        study = session.study
        storage = study._storage
        trial_id = storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
        return dict(storage.get_trial(trial_id).distributions)
    except Exception:
        return {}


def checkpoint_steps(session: Any, number: int) -> list[float]:
    """The steps of trial ``number``'s kept checkpoints ([] if none or no checkpoint store)."""
    store = getattr(session, "checkpoints", None)
    if store is None:
        return []
    try:
        return [float(r.step) for r in store.list(number)]
    except Exception:
        logger.debug("could not list the checkpoints of trial %d", number, exc_info=True)
        return []


def known_distributions(session: Any) -> dict[str, BaseDistribution]:
    """Every parameter distribution the session's trials used ({} if unreadable)."""
    from hpo_lab.session._constrain import known_distributions as known

    try:
        return known(session)
    except Exception:
        return {}


def current_constraints(session: Any) -> Constraints:
    """``session.constraints`` (none for something that has no constraints)."""
    try:
        constraints = session.constraints
    except Exception:
        return Constraints()
    return constraints if isinstance(constraints, Constraints) else Constraints()
