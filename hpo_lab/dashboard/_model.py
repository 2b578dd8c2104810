"""`DashboardModel`: the dashboard's own in-memory copy of a session, fed by events.

It is loaded once from storage (Optuna's trials, hpo_lab's series and action log) and then kept
up to date by the event stream, so views never query storage while trials run. Every update
returns a :class:`Changes` saying what it touched. Not thread-safe: the dashboard holds its lock
around every call.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.trial import FrozenTrial

from hpo_lab.events import (
    ControlApplied,
    Event,
    MetricsReported,
    ParamsSuggested,
    SessionStateChanged,
    TrialFinished,
    TrialStarted,
)

from ._changes import Changes
from ._series import Series

TERMINAL = ("COMPLETE", "PRUNED", "FAIL")
#: Name of the curve made of Optuna's intermediate values, for trials without hpo_lab series.
INTERMEDIATE = "intermediate"
RUN_STATES = ("running", "paused", "stopping")


class HistoryEntry(NamedTuple):
    """One line of a trial's story: when, the state it entered (if any), what happened."""

    time: float
    state: str | None
    text: str


class ActionRecord(NamedTuple):
    """One control from the action log."""

    time: float
    kind: str
    trial: int | None
    source: str
    result: str
    details: Mapping[str, Any]


@dataclass
class TrialRecord:
    """What the dashboard knows about one trial.

    ``held`` is True while the trial waits at a report because the session is paused; its
    :attr:`display_state` is then ``"PAUSED"`` (Optuna still says RUNNING).
    """

    number: int
    state: str = "WAITING"
    params: dict[str, Any] = field(default_factory=dict)
    values: tuple[float, ...] | None = None
    started: float | None = None
    ended: float | None = None
    last_step: float | None = None
    reason: str | None = None
    traceback: str | None = None
    device: str | None = None
    parent: int | None = None
    held: bool = False
    history: list[HistoryEntry] = field(default_factory=list)
    version: int = 0

    @property
    def display_state(self) -> str:
        return "PAUSED" if self.held and self.state == "RUNNING" else self.state

    @property
    def value(self) -> float | None:
        """The first objective value (None unless COMPLETE)."""
        return None if not self.values else self.values[0]

    def duration(self, now: float | None = None) -> float | None:
        """Seconds it ran (so far, for a running trial)."""
        if self.started is None:
            return None
        end = self.ended if self.ended is not None else (now or time.time())
        return max(0.0, end - self.started)

    def note(self, when: float, state: str | None, text: str) -> None:
        self.history.append(HistoryEntry(when, state, text))
        self.history.sort(key=lambda h: h.time)


