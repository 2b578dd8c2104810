"""`ProcessExecutor`: trials in worker processes of this machine, one per GPU or CPU slot.

Each running trial has a process of its own — a fresh interpreter, as with multiprocessing's
``spawn`` (see :mod:`hpo_lab.executors._spawn`) — kept for the next trial on the same device,
so a session with ``n_workers`` equal to the number of GPUs has one process per GPU. A process
for ``cuda:k`` sees only that GPU (``CUDA_VISIBLE_DEVICES``) and runs its trials on its
``cuda:0``. Each process opens the session's storage, writes the values its trials
report, and streams their events back over a pipe; one thread of the notebook reads every pipe
and notices at once when a process dies, failing only that process's trial.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
import weakref
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any

from hpo_lab.executors._base import BaseExecutor, ExecutionContext, TrialOutcome, TrialTask
from hpo_lab.executors._lost import fail_lost_trial
from hpo_lab.executors._payload import WorkerSpec, pack
from hpo_lab.executors._spawn import WorkerProcess
from hpo_lab.trial import Control

_logger = logging.getLogger(__name__)


def placement(device: str, visible: str | None = None) -> tuple[str | None, str]:
    """Where a worker process for ``device`` runs: ``(CUDA_VISIBLE_DEVICES, its device)``.

    Args:
        device: the session's device name for the trial (``"cuda:1"``, ``"cpu"``).
        visible: this process's own ``CUDA_VISIBLE_DEVICES`` (GPU k of the session is the k-th
            of those).

    Example:
        >>> placement("cuda:1")
        ('1', 'cuda:0')
        >>> placement("cuda:1", visible="4,6")
        ('6', 'cuda:0')
        >>> placement("cpu")
        (None, 'cpu')
    """
    if device != "cuda" and not device.startswith("cuda:"):
        return None, device
    index = device.partition(":")[2] or "0"
    ids = [v.strip() for v in (visible or "").split(",") if v.strip()]
    if ids and index.isdigit() and int(index) < len(ids):
        return ids[int(index)], "cuda:0"
    return index, "cuda:0"


def describe_exit(code: int | None) -> str:
    """Why a worker process ended, in words.

    Example:
        >>> describe_exit(-9)
        'worker process died (killed by SIGKILL; the system may have run out of memory)'
    """
    if code is None:
        return "worker process died"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = "; the system may have run out of memory" if name == "SIGKILL" else ""
        return f"worker process died (killed by {name}{hint})"
    return f"worker process died (exit code {code})"


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    device: str
    spawned: float = field(default_factory=time.monotonic)
    worker_id: str | None = None
    task: TrialTask | None = None
    future: Future[TrialOutcome] | None = None
    idle_since: float = field(default_factory=time.monotonic)
    retiring: bool = False  # gets no new trial; exits after its current one
    reason: str | None = None  # why it must end, when the notebook decided so
    lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, msg: tuple[Any, ...]) -> bool:
        try:
            with self.lock:
                self.conn.send(msg)
            return True
        except OSError:
            return False


_executors: weakref.WeakSet[ProcessExecutor] = weakref.WeakSet()
_WORKER_MAIN = "hpo_lab.executors._process_worker:worker_main"


class ProcessExecutor(BaseExecutor):
    """Run each trial in a worker process of this machine (a fresh interpreter, never a fork).

    ``Session(objective, executor="processes", n_workers=k)`` uses one; objectives defined in a
    notebook cell work (they travel with cloudpickle). Controls reach the trial at its next
    ``report``; a process that dies fails only its trial, with the reason
    (``"worker process died (killed by SIGKILL...)"``).

    Args:
        env: extra environment for the worker processes, e.g. ``{"OMP_NUM_THREADS": "1"}`` so
            that CPU trials do not oversubscribe the cores.
        idle_timeout: seconds an idle worker process is kept for the next trial.
        start_timeout: seconds a new worker process may take to load the session.
    """

    name = "processes"
    persists_metrics = True

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        idle_timeout: float = 300.0,
        start_timeout: float = 120.0,
    ) -> None:
        for what, value in (("idle_timeout", idle_timeout), ("start_timeout", start_timeout)):
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"{what} must be a positive number of seconds, got {value!r}")
        if env is not None and not all(
            isinstance(k, str) and isinstance(v, str) for k, v in dict(env).items()
        ):
            raise TypeError(f"env must map strings to strings, got {env!r}")
        self.env = dict(env or {})
        self.idle_timeout = float(idle_timeout)
        self.start_timeout = float(start_timeout)
        self._ctx: ExecutionContext | None = None
        self._blob: bytes | None = None
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._by_number: dict[int, _Worker] = {}
        self._closed = False
        self._wake_r, self._wake_w = Pipe(duplex=False)
        self._io: threading.Thread | None = None
        _executors.add(self)

    # ------------------------------------------------------------------ the contract
    def start(self, context: ExecutionContext) -> None:
        if self._ctx is not None and self._ctx is not context:
            raise RuntimeError("this executor is already bound to another session")
        self._blob = pack(WorkerSpec.from_context(context, what="executor='processes'"))
        self._ctx = context
        self._closed = False
        if self._io is None or not self._io.is_alive():
            self._io = threading.Thread(target=self._io_loop, name="hpo_lab-processes", daemon=True)
            self._io.start()

    def submit(self, task: TrialTask) -> Future[TrialOutcome]:
        if self._ctx is None:
            raise RuntimeError("start(context) must be called before submit()")
        fut: Future[TrialOutcome] = Future()
        fut.set_running_or_notify_cancel()
        visible, device = placement(task.device, os.environ.get("CUDA_VISIBLE_DEVICES"))
        for _ in range(2):  # an idle process may have died unnoticed: then a fresh one
            with self._lock:
                if self._closed:
                    raise RuntimeError("the executor was shut down")
                worker = next(
                    (
                        w
                        for w in self._workers
                        if w.task is None and not w.retiring and w.device == task.device
                    ),
                    None,
                )
                if worker is None:
                    worker = self._spawn(task.device, visible)
                    self._workers.append(worker)
                worker.task, worker.future = task, fut
                self._by_number[task.number] = worker
            self._wake()
            if worker.send(("run", task, device)):
                return fut
            with self._lock:
                worker.retiring = True
                worker.task = worker.future = None
                self._by_number.pop(task.number, None)
        assert self._ctx is not None
        fut.set_result(
            fail_lost_trial(
                self._ctx.study, task, "could not start a worker process", self._ctx.publish
            )
        )
        return fut

    def send(self, number: int, control: Control) -> bool:
        with self._lock:
            worker = self._by_number.get(number)
        return worker is not None and worker.send(("control", number, control))

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._by_number)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            futures = [w.future for w in self._workers if w.future is not None]
        if wait:
            for f in futures:
                try:
                    f.result()
                except Exception:
                    pass
        with self._lock:
            workers = list(self._workers)
        for w in workers:
            w.retiring = True
            w.send(("exit",))  # a busy process exits after its trial
        if wait:
            for w in workers:
                w.process.join(timeout=10)
        self._wake()

    def __repr__(self) -> str:
        with self._lock:
            n, busy = len(self._workers), len(self._by_number)
        return f"ProcessExecutor(processes={n}, running={busy})"

    # ------------------------------------------------------------------ processes
    def _spawn(self, device: str, visible: str | None) -> _Worker:
        assert self._blob is not None
        env = dict(self.env)
        if visible is not None:
            env["CUDA_VISIBLE_DEVICES"] = visible
        proc = WorkerProcess(_WORKER_MAIN, (self._blob,), env)
        return _Worker(proc, proc.conn, device)

    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"")
        except OSError:
            pass

    def _io_loop(self) -> None:
        """Read every worker's pipe; notice at once when a worker process ends."""
        while True:
            with self._lock:
                workers = list(self._workers)
                if self._closed and not workers:
                    return
            ready = wait(
                [self._wake_r] + [w.conn for w in workers] + [w.process.sentinel for w in workers],
                timeout=1.0,
            )
            for w in workers:
                if w.conn in ready:
                    self._read(w)
                if w.process.sentinel in ready:
                    self._drain(w)
                    self._release(w)
                    with self._lock:
                        self._workers.remove(w)
                    w.process.close()
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
            self._housekeeping(workers)

    def _read(self, w: _Worker) -> bool:
        """Handle one message from ``w``; False at the end of its pipe."""
        try:
            msg = w.conn.recv()
        except (EOFError, OSError):
            return False  # the process is ending; its sentinel says so
        kind = msg[0]
        if kind == "events":
            assert self._ctx is not None
            for event in msg[1]:
                self._ctx.publish(event)
        elif kind == "outcome":
            self._finished(w, msg[1])
        elif kind == "hello":
            w.worker_id = msg[1]
        elif kind == "broken":  # it exits now
            w.retiring = True
            w.reason = f"the worker process could not load the session: {msg[1]}"
        return True

    def _drain(self, w: _Worker) -> None:
        """Read what a process sent before it ended."""
        try:
            while w.conn.poll() and self._read(w):
                pass
        except OSError:
            pass

    def _finished(self, w: _Worker, outcome: TrialOutcome) -> None:
        with self._lock:
            fut = w.future
            if w.task is not None:
                self._by_number.pop(w.task.number, None)
            w.task, w.future, w.idle_since = None, None, time.monotonic()
        if fut is not None and not fut.done():
            fut.set_result(outcome)

    def _release(self, w: _Worker) -> None:
        """``w``'s process ended: fail the trial it was running, if any, with the reason."""
        with self._lock:
            w.retiring = True
            task, fut = w.task, w.future
            if task is not None:
                self._by_number.pop(task.number, None)
            w.task = w.future = None
        if task is None or fut is None or fut.done():
            return
        w.process.join(timeout=1)
        reason = w.reason or describe_exit(w.process.exitcode)
        assert self._ctx is not None
        try:
            outcome = fail_lost_trial(self._ctx.study, task, reason, self._ctx.publish)
        except Exception as exc:
            _logger.exception("could not record the failure of trial %d", task.number)
            outcome = TrialOutcome(task.number, "FAIL", None, f"{reason}; not recorded: {exc}")
        fut.set_result(outcome)

    def _housekeeping(self, workers: list[_Worker]) -> None:
        now = time.monotonic()
        for w in workers:
            if w.worker_id is None and w.reason is None and now - w.spawned > self.start_timeout:
                w.reason = f"the worker process did not start within {self.start_timeout:g} s"
                w.retiring = True
                w.process.kill()  # its sentinel fails its trial
            elif w.task is None and not w.retiring and now - w.idle_since > self.idle_timeout:
                w.retiring = True
                w.send(("exit",))


@atexit.register
def _stop_workers_at_exit() -> None:
    """Ask every worker process to end, then end the ones that do not (the sessions' own exit
    handler has already cancelled their trials)."""
    workers = [w for ex in list(_executors) for w in list(ex._workers)]
    for w in workers:
        w.send(("exit",))
    deadline = time.monotonic() + 2.0
    for w in workers:
        w.process.join(timeout=max(0.0, deadline - time.monotonic()))
        if w.process.is_alive():
            w.process.terminate()
