"""`Driver`: the session's scheduling loop. It decides when the next trial starts and where.

One background thread launches trials while the budget, the deadline, the pause state and the
free worker slots allow, creating each trial in Optuna's storage (enqueued trials first) and
handing it to the executor. It never runs objective code, so it never blocks on a trial.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from hpo_lab.events import Event, SessionStateChanged
from hpo_lab.executors import BaseExecutor, TrialOutcome, TrialTask

_logger = logging.getLogger(__name__)

IDLE, RUNNING, PAUSED, STOPPING, FINISHED, STOPPED = (
    "idle",
    "running",
    "paused",
    "stopping",
    "finished",
    "stopped",
)


@dataclass
class RunningTrial:
    """A trial the driver launched and that has not ended yet."""

    number: int
    trial_id: int
    slot: int
    device: str
    started: float = field(default_factory=time.time)
    future: Future[TrialOutcome] | None = None


class Driver:
    """Launches trials on an executor within a budget.

    Args:
        executor: where trials run (already started).
        devices: device names, spread over slots round-robin.
        n_workers: how many trials run at once.
        create_trial: makes the next trial in storage; returns ``(number, trial_id)``.
        publish: where session-state events go.
        on_outcome: called (on the executor's thread) when a trial ends.
        housekeeping: called every ``housekeeping_every`` seconds while running (stale checks).
    """

    def __init__(
        self,
        *,
        executor: BaseExecutor,
        devices: list[str],
        n_workers: int,
        create_trial: Callable[[], tuple[int, int]],
        publish: Callable[[Event], None],
        on_outcome: Callable[[TrialOutcome], None] | None = None,
        housekeeping: Callable[[], None] | None = None,
        housekeeping_every: float = 30.0,
    ) -> None:
        self._executor = executor
        self._devices = devices
        self._n_workers = n_workers
        self._create_trial = create_trial
        self._publish = publish
        self._on_outcome = on_outcome
        self._housekeeping = housekeeping
        self._housekeeping_every = housekeeping_every
        self._cond = threading.Condition()
        self._state = IDLE
        self._budget: int | None = 0  # trials still to launch; None: no limit
        self._priority = 0  # explicitly asked-for trials (forks): launched beyond the budget
        self._deadline: float | None = None
        self._paused = False
        self._stop = False
        self._running: dict[int, RunningTrial] = {}
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self._done.set()
        self.launched = 0
        self.ended = 0

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> str:
        return self._state

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self._publish(SessionStateChanged(state))

    @property
    def n_workers(self) -> int:
        return self._n_workers

    @property
    def budget(self) -> int | None:
        """Trials still to launch (None: no limit)."""
        return self._budget

    def running(self) -> dict[int, RunningTrial]:
        with self._cond:
            return dict(self._running)

    @property
    def active(self) -> bool:
        """Whether the loop is running (trials may still start or be running)."""
        return not self._done.is_set()

    # ------------------------------------------------------------------ commands
    def can_start(self) -> bool:
        """Whether :meth:`start` would begin a run (not running, or running forks only)."""
        return not self.active or (self._budget == 0 and not self._stop)

    def start(self, n_trials: int | None, timeout: float | None) -> None:
        with self._cond:
            if self.active and self._budget == 0 and not self._stop:
                self._budget = n_trials  # only forks were running: this is a real start
                self._deadline = None if timeout is None else time.monotonic() + timeout
                self._cond.notify_all()
                return
            if self.active:
                raise RuntimeError(
                    "the session is already running; use add_trials(n) to extend its budget"
                )
            self._budget = n_trials
            self._deadline = None if timeout is None else time.monotonic() + timeout
            self._stop = False
            self._done.clear()
            self._set_state(PAUSED if self._paused else RUNNING)
            self._thread = threading.Thread(target=self._loop, name="hpo_lab-driver", daemon=True)
            self._thread.start()

    def add(self, n: int) -> None:
        """Launch ``n`` more trials (restarting the loop if it had finished)."""
        with self._cond:
            if self.active:
                if self._budget is not None:
                    self._budget += n
                self._cond.notify_all()
                return
        self.start(n, None)

    def add_priority(self, n: int = 1) -> None:
        """Launch ``n`` enqueued trials (forks) ahead of and beyond the budget."""
        with self._cond:
            self._priority += n
            if self.active:
                self._cond.notify_all()
                return
        self.start(0, None)

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            if self.active and not self._stop:
                self._set_state(PAUSED)

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            if self.active and not self._stop:
                self._set_state(RUNNING)
            self._cond.notify_all()

    @property
    def paused(self) -> bool:
        return self._paused

    def stop(self) -> None:
        """Launch no more trials; the loop ends when the running ones have."""
        with self._cond:
            self._stop = True
            if self.active:
                self._set_state(STOPPING)
            self._cond.notify_all()

    def set_workers(self, n: int) -> None:
        with self._cond:
            self._n_workers = n
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        # Short waits in a loop, so that Ctrl-C (or the notebook's interrupt) reaches the
        # waiting thread at once instead of when the run ends.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = 0.1 if deadline is None else min(0.1, deadline - time.monotonic())
            if step <= 0:
                return self._done.is_set()
            if self._done.wait(step):
                return True

    # ------------------------------------------------------------------ the loop
    def _exhausted(self) -> bool:
        if self._priority > 0:
            return False
        if self._budget is not None and self._budget <= 0:
            return True
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _free_slot(self) -> int | None:
        used = {r.slot for r in self._running.values()}
        for s in range(self._n_workers):
            if s not in used:
                return s
        return None

    def _next_launch(self) -> int | None:
        """Wait until a trial may start; return its slot, or None when the loop should end."""
        last_housekeeping = time.monotonic()
        with self._cond:
            while True:
                if (self._stop and self._priority == 0) or self._exhausted():
                    if not self._running:
                        return None
                elif not self._paused:
                    slot = self._free_slot()
                    if slot is not None:
                        if self._priority > 0:
                            self._priority -= 1
                        elif self._budget is not None:
                            self._budget -= 1
                        return slot
                wait = (
                    1.0
                    if self._deadline is None
                    else min(1.0, max(0.01, self._deadline - time.monotonic()))
                )
                self._cond.wait(wait)
                if (
                    self._housekeeping
                    and time.monotonic() - last_housekeeping > self._housekeeping_every
                ):
                    last_housekeeping = time.monotonic()
                    self._cond.release()
                    try:
                        self._housekeeping()
                    except Exception:
                        _logger.exception("session housekeeping failed")
                    finally:
                        self._cond.acquire()

    def _loop(self) -> None:
        failures = 0
        try:
            while True:
                slot = self._next_launch()
                if slot is None:
                    return
                try:
                    number, trial_id = self._create_trial()
                except Exception:
                    failures += 1
                    _logger.exception("could not create a trial (attempt %d)", failures)
                    with self._cond:
                        if self._budget is not None:
                            self._budget += 1
                    if failures >= 5:
                        _logger.error("giving up launching trials after %d failures", failures)
                        self.stop()
                    time.sleep(min(5.0, 0.2 * 2**failures))
                    continue
                failures = 0
                self._launch(number, trial_id, slot)
        finally:
            with self._cond:
                self._set_state(STOPPED if self._stop else FINISHED)
                self._done.set()

    def _launch(self, number: int, trial_id: int, slot: int) -> None:
        device = self._devices[slot % len(self._devices)]
        rec = RunningTrial(number, trial_id, slot, device)
        with self._cond:
            self._running[number] = rec
            self.launched += 1
        try:
            fut = self._executor.submit(TrialTask(number, trial_id, slot, device))
        except Exception as exc:
            _logger.exception("the executor refused trial %d", number)
            fut = Future()
            fut.set_result(TrialOutcome(number, "FAIL", None, f"executor refused it: {exc}"))
        rec.future = fut
        fut.add_done_callback(lambda f, n=number: self._ended(n, f))

    def _ended(self, number: int, fut: Future[TrialOutcome]) -> None:
        try:
            outcome = fut.result()
        except BaseException as exc:  # an executor bug: record what we can
            outcome = TrialOutcome(number, "FAIL", None, f"executor error: {exc!r}")
        with self._cond:
            self._running.pop(number, None)
            self.ended += 1
            self._cond.notify_all()
        if self._on_outcome is not None:
            try:
                self._on_outcome(outcome)
            except Exception:
                _logger.exception("on_outcome failed for trial %d", number)
