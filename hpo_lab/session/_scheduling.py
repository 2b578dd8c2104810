"""What a session shows a scheduler (see :mod:`hpo_lab.schedulers`): its own controls, recorded
in the action log with the scheduler as the source, and read-only views of trials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from optuna.distributions import BaseDistribution

from hpo_lab.schedulers import BaseScheduler
from hpo_lab.trial import Prune

if TYPE_CHECKING:
    from hpo_lab.session._session import Session


class SessionControls:
    """The :class:`~hpo_lab.schedulers.SchedulerControls` of one session."""

    def __init__(self, session: Session, source: str) -> None:
        if session.metric is None or len(session.directions) != 1:
            raise ValueError(
                "a scheduler needs a session with one objective and metric= (the series it ranks "
                "trials by)"
            )
        self._s = session
        self._source = source
        self.metric = session.metric
        self.maximize = session.directions[0] == "maximize"

    def params(self, number: int) -> dict[str, Any]:
        return dict(self._s._frozen(number).params)

    def distributions(self, number: int) -> dict[str, BaseDistribution]:
        return dict(self._s._frozen(number).distributions)

    def user_attrs(self, number: int) -> dict[str, Any]:
        return dict(self._s._frozen(number).user_attrs)

    def checkpoint_steps(self, number: int) -> list[float]:
        return [r.step for r in self._s.checkpoints.list(number)]

    def fork(
        self,
        number: int,
        overrides: Mapping[str, Any],
        step: float | None,
        attrs: Mapping[str, Any],
    ) -> int:
        return self._s.fork(number, overrides, step=step, source=self._source, _attrs=attrs)

    def prune(self, number: int, reason: str) -> bool:
        try:
            return self._s._control_trial(
                number, Prune(source=self._source, reason=reason), "prune"
            )
        except ValueError:
            return False  # it is no longer running


def attach(session: Session, scheduler: Any) -> None:
    if not isinstance(scheduler, BaseScheduler):
        raise TypeError(
            f"scheduler must be an hpo_lab scheduler (e.g. hl.PBT(...)), got {scheduler!r}"
        )
    scheduler.attach(SessionControls(session, scheduler.name))
    session.bus.subscribe(scheduler.on_events, interval=0.05, name=scheduler.name)
