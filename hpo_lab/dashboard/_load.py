"""Filling a :class:`DashboardModel` from a session's storage, and reading its live status."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from ._changes import Changes
from ._model import DashboardModel

if TYPE_CHECKING:
    from hpo_lab.session import Session


class SessionInfo(NamedTuple):
    """What the controls need to know about the session right now."""

    state: str
    budget: int | None
    active: bool
    can_run: bool
    n_workers: int


def session_info(session: Session) -> SessionInfo:
    """The session's state, remaining budget and whether it can run trials (has an objective
    and is not closed)."""
    driver = getattr(session, "_driver", None)
    return SessionInfo(
        state=session.state,
        budget=None if driver is None else driver.budget,
        active=bool(driver is not None and driver.active),
        can_run=getattr(session, "_objective", None) is not None
        and not getattr(session, "closed", False),
        n_workers=session.n_workers,
    )


def load_model(session: Session) -> tuple[DashboardModel, Changes]:
    """A model holding everything stored for ``session``: trials, every series, the action log.

    Trials without hpo_lab series (a study run by plain Optuna) get a curve from Optuna's
    intermediate values, named after the session's metric (or ``"intermediate"``).
    """
    model = DashboardModel(
        session.name, session.directions, session.objective_names, session.metric
    )
    ch = Changes.everything()
    info = session_info(session)
    model.budget = info.budget
    points = session.store.read_points(session.name)
    ch.merge(model.load_points(points.trial, points.name, points.step, points.value, points.time))
    ch.merge(model.load_trials(session.study.get_trials(deepcopy=False)))
    ch.merge(model.load_actions(session.store.read_actions(session.name)))
    if info.active:
        starts = [a.time for a in model.actions if a.kind == "start"]
        began = [t.started for t in model.trials.values() if t.started is not None]
        run_start = starts[-1] if starts else min(began, default=None)
        model.set_state(info.state, run_start if run_start is not None else time.time(), ch)
    return model, ch


def stale_trials(model: DashboardModel, changes: Changes) -> set[int]:
    """Trials whose stored record says more than their events did: failures (the traceback)
    and trials with a parameter whose distribution (int, log, categorical) is not known yet.

    Reading Optuna's storage costs milliseconds per call (the whole study, for a journal), so
    it is done only for these, not for every trial that ends.
    """
    unknown = [n for n in model.param_names if n not in model.distributions]
    return {
        n
        for n in changes.finished
        if (t := model.trials.get(n)) is not None
        and (t.state == "FAIL" or (unknown and any(p in t.params for p in unknown)))
    }


def sync_trials(model: DashboardModel, session: Session, numbers: Iterable[int]) -> Changes:
    """Re-reads trials ``numbers`` from Optuna's storage (reasons, tracebacks, distributions)."""
    wanted = set(numbers)
    if not wanted:
        return Changes()
    trials = session.study.get_trials(deepcopy=False)
    picked: list[Any] = []
    for n in wanted:
        if 0 <= n < len(trials) and trials[n].number == n:
            picked.append(trials[n])
        else:
            picked.extend(t for t in trials if t.number == n)
    return model.load_trials(picked)
