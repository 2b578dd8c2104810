"""`WorkerRuntime`: one session's trials in one worker process, the same for every remote executor.

A worker process (a process executor's child, a Dask worker, ``hpo-lab worker``) opens the
session's storage itself, registers and heartbeats in the side tables, claims each trial it runs
(``hpo_lab:worker``) and writes what its trials report to the side tables itself — so nothing is
lost when the notebook is away. Its trials publish into a local event stream; one subscriber
writes the metric values (the same batched writer a session uses), another, when the executor
has a channel, forwards the batches to the notebook (``CheckpointSaved`` included: checkpoints go
to the session's artifact store from here). Controls arrive through :meth:`deliver`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence

import optuna

from hpo_lab.checkpoints import CheckpointStore
from hpo_lab.events import Event, EventBus, TrialStarted
from hpo_lab.executors._base import TrialOutcome, TrialTask
from hpo_lab.executors._lost import fail_lost_trial, outcome_of
from hpo_lab.executors._payload import WorkerSpec
from hpo_lab.executors._runner import run_trial
from hpo_lab.storage import Heartbeat, MetricWriter, this_worker
from hpo_lab.storage._liveness import WORKER_ATTR
from hpo_lab.trial import Control, Mailbox

_logger = logging.getLogger(__name__)

#: Seconds between batches forwarded to the notebook (the latency a live view sees).
FORWARD_INTERVAL = 0.02


class WorkerRuntime:
    """Runs trials of the session described by ``spec`` in this process.

    Args:
        spec: the session's :class:`WorkerSpec`.
        forward: where batches of events go to reach the notebook (None: nowhere; the side
            tables still get every reported value). Errors in it are logged once and dropped:
            the live view is best effort, the side tables are the record.

    Thread-safe: several trials may run at once (one per thread).
    """

    def __init__(
        self, spec: WorkerSpec, forward: Callable[[list[Event]], None] | None = None
    ) -> None:
        self.spec = spec
        self.worker_id = this_worker().worker_id
        spec.sampler.reseed_rng()  # copies of one sampler in many processes must differ
        self.study = optuna.load_study(
            study_name=spec.study_name,
            storage=spec.storage.open_optuna(),
            sampler=spec.sampler,
            pruner=spec.pruner,
        )
        self.store = spec.storage.open_side()
        Heartbeat.ensure(self.store)
        self.checkpoints = (
            CheckpointStore(spec.artifacts, self.store, spec.study_name, spec.keep_checkpoints)
            if spec.artifacts is not None
            else None
        )
        self.bus = EventBus()
        self._writer = MetricWriter(self.bus, self.store, spec.study_name)
        self._forward_failed = False
        self._forward_to = forward
        self._forward = (
            self.bus.subscribe(self._send, interval=FORWARD_INTERVAL, name="forward")
            if forward is not None
            else None
        )
        self._lock = threading.Lock()
        self._mailboxes: dict[int, Mailbox] = {}
        self._early: dict[int, list[Control]] = {}
        self._ended: set[int] = set()
        self.idle_since: float | None = time.monotonic()

    def _send(self, batch: Sequence[Event]) -> None:
        assert self._forward_to is not None
        try:
            self._forward_to(list(batch))
        except Exception as exc:  # the notebook is gone or the channel broke
            if not self._forward_failed:
                _logger.warning("events no longer reach the notebook (%s); values are stored", exc)
            self._forward_failed = True

    # ------------------------------------------------------------------ controls
    def running(self) -> list[int]:
        """Numbers of the trials running here now."""
        with self._lock:
            return sorted(self._mailboxes)

    def deliver(self, number: int, control: Control, *, early: bool = False) -> bool:
        """Post ``control`` to trial ``number`` if it runs here.

        With ``early``, a control for a trial that has not started here yet is kept and posted
        when it starts (a channel may deliver a control before the trial's task arrives).

        Returns:
            Whether the trial runs here now.
        """
        with self._lock:
            box = self._mailboxes.get(number)
            if box is None:
                if early and number not in self._ended:
                    self._early.setdefault(number, []).append(control)
                return False
        box.post(control)
        return True

    def broadcast(self, control: Control) -> list[int]:
        """Post ``control`` to every trial running here; returns their numbers."""
        with self._lock:
            boxes = dict(self._mailboxes)
        for box in boxes.values():
            box.post(control)
        return sorted(boxes)

    # ------------------------------------------------------------------ running
    def run(
        self, task: TrialTask, *, device: str | None = None, label: str | None = None
    ) -> TrialOutcome:
        """Claim and run ``task``'s trial here; return once its values are in the side tables.

        Args:
            task: the trial (already RUNNING in storage).
            device: the device the trial uses in this process, when it differs from
                ``task.device`` (a GPU renumbered by ``CUDA_VISIBLE_DEVICES``, or chosen by the
                worker).
            label: how events name that device (default: ``task.device``, the session's name).
        """
        refused = self._claim(task)
        if refused is not None:
            return refused
        mailbox = Mailbox()
        with self._lock:
            self._mailboxes[task.number] = mailbox
            self.idle_since = None
            for control in self._early.pop(task.number, ()):
                mailbox.post(control)
        local = task if device in (None, task.device) else dataclasses.replace(task, device=device)
        label = label or task.device
        publish = self.bus.publish if label == local.device else _relabel(self.bus.publish, label)
        try:
            outcome = run_trial(
                local,
                self.study,
                self.spec.objective,
                self.spec.settings,
                publish,
                mailbox,
                worker=self.worker_id,
                checkpoints=self.checkpoints,
                constraints=self.spec.constraints,
                before_tell=self._writer.flush,  # a finished trial has all its values stored
            )
        finally:
            with self._lock:
                self._mailboxes.pop(task.number, None)
                self._ended.add(task.number)
                if not self._mailboxes:
                    self.idle_since = time.monotonic()
            self.flush()
        return outcome

    def _claim(self, task: TrialTask) -> TrialOutcome | None:
        """Make this process the trial's owner; an outcome instead if it must not run here."""
        storage = self.study._storage
        ft = storage.get_trial(task.trial_id)
        if ft.state.is_finished():
            return outcome_of(task.number, ft)
        owner = ft.system_attrs.get(WORKER_ATTR)
        if owner is not None and owner not in (self.spec.submitter, self.worker_id):
            # Its first worker started it and is gone (a cluster reschedules the task of a
            # worker that died); a trial is never run twice: it fails with the reason.
            reason = f"worker process lost while running it ({owner})"
            out = fail_lost_trial(self.study, task, reason, self.bus.publish)
            self.flush()
            return out
        if owner != self.worker_id:
            storage.set_trial_system_attr(task.trial_id, WORKER_ATTR, self.worker_id)
        return None

    def flush(self) -> None:
        """Write (and forward) everything published so far."""
        self.bus.flush()
        self._writer.flush()

    def close(self) -> None:
        """Write what is left and stop the event stream's threads."""
        self.flush()
        self._writer.close()
        self.bus.close()


def _relabel(publish: Callable[[Event], None], device: str) -> Callable[[Event], None]:
    """``publish`` that names ``device`` in TrialStarted events."""

    def relabelled(event: Event) -> None:
        if isinstance(event, TrialStarted):
            event = dataclasses.replace(event, device=device)
        publish(event)

    return relabelled
