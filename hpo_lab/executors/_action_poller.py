"""`ActionPoller`: controls for workers the notebook has no channel to, read from the action log.

Every control a session applies is recorded in the side tables' action log (``hpo_lab_actions``).
A worker the session cannot reach directly — an ``hpo-lab worker`` process, or a Dask task whose
notebook disconnected — reads the new entries of that log on a thread, at most once per
``interval`` seconds and only while ``active()`` says it runs trials: one query per interval,
never one per ``report``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from hpo_lab.storage import SideStore
from hpo_lab.storage import _schema as S
from hpo_lab.trial import Control, Prune, Stop

_logger = logging.getLogger(__name__)

DEFAULT_POLL = 1.0

#: Action kinds that end one trial, and the control each asks for.
TRIAL_CONTROLS: dict[str, type[Control]] = {"prune": Prune, "stop_trial": Stop}


def trial_control(action: dict[str, Any]) -> tuple[int, Control] | None:
    """``(trial number, control)`` for an action that ends one trial, else None."""
    cls = TRIAL_CONTROLS.get(action["kind"])
    if cls is None or action.get("trial") is None:
        return None
    return int(action["trial"]), cls(source=action.get("source") or "code")


class ActionPoller:
    """Hands each new action of ``study`` to ``on_action``, in order, from a daemon thread.

    Args:
        store: the side tables holding the action log.
        study: the study (session) name.
        on_action: receives each new action as a dict (id, time, source, kind, trial, payload,
            result); exceptions are logged, not raised.
        interval: seconds between queries.
        active: polls only while this returns True (default: always).

    Only actions recorded after the poller was made are handed over.
    """

    def __init__(
        self,
        store: SideStore,
        study: str,
        on_action: Callable[[dict[str, Any]], None],
        *,
        interval: float = DEFAULT_POLL,
        active: Callable[[], bool] | None = None,
    ) -> None:
        if not (isinstance(interval, (int, float)) and interval > 0):
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        self.store = store
        self.study = study
        self.interval = float(interval)
        self._on_action = on_action
        self._active = active or (lambda: True)
        self.polls = 0
        with store.engine.connect() as conn:
            last = conn.execute(
                sa.select(sa.func.max(S.actions.c.id)).where(S.actions.c.study == study)
            ).scalar()
        self._last = int(last or 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hpo_lab-actions", daemon=True)
        self._thread.start()

    def poll(self) -> int:
        """Read and hand over the actions recorded since the last poll; returns how many."""
        q = (
            sa.select(S.actions)
            .where(S.actions.c.study == self.study, S.actions.c.id > self._last)
            .order_by(S.actions.c.id)
        )
        with self.store.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        self.polls += 1
        for rec in rows:
            self._last = int(rec["id"])
            try:
                rec["payload"] = json.loads(rec["payload"] or "{}")
                self._on_action(rec)
            except Exception:
                _logger.exception("could not apply action %r", rec)
        return len(rows)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            if not self._active():
                continue
            try:
                self.poll()
            except Exception as exc:  # a transient database error: try again next time
                _logger.debug("reading the action log failed: %s", exc)

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
