"""Replaying an action log on another session, each action at the point it was taken.

Every recorded action carries where the session stood (``_at``: trials created and finished so
far, and for trial actions the step that trial had reported). The replayer waits until the
target session reaches the same point — counted from where each session stood at the first
replayed action, so a resumed study works too — then applies the action with source
``"replay"``. A seeded objective therefore reproduces an interactive session.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hpo_lab.session._session import Session

_logger = logging.getLogger(__name__)

REPLAYABLE = (
    "start",
    "add_trials",
    "pause",
    "resume",
    "stop",
    "set_workers",
    "prune",
    "stop_trial",
    "fork",
    "constrain",
    "relax",
)


class Replayer:
    """Applies ``actions`` (from ``Session.actions()`` records) to ``target`` in the background.

    Attributes:
        results: ``(kind, trial, outcome)`` per applied action, in order.
    """

    def __init__(self, actions: list[dict[str, Any]], target: Session, poll: float = 0.02):
        self.actions = [a for a in actions if a["kind"] in REPLAYABLE and a["source"] != "replay"]
        self.target = target
        self.results: list[tuple[str, int | None, str]] = []
        self._poll = poll
        first = self.actions[0]["payload"].get("_at", {}) if self.actions else {}
        self._src_trials = first.get("n_trials", 0)
        self._src_finished = first.get("n_finished", 0)
        trials = target.trials
        self._dst_trials = len(trials)
        self._dst_finished = sum(t.state.is_finished() for t in trials)
        self._done = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="hpo_lab-replay", daemon=True)
        self._thread.start()

    def map_trial(self, number: int | None) -> int | None:
        """The target's trial number for the source's ``number``."""
        return None if number is None else number - self._src_trials + self._dst_trials

    def _ready(self, a: dict[str, Any]) -> bool:
        at = a["payload"].get("_at", {})
        trials = self.target.trials
        if sum(t.state.is_finished() for t in trials) - self._dst_finished < (
            at.get("n_finished", 0) - self._src_finished
        ):
            return False
        n, step = self.map_trial(a["trial"]), at.get("step")
        if n is not None and step is not None:
            if n >= len(trials):
                return False
            last = self.target._live.last_step(n)
            return trials[n].state.is_finished() or (last is not None and last >= step)
        return True

    def _run(self) -> None:
        try:
            for a in self.actions:
                while not self._ready(a):
                    if self._stop:
                        return
                    time.sleep(self._poll)
                self.results.append((a["kind"], self.map_trial(a["trial"]), self._apply(a)))
        finally:
            self._done.set()

    def _apply(self, a: dict[str, Any]) -> str:
        t, p, kind = self.target, a["payload"], a["kind"]
        n = self.map_trial(a["trial"])
        try:
            if kind == "start":
                if t._driver.can_start():
                    t.start(p.get("n_trials"), timeout=p.get("timeout"))
                else:
                    t.add_trials(p["n_trials"], source="replay")
            elif kind == "add_trials":
                t.add_trials(p["n"], source="replay")
            elif kind == "pause":
                t.pause(hold_running=p.get("hold_running", True), source="replay")
            elif kind == "resume":
                t.resume(source="replay")
            elif kind == "stop":
                t.stop(cancel=p.get("cancel", False), source="replay")
            elif kind == "set_workers":
                t.set_workers(p["n_workers"], source="replay")
            elif kind in ("prune", "stop_trial"):
                assert n is not None
                done = (t.prune if kind == "prune" else t.stop_trial)(n, source="replay")
                return "applied" if done else "skipped: the trial ended first"
            elif kind == "fork":
                assert n is not None
                child = t.fork(n, p.get("overrides"), step=p.get("step"), source="replay")
                return f"applied: trial {child}"
            elif kind == "constrain":
                kw: dict[str, Any] = {}
                if "fixed" in p:
                    kw["fixed"] = p["fixed"]
                elif "choices" in p:
                    kw["choices"] = p["choices"]
                elif "low" in p or "high" in p:
                    kw = {"low": p.get("low"), "high": p.get("high")}
                t.constrain(p["target"], source="replay", strict=False, **kw)
            elif kind == "relax":
                t.relax(p.get("target"), source="replay")
            return "applied"
        except (ValueError, TypeError, RuntimeError) as exc:
            _logger.warning("replay of %s failed: %s", kind, exc)
            return f"failed: {exc}"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every action is applied (or ``timeout`` passes)."""
        return self._done.wait(timeout)

    def cancel(self) -> None:
        """Apply no further actions."""
        self._stop = True
