"""Which worker runs which trial, heartbeats, and failing the trials of dead processes.

Optuna's journal storage has no heartbeat, so hpo_lab keeps its own: every process that runs
trials registers itself in the side tables and refreshes a heartbeat every few seconds; each
trial it runs carries the worker's id in the system attribute ``hpo_lab:worker``. A RUNNING trial
is stale when its worker is gone: on this host, its process no longer exists; anywhere, its
heartbeat is older than the grace period. Stale trials become FAIL with a reason that says whose
process it was: ``"stale: process died"`` for a session's own process (a notebook, a script), and
``"stale: worker process died (...)"`` or ``"stale: worker process lost (...)"`` for a dedicated
worker process (a process executor's child, a Dask worker, ``hpo-lab worker``), which marks itself
with :func:`become_worker_process` so that its id starts with ``worker@``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import optuna
from optuna.trial import TrialState

from hpo_lab.storage._side import SideStore

WORKER_ATTR = "hpo_lab:worker"
FAIL_REASON_ATTR = "fail_reason"
STALE_REASON = "stale: process died"
WORKER_PREFIX = "worker@"
SESSION, WORKER = "session", "worker"
HEARTBEAT_INTERVAL = 5.0
DEFAULT_GRACE = 60.0

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerIdentity:
    """One process that runs trials.

    Attributes:
        worker_id: ``host:pid:random`` for a session's process, ``worker@host:pid:random`` for a
            dedicated worker process.
        host: the host name.
        pid: the process id on that host.
        started: when the identity was made (``time.time()``).
        kind: ``"session"`` or ``"worker"``.
    """

    worker_id: str
    host: str
    pid: int
    started: float
    kind: str = SESSION


_identity: WorkerIdentity | None = None
_identity_lock = threading.Lock()
_kind = SESSION


def this_worker() -> WorkerIdentity:
    """This process's identity (a new one after ``fork``)."""
    global _identity
    with _identity_lock:
        if _identity is None or _identity.pid != os.getpid() or _identity.kind != _kind:
            host = socket.gethostname()
            pid = os.getpid()
            prefix = WORKER_PREFIX if _kind == WORKER else ""
            wid = f"{prefix}{host}:{pid}:{uuid.uuid4().hex[:8]}"
            _identity = WorkerIdentity(wid, host, pid, time.time(), _kind)
        return _identity


def become_worker_process() -> WorkerIdentity:
    """Mark this process as a dedicated worker process and return its identity.

    Called first thing by the processes that only run trials (a process executor's child, a
    task on a Dask worker process, ``hpo-lab worker``), so that the trials of a worker that died
    fail with a reason naming a worker, not a notebook. Never call it in a process that runs a
    session: the session's trials are claimed by the session's identity.
    """
    global _kind
    with _identity_lock:
        _kind = WORKER
    return this_worker()


def worker_kind(worker_id: str) -> str:
    """``"worker"`` for the id of a dedicated worker process, else ``"session"``."""
    return WORKER if worker_id.startswith(WORKER_PREFIX) else SESSION


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


class Heartbeat:
    """Registers this process in a side store and refreshes its heartbeat on a daemon thread."""

    _registry: ClassVar[dict[str, Heartbeat]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store: SideStore, interval: float = HEARTBEAT_INTERVAL):
        self.store = store
        self.identity = this_worker()
        self.interval = interval
        ident = self.identity
        store.upsert_worker(ident.worker_id, ident.host, ident.pid, ident.started)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hpo_lab-heartbeat", daemon=True)
        self._thread.start()

    @classmethod
    def ensure(cls, store: SideStore) -> Heartbeat:
        """The running heartbeat of this process for ``store``'s database (started if needed)."""
        key = f"{os.getpid()}|{store.url}"
        with cls._registry_lock:
            hb = cls._registry.get(key)
            if hb is None or hb._stop.is_set():
                hb = cls._registry[key] = cls(store)
            return hb

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.store.heartbeat(self.identity.worker_id)
            except Exception as exc:  # a transient database error must not kill the thread
                _logger.debug("heartbeat failed: %s", exc)

    def stop(self) -> None:
        """Stop beating (the process will look dead after the grace period)."""
        self._stop.set()


def is_stale(
    worker: dict | None, started: float | None, *, now: float, grace: float, host: str
) -> bool:
    """Whether a RUNNING trial owned by ``worker`` (its side-table record) is stale."""
    if worker is None:  # never registered (or its record was lost): judge by the trial's age
        return started is not None and now - started > grace
    if worker["host"] == host and not pid_alive(int(worker["pid"])):
        return True
    return now - float(worker["heartbeat"]) > grace


def stale_reason(worker_id: str, worker: dict | None, *, now: float, host: str) -> str:
    """Why a stale trial owned by ``worker_id`` (with side-table record ``worker``) failed."""
    if worker_kind(worker_id) == SESSION:
        return STALE_REASON
    if worker is None:
        return f"stale: worker process died ({worker_id}, never registered)"
    if worker["host"] == host and not pid_alive(int(worker["pid"])):
        return f"stale: worker process died ({worker_id})"
    silent = now - float(worker["heartbeat"])
    return f"stale: worker process lost ({worker_id}, no heartbeat for {silent:.0f} s)"


def fail_stale_trials(
    study: optuna.Study,
    store: SideStore,
    *,
    grace: float = DEFAULT_GRACE,
    on_failed: Callable[[optuna.trial.FrozenTrial], None] | None = None,
) -> list[int]:
    """Mark FAIL every RUNNING trial of ``study`` whose worker process is dead.

    The reason (user attribute ``fail_reason``) is :func:`stale_reason`'s. Trials with no
    ``hpo_lab:worker`` attribute (run by plain Optuna) are left alone.

    Returns:
        The numbers of the trials marked FAIL.
    """
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    owned = [t for t in running if WORKER_ATTR in t.system_attrs]
    if not owned:
        return []
    workers = store.read_workers()
    now, host = time.time(), socket.gethostname()
    me = this_worker().worker_id
    failed = []
    storage = study._storage
    for t in owned:
        wid = t.system_attrs[WORKER_ATTR]
        if wid == me:
            continue
        started = t.datetime_start.timestamp() if t.datetime_start else None
        record = workers.get(wid)
        if not is_stale(record, started, now=now, grace=grace, host=host):
            continue
        reason = stale_reason(wid, record, now=now, host=host)
        try:
            storage.set_trial_user_attr(t._trial_id, FAIL_REASON_ATTR, reason)
            if storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                failed.append(t.number)
                if on_failed is not None:
                    on_failed(storage.get_trial(t._trial_id))
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # it finished (or another process failed it) meanwhile
    return failed
