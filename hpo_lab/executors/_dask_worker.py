"""What runs on a Dask worker: the task function of a trial, and the worker's end of the channel.

Each worker process keeps, per session (``token``), one :class:`WorkerRuntime` — loaded once from
the spec the session published in the side tables — whose event batches go to the notebook as
Dask structured events (``Worker.log_event``), and one :class:`ControlListener` that receives the
session's controls (``Client.subscribe_topic`` on the worker's client). Controls sent before the
listener subscribed are read back from the scheduler's record of the topic; each carries a
sequence number, so none is applied twice.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

from hpo_lab.executors._action_poller import ActionPoller, trial_control
from hpo_lab.executors._base import TrialOutcome, TrialTask
from hpo_lab.executors._payload import load_payload, token_key, unpack
from hpo_lab.executors._worker_runtime import WorkerRuntime
from hpo_lab.storage import SideStore, StorageSpec
from hpo_lab.storage._liveness import become_worker_process

_logger = logging.getLogger(__name__)

#: Seconds a session's runtime stays loaded in a worker process after its last trial.
IDLE_EVICT = 600.0


@dataclass(frozen=True)
class DaskTask:
    """The argument of :func:`run_dask_trial`: one trial and how to reach its session.

    Attributes:
        task: the trial.
        token: the session's executor token (names its topics and its published spec).
        storage: the session's storage (the spec is read from its side tables).
        events_topic: where event batches go (the notebook subscribes).
        controls_topic: where the notebook posts controls.
        submitter: ``(host, pid)`` of the notebook's process.
        device: ``"worker"`` (this worker's GPU if it has one, else the CPU) or ``"session"``
            (the device the session assigned).
    """

    task: TrialTask
    token: str
    storage: StorageSpec
    events_topic: str
    controls_topic: str
    submitter: tuple[str, int]
    device: str = "worker"


class ControlListener:
    """Delivers a session's controls to the trials of one runtime, in this worker process."""

    def __init__(self, topic: str, runtime: WorkerRuntime) -> None:
        from distributed import get_client

        self.topic = topic
        self.runtime = runtime
        self._seen: set[int] = set()
        self._lock = threading.Lock()
        self.client = get_client()
        self.client.subscribe_topic(topic, self._on_event)
        # A control the scheduler handled between our subscription's message and its own
        # record of the topic would be in neither: read the record again a moment later.
        self.catch_up()
        timer = threading.Timer(0.5, self._catch_up_quietly)
        timer.daemon = True
        timer.start()

    def _on_event(self, event: tuple[float, Any]) -> None:
        self._apply(event[1])

    def _apply(self, msg: dict[str, Any]) -> None:
        seq = int(msg["seq"])
        with self._lock:
            if seq in self._seen:
                return
            self._seen.add(seq)
        self.runtime.deliver(int(msg["trial"]), pickle.loads(msg["control"]), early=True)

    def catch_up(self) -> None:
        """Apply the controls of the topic's record not applied yet."""
        for _, msg in self.client.get_events(self.topic):
            self._apply(msg)

    def _catch_up_quietly(self) -> None:
        try:
            self.catch_up()
        except Exception as exc:
            _logger.debug("reading controls back failed: %s", exc)

    def close(self) -> None:
        try:
            self.client.unsubscribe_topic(self.topic)
        except Exception:
            pass


@dataclass
class _Loaded:
    runtime: WorkerRuntime
    listener: ControlListener
    poller: ActionPoller


_loaded: dict[str, _Loaded] = {}
_lock = threading.Lock()
_device: str | None = None


def _load(info: DaskTask) -> _Loaded:
    """This process's runtime for ``info``'s session (loading it the first time)."""
    from distributed import get_worker

    with _lock:
        _evict_idle()
        loaded = _loaded.get(info.token)
        if loaded is not None:
            return loaded
        store = SideStore(info.storage.side_url)
        try:
            blob = load_payload(store, token_key(info.token))
        finally:
            store.close()
        if blob is None:
            raise RuntimeError(
                f"the session's spec {token_key(info.token)!r} is not in "
                f"{info.storage.describe()}: the session was closed or its storage differs"
            )
        worker = get_worker()
        topic = info.events_topic
        runtime = WorkerRuntime(
            unpack(blob), forward=lambda batch: worker.log_event(topic, pickle.dumps(batch))
        )
        listener = ControlListener(info.controls_topic, runtime)

        def on_action(action: dict[str, Any]) -> None:
            # Only prune/stop of one trial: a notebook that reconnected has no channel to the
            # trials its predecessor started; they may also get these through the channel,
            # and ending a trial twice is harmless.
            found = trial_control(action)
            if found is not None and runtime.deliver(*found):
                runtime.store.update_action_result(
                    action["id"], f"delivered to {runtime.worker_id}"
                )

        poller = ActionPoller(
            runtime.store,
            runtime.spec.study_name,
            on_action,
            active=lambda: bool(runtime.running()),
        )
        loaded = _loaded[info.token] = _Loaded(runtime, listener, poller)
        return loaded


def _evict_idle() -> None:
    now = time.monotonic()
    for token, loaded in list(_loaded.items()):
        idle = loaded.runtime.idle_since
        if idle is not None and now - idle > IDLE_EVICT:
            del _loaded[token]
            loaded.poller.stop()
            loaded.listener.close()
            loaded.runtime.close()


def _worker_device() -> tuple[str, str]:
    """``(device, label)`` of this worker: its first visible GPU, else the CPU."""
    global _device
    if _device is None:
        import torch

        _device = "cuda:0" if torch.cuda.is_available() else "cpu"
    if _device == "cpu":
        return "cpu", "cpu"
    visible = [v for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    return _device, f"cuda:{visible[0].strip()}" if visible else _device


#: Python versions whose ``sys._current_frames()`` can deadlock the process (cpython#106883).
CURRENT_FRAMES_DEADLOCK = sys.version_info < (3, 12)

_profilers_stopped: weakref.WeakSet[Any] = weakref.WeakSet()


def stop_sampling_profiler(worker: Any) -> bool:
    """Stop ``worker``'s statistical profiler where it can freeze the process; True if stopped.

    Dask's worker samples its busy threads with ``sys._current_frames()`` every 10 ms. On Python
    3.11 that call can deadlock against a thread starting or ending while a garbage collection
    runs inside it: the sampling thread keeps the GIL and waits for the runtime's lock forever,
    and the whole process stops (cpython#106883, dask/distributed#8616; fixed in 3.12). A worker
    in the notebook's own process (``LocalCluster(processes=False)``) then freezes the kernel.
    Our trials start and end threads, so on 3.11 the profiler of a worker that runs them is
    stopped (the rest of the worker is untouched; its dashboard's profile page stays empty).
    """
    if not CURRENT_FRAMES_DEADLOCK or worker in _profilers_stopped:
        return False
    _profilers_stopped.add(worker)
    callbacks = [worker.periodic_callbacks.get(n) for n in ("profile", "profile-cycle")]
    callbacks = [pc for pc in callbacks if pc is not None]
    if not callbacks:
        return False

    def stop() -> None:  # on the worker's event loop: PeriodicCallback is not thread-safe
        for pc in callbacks:
            pc.stop()

    worker.loop.add_callback(stop)
    _logger.info(
        "stopped Dask's sampling profiler on worker %s: on Python %d.%d it can deadlock the "
        "process (cpython#106883)",
        worker.address,
        *sys.version_info[:2],
    )
    return True


def run_dask_trial(info: DaskTask) -> TrialOutcome:
    """Run one trial on this Dask worker (the function each trial's Dask task calls)."""
    from distributed import get_worker

    stop_sampling_profiler(get_worker())
    if info.submitter != (socket.gethostname(), os.getpid()):
        become_worker_process()  # a worker process, not the notebook's (processes=False)
    loaded = _load(info)
    loaded.listener.catch_up()  # controls sent while this task waited for a worker
    if info.device == "session":
        return loaded.runtime.run(info.task)
    device, label = _worker_device()
    return loaded.runtime.run(info.task, device=device, label=label)