class DashboardModel:
    """The trials, series, session state and action log a dashboard shows.

    Args:
        name: The session's name.
        directions: ``"minimize"``/``"maximize"``, one per objective.
        objective_names: The objectives' names, if the session names them.
        metric: The session's primary series, if any.

    Example:
        >>> from hpo_lab.events import TrialStarted, MetricsReported, TrialFinished
        >>> m = DashboardModel("demo", ["minimize"], metric="loss")
        >>> changes = m.apply([TrialStarted(0), MetricsReported(0, 0, {"loss": 0.5})])
        >>> changes.points, m.trials[0].state
        ({'loss': {0}}, 'RUNNING')
        >>> _ = m.apply([TrialFinished(0, "COMPLETE", (0.25,))])
        >>> m.best
        (0, 0.25)
    """

    def __init__(
        self,
        name: str,
        directions: Sequence[str],
        objective_names: Sequence[str] | None = None,
        metric: str | None = None,
    ) -> None:
        if not directions or any(d not in ("minimize", "maximize") for d in directions):
            raise ValueError(
                f"directions must be a non-empty list of 'minimize'/'maximize', got {directions!r}"
            )
        self.name = name
        self.directions = list(directions)
        self.objective_names = list(objective_names) if objective_names else None
        self.metric = metric
        self.trials: dict[int, TrialRecord] = {}
        self.series: dict[int, dict[str, Series]] = {}
        self.by_name: dict[str, dict[int, Series]] = {}
        self.param_names: list[str] = []
        self.distributions: dict[str, BaseDistribution] = {}
        self._categorical: set[str] = set()
        self.actions: list[ActionRecord] = []
        self.state = "idle"
        self.run_started: float | None = None
        self.run_ended: float | None = None
        self.budget: int | None = None
        self.best: tuple[int, float] | None = None
        self._pareto: tuple[int, ...] | None = ()
        #: Complete trials that break a constraint (set by the dashboard from storage, see
        #: :meth:`set_infeasible`): never the best, never on the Pareto front, as in Optuna.
        self.infeasible: frozenset[int] = frozenset()
        self.version = 0
        #: Grows whenever a trial's state, values or params change (not with new points):
        #: views of outcomes (history, parameters) recompute only when it moved.
        self.outcome_version = 0
        #: Grows when points reach a trial that is not running (a reload, a late event): views of
        #: finished curves recompute only when it or ``outcome_version`` moved.
        self.finished_points_version = 0
        self._dedupe_before: float = 0.0

    # ------------------------------------------------------------------ reading
    @property
    def n_objectives(self) -> int:
        return len(self.directions)

    @property
    def objective_labels(self) -> list[str]:
        """A name per objective (``"value"`` for one unnamed objective)."""
        if self.objective_names:
            return list(self.objective_names)
        if self.n_objectives == 1:
            return ["value"]
        return [f"value {i}" for i in range(self.n_objectives)]

    @property
    def series_names(self) -> list[str]:
        """Every series name seen, the session's metric first, then in order of appearance."""
        names = list(self.by_name)
        if self.metric in self.by_name:
            names.remove(self.metric)
            names.insert(0, self.metric)
        return names

    def counts(self) -> dict[str, int]:
        """How many trials are in each display state."""
        out: dict[str, int] = {}
        for t in self.trials.values():
            s = t.display_state
            out[s] = out.get(s, 0) + 1
        return out

    def running(self) -> list[int]:
        """Numbers of the trials running (or held by a pause), in order."""
        return sorted(n for n, t in self.trials.items() if t.state == "RUNNING")

    @property
    def pareto(self) -> tuple[int, ...]:
        """Numbers of the feasible complete trials no other one dominates (any objectives)."""
        if self._pareto is None:
            self._pareto = _pareto_front(self)
        return self._pareto

    def is_numeric(self, name: str) -> bool:
        """Whether parameter ``name`` takes numbers only (else it is categorical)."""
        dist = self.distributions.get(name)
        if isinstance(dist, CategoricalDistribution):
            return False
        return name not in self._categorical

    def is_better(self, a: float, b: float) -> bool:
        """Whether first-objective value ``a`` beats ``b``."""
        return a > b if self.directions[0] == "maximize" else a < b

    # ------------------------------------------------------------------ loading from storage
    def load_trials(self, frozen: Iterable[FrozenTrial]) -> Changes:
        """Merges Optuna's records (the source of truth for states, params and values)."""
        ch = Changes()
        for ft in frozen:
            t = self._trial(ft.number, ch)
            before = (t.state, t.values, dict(t.params), t.reason)
            state = ft.state.name
            for name, dist in ft.distributions.items():
                if name not in self.distributions:
                    self.distributions[name] = dist
                    ch.param_names = True  # its kind (int, log, categorical) is known now
            self._note_params(t, ft.params, ch)
            t.values = tuple(float(v) for v in ft.values) if ft.values else None
            attrs = ft.user_attrs
            t.reason = attrs.get("fail_reason") or attrs.get("end_reason") or t.reason
            t.traceback = attrs.get("traceback") or t.traceback
            if t.parent is None and isinstance(attrs.get("parent"), int):
                t.parent = attrs["parent"]  # a fork's or PBT child's lineage, kept by Optuna
            if ft.datetime_start is not None and t.started is None:
                t.started = ft.datetime_start.timestamp()
                t.note(t.started, "RUNNING", "started")
            if ft.datetime_complete is not None and state in TERMINAL:
                t.ended = ft.datetime_complete.timestamp()
                if not any(h.state == state for h in t.history):
                    t.note(t.ended, state, _end_text(state, t.values, t.reason))
            if state != t.state:
                t.state = state
                ch.states.add(ft.number)
                if state in TERMINAL:
                    ch.finished.add(ft.number)
            if ft.intermediate_values and ft.number not in self.series:
                steps = np.fromiter(ft.intermediate_values, dtype=np.float64)
                order = np.argsort(steps, kind="stable")
                values = np.fromiter(ft.intermediate_values.values(), dtype=np.float64)
                self._series(ft.number, self.metric or INTERMEDIATE, ch).extend(
                    steps[order], values[order]
                )
                ch.add_points(self.metric or INTERMEDIATE, ft.number)
                self.finished_points_version += 1
            if t.last_step is None and ft.intermediate_values:
                t.last_step = float(max(ft.intermediate_values))
            if (t.state, t.values, t.params, t.reason) != before:
                self._touch(t, ch)
                if state == "COMPLETE":
                    self._consider_best(t, ch)
        self.version += 1
        return ch

    def load_points(
        self,
        trial: np.ndarray,
        name: np.ndarray,
        step: np.ndarray,
        value: np.ndarray,
        when: np.ndarray,
    ) -> Changes:
        """Adds stored points (columns of equal length, in the order they were written)."""
        ch = Changes()
        n = len(trial)
        if not n:
            return ch
        codes, uniques = pd.factorize(np.asarray(name, dtype=object))
        order = np.lexsort((codes, trial))  # stable: the written order is kept within a series
        trial_s, codes_s = np.asarray(trial)[order], codes[order]
        step_s, value_s, when_s = step[order], value[order], when[order]
        cuts = np.flatnonzero((np.diff(trial_s) != 0) | (np.diff(codes_s) != 0)) + 1
        for start, end in zip(np.r_[0, cuts], np.r_[cuts, n]):
            number, series_name = int(trial_s[start]), str(uniques[codes_s[start]])
            t = self._trial(number, ch)
            self._series(number, series_name, ch).extend(
                step_s[start:end], value_s[start:end], float(when_s[end - 1])
            )
            top = float(np.max(step_s[start:end]))
            if t.last_step is None or top > t.last_step:
                t.last_step = top
                self._touch(t, ch, outcome=False)
            ch.add_points(series_name, number)
        self._dedupe_before = time.time()
        self.finished_points_version += 1
        self.version += 1
        return ch

    def load_actions(self, records: Iterable[Mapping[str, Any]]) -> Changes:
        """Adds the stored action log (``SideStore.read_actions`` records)."""
        ch = Changes()
        for r in records:
            trial = r.get("trial")
            self._action(
                ActionRecord(
                    float(r["time"]),
                    str(r["kind"]),
                    None if trial is None else int(trial),
                    str(r["source"]),
                    str(r["result"]),
                    dict(r.get("payload") or {}),
                ),
                ch,
            )
        self.version += 1
        return ch

    # ------------------------------------------------------------------ events
    def apply(self, events: Iterable[Event]) -> Changes:
        """Updates the model from a batch of events; returns what changed."""
        ch = Changes()
        for e in events:
            if isinstance(e, MetricsReported):
                self._on_metrics(e, ch)
            elif isinstance(e, TrialStarted):
                t = self._trial(e.number, ch)
                t.device, t.parent = e.device, e.parent
                if t.state not in TERMINAL:
                    if t.state != "RUNNING":
                        ch.states.add(e.number)
                    t.state = "RUNNING"
                    t.started = t.started or e.time
                    t.note(e.time, "RUNNING", f"started on {e.device}")
                self._touch(t, ch)
            elif isinstance(e, ParamsSuggested):
                t = self._trial(e.number, ch)
                self._note_params(t, e.params, ch)
                ch.params.add(e.number)
                self._touch(t, ch)
            elif isinstance(e, TrialFinished):
                self._on_finished(e, ch)
            elif isinstance(e, ControlApplied):
                rec = ActionRecord(e.time, e.kind, e.number, e.source, e.result, e.details)
                self._action(rec, ch)
            elif isinstance(e, SessionStateChanged):
                self.set_state(e.state, e.time, ch)
        self.version += 1
        return ch

    def set_state(self, state: str, when: float, ch: Changes) -> None:
        """Moves the session to ``state`` (starting or ending the run clock)."""
        if state == self.state:
            return
        if state in RUN_STATES and self.state not in RUN_STATES:
            self.run_started, self.run_ended = when, None
        elif state not in RUN_STATES and self.state in RUN_STATES:
            self.run_ended = when
        self.state = state
        ch.session = True

    def _on_metrics(self, e: MetricsReported, ch: Changes) -> None:
        t = self._trial(e.number, ch)
        mine = self.series.get(e.number, {})
        fresh = e.time > self._dedupe_before
        added = False
        for name, value in e.values.items():
            s = mine.get(name)
            if s is None:
                s = self._series(e.number, name, ch)
            if not fresh and s.last_time is not None and e.time <= s.last_time:
                continue  # already loaded from storage
            s.append(e.step, value, e.time)
            ch.add_points(name, e.number)
            added = True
        if added and t.state != "RUNNING":
            self.finished_points_version += 1
        if added and (t.last_step is None or e.step >= t.last_step):
            t.last_step = e.step
            t.version += 1
            ch.steps.add(t.number)

    def _on_finished(self, e: TrialFinished, ch: Changes) -> None:
        t = self._trial(e.number, ch)
        self._note_params(t, e.params, ch)
        t.values = tuple(float(v) for v in e.values) if e.values else None
        t.reason = e.reason or t.reason
        if e.last_step is not None:
            t.last_step = e.last_step
        if e.duration is not None and t.started is None:
            t.started = e.time - e.duration
        t.ended = e.time
        if t.state != e.state or t.held:
            ch.states.add(e.number)
        if t.state != e.state:
            t.note(e.time, e.state, _end_text(e.state, t.values, t.reason))
        t.state, t.held = e.state, False
        ch.finished.add(e.number)
        self._touch(t, ch)
        if e.state == "COMPLETE":
            self._consider_best(t, ch)

    def _action(self, rec: ActionRecord, ch: Changes) -> None:
        self.actions.append(rec)
        ch.actions = True
        if rec.trial is None or rec.trial not in self.trials:
            return
        t = self.trials[rec.trial]
        verb = {"prune": "prune", "stop_trial": "stop", "pause": "pause", "resume": "resume"}
        what = verb.get(rec.kind, rec.kind)
        if rec.result == "applied":
            step = rec.details.get("step")
            at = f" at step {_fmt_step(step)}" if step is not None else ""
            t.note(rec.time, None, f"{what} applied{at} (from {rec.source})")
            held = {"pause": True, "resume": False}.get(rec.kind, t.held)
            if held != t.held and t.state == "RUNNING":
                t.held = held
                ch.states.add(t.number)
        else:
            t.note(rec.time, None, f"{what} {rec.result} (from {rec.source})")
        self._touch(t, ch)

    # ------------------------------------------------------------------ helpers
    def _trial(self, number: int, ch: Changes) -> TrialRecord:
        t = self.trials.get(number)
        if t is None:
            t = self.trials[number] = TrialRecord(number)
            ch.rows.add(number)
        return t

    def _series(self, number: int, name: str, ch: Changes) -> Series:
        per_trial = self.series.setdefault(number, {})
        s = per_trial.get(name)
        if s is None:
            s = per_trial[name] = Series()
            if name not in self.by_name:
                self.by_name[name] = {}
                ch.series_names = True
            self.by_name[name][number] = s
        return s

    def _note_params(self, t: TrialRecord, params: Mapping[str, Any], ch: Changes) -> None:
        for name, value in params.items():
            if name not in self.param_names:
                self.param_names.append(name)
                ch.param_names = True
            if name not in self._categorical and not _is_number(value):
                self._categorical.add(name)
                ch.param_names = True
        t.params.update(params)

    def _touch(self, t: TrialRecord, ch: Changes, outcome: bool = True) -> None:
        t.version += 1
        ch.rows.add(t.number)
        if outcome:
            self.outcome_version += 1

    def _consider_best(self, t: TrialRecord, ch: Changes) -> None:
        self._pareto = None
        ch.best = True
        self._offer_best(t)

    def _offer_best(self, t: TrialRecord) -> None:
        """Makes complete trial ``t`` the best if it is feasible and beats the best so far."""
        v = t.value
        if v is None or math.isnan(v) or t.number in self.infeasible:
            return
        if self.best is None or self.is_better(v, self.best[1]):
            self.best = (t.number, v)

    def set_infeasible(self, numbers: Iterable[int]) -> Changes:
        """Marks the complete trials that break a constraint; the best trial and the Pareto
        front leave them out. Returns what changed: the best and the outcome views (history,
        Pareto), when the set did.

        Example:
            >>> from hpo_lab.events import TrialFinished
            >>> m = DashboardModel("demo", ["minimize"])
            >>> _ = m.apply([TrialFinished(0, "COMPLETE", (0.1,)),
            ...              TrialFinished(1, "COMPLETE", (0.2,))])
            >>> m.set_infeasible({0}).best, m.best
            (True, (1, 0.2))
        """
        ch = Changes()
        numbers = frozenset(numbers)
        if numbers == self.infeasible:
            return ch
        self.infeasible = numbers
        self.best = None
        for t in self.trials.values():
            if t.state == "COMPLETE":
                self._offer_best(t)
        self._pareto = None
        ch.best = True
        self.outcome_version += 1
        self.version += 1
        return ch


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _fmt_step(step: Any) -> str:
    return str(int(step)) if isinstance(step, float) and step.is_integer() else str(step)


def _end_text(state: str, values: tuple[float, ...] | None, reason: str | None) -> str:
    if state == "COMPLETE":
        shown = ", ".join(f"{v:.6g}" for v in values) if values else "no value"
        return f"complete: {shown}" + (f" ({reason})" if reason else "")
    label = {"PRUNED": "pruned", "FAIL": "failed"}.get(state, state.lower())
    return f"{label}: {reason}" if reason else label


def _pareto_front(model: DashboardModel) -> tuple[int, ...]:
    numbers, rows = [], []
    for n, t in model.trials.items():
        if (
            t.state == "COMPLETE"
            and t.values
            and len(t.values) == model.n_objectives
            and n not in model.infeasible
        ):
            numbers.append(n)
            rows.append(t.values)
    if not rows:
        return ()
    signs = np.array([1.0 if d == "minimize" else -1.0 for d in model.directions])
    v = np.asarray(rows, dtype=np.float64) * signs  # everything minimised
    keep = np.ones(len(v), dtype=bool)
    for i in range(len(v)):
        if not keep[i]:
            continue
        dominated = np.all(v[i] <= v, axis=1) & np.any(v[i] < v, axis=1)
        keep &= ~dominated
    return tuple(sorted(np.asarray(numbers)[keep].tolist()))
