"""`DaskExecutor`: trials as tasks on a Dask cluster — a LocalCluster, Kubernetes, SLURM...

The cluster does the placing and the moving; hpo_lab only adds a two-way channel made of Dask's
own structured events: workers send batches of events on the session's events topic
(``Worker.log_event``; the notebook's client subscribes), the notebook sends controls on its
controls topic (``Client.log_event``; each worker's client subscribes). GPU placement is Dask's
worker resources: with workers started as ``--resources GPU=1`` and
``DaskExecutor(client, resources={"GPU": 0.5})``, two trials share each GPU.

Optuna's storage stays the record: workers open it themselves (a database URL, or a journal file
on a shared file system), write their metrics to the side tables, and read the session's packed
objective from there. A worker that dies fails only its trial: Dask may reschedule the task, but
the trial, already claimed by the dead worker, is then marked FAIL instead of run again.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import socket
import sys
import threading
import uuid
import weakref
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from hpo_lab.events import TrialFinished
from hpo_lab.executors._base import BaseExecutor, ExecutionContext, TrialOutcome, TrialTask
from hpo_lab.executors._dask_worker import DaskTask, run_dask_trial
from hpo_lab.executors._lost import fail_lost_trial
from hpo_lab.executors._payload import WorkerSpec, delete_payload, pack, save_payload, token_key
from hpo_lab.storage import SideStore
from hpo_lab.trial import Control

_logger = logging.getLogger(__name__)

DEVICE_POLICIES = ("worker", "session")


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "a Dask executor needs dask.distributed: pip install 'hpo_lab[dask]' (or "
            "pip install 'dask[distributed]')"
        ) from None
    return distributed


def is_dask_target(obj: Any) -> bool:
    """Whether ``obj`` names a Dask cluster: a Client, a cluster object or a scheduler address.

    Example:
        >>> is_dask_target("tcp://127.0.0.1:8786"), is_dask_target("threads")
        (True, False)
    """
    if isinstance(obj, str):
        return obj.split("://", 1)[0] in ("tcp", "tls", "ucx", "inproc", "ws", "wss")
    distributed = sys.modules.get("distributed")
    if distributed is not None and isinstance(obj, distributed.Client):
        return True
    return hasattr(obj, "scheduler_address") and hasattr(obj, "scale")


def failure_reason(exc: BaseException) -> str:
    """Why a trial's Dask task ended without an outcome, in words."""
    name = type(exc).__name__
    if name == "KilledWorker":
        return f"Dask worker died while running it ({exc})"
    if name in ("CancelledError", "FutureCancelledError"):
        return "its Dask task was cancelled (the client or the cluster went away)"
    return f"the Dask worker could not run it: {name}: {exc}"


_executors: weakref.WeakSet[DaskExecutor] = weakref.WeakSet()


@dataclass
class _Running:
    task: TrialTask
    dask_future: Any
    future: Future[TrialOutcome]
    outcome: TrialOutcome | None = None


class DaskExecutor(BaseExecutor):
    """Run each trial as a task on a Dask cluster.

    ``Session(objective, executor=client, n_workers=8, storage="postgresql+psycopg://...")``
    makes one; ``executor=`` also takes a cluster object or a scheduler address. ``n_workers``
    still says how many trials run at once; Dask says where.

    Args:
        client: a ``dask.distributed.Client``, a cluster (``LocalCluster``,
            ``KubeCluster``, ``SLURMCluster``...), a scheduler address, or None for the current
            default client. A client made here from a cluster or an address is closed by
            :meth:`shutdown`; one passed in is left open.
        resources: Dask resources each trial needs, e.g. ``{"GPU": 0.5}`` for two trials per
            GPU on workers started with ``--resources GPU=1``.
        device: ``"worker"`` (default): each trial uses its worker's first visible GPU, else the
            CPU (give each worker its GPU with ``CUDA_VISIBLE_DEVICES``, as dask-cuda does);
            ``"session"``: the device the session assigned.
        finish_grace: seconds a trial's outcome may wait for its last events to arrive, so that
            subscribers see ``TrialFinished`` before the session moves on.

    Example:
        >>> from distributed import Client, LocalCluster
        >>> import hpo_lab as hl
        >>> cluster = LocalCluster(n_workers=2, host="127.0.0.1")  # doctest: +SKIP
        >>> client = Client(cluster)  # doctest: +SKIP
        >>> s = hl.Session(objective, storage="runs/", executor=client)  # doctest: +SKIP
        >>> s.set_workers(2); s.start(20)  # doctest: +SKIP
    """

    name = "dask"
    persists_metrics = True

    def __init__(
        self,
        client: Any = None,
        *,
        resources: Mapping[str, float] | None = None,
        device: str = "worker",
        finish_grace: float = 5.0,
    ) -> None:
        distributed = _distributed()
        if device not in DEVICE_POLICIES:
            raise ValueError(f"device must be 'worker' or 'session', got {device!r}")
        if resources is not None and not (
            isinstance(resources, Mapping)
            and all(
                isinstance(k, str) and isinstance(v, (int, float)) and v > 0
                for k, v in resources.items()
            )
        ):
            raise ValueError(
                f"resources must map resource names to positive amounts, e.g. {{'GPU': 0.5}}; "
                f"got {resources!r}"
            )
        if not (isinstance(finish_grace, (int, float)) and finish_grace >= 0):
            raise ValueError(f"finish_grace must be seconds >= 0, got {finish_grace!r}")
        self._owns_client = False
        if client is None:
            try:
                client = distributed.get_client()
            except ValueError:
                raise ValueError(
                    "no Dask client: pass executor=Client(...), a cluster or a scheduler address "
                    "such as 'tcp://127.0.0.1:8786'"
                ) from None
        elif not isinstance(client, distributed.Client):
            if not is_dask_target(client):
                raise TypeError(
                    "client must be a dask.distributed.Client, a Dask cluster or a scheduler "
                    f"address such as 'tcp://127.0.0.1:8786'; got {client!r}"
                )
            client = distributed.Client(client)
            self._owns_client = True
        self.client = client
        self.resources = dict(resources) if resources else None
        self.device = device
        self.finish_grace = float(finish_grace)
        self._ctx: ExecutionContext | None = None
        self._token = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._running: dict[int, _Running] = {}
        self._finished_seen: set[int] = set()
        self._seq = 0
        self._closed = False
        self._cleaned = False
        self._store: SideStore | None = None
        _executors.add(self)

    @property
    def events_topic(self) -> str:
        return f"hpo_lab-events-{self._token}"

    @property
    def controls_topic(self) -> str:
        return f"hpo_lab-controls-{self._token}"

    # ------------------------------------------------------------------ the contract
    def start(self, context: ExecutionContext) -> None:
        if self._ctx is not None and self._ctx is not context:
            raise RuntimeError("this executor is already bound to another session")
        spec = WorkerSpec.from_context(context, what="a Dask executor")
        blob = pack(spec)
        self._store = SideStore(spec.storage.side_url)
        save_payload(self._store, token_key(self._token), blob)
        self._ctx = context
        self._closed = False
        self.client.subscribe_topic(self.events_topic, self._on_events)

    def submit(self, task: TrialTask) -> Future[TrialOutcome]:
        ctx = self._ctx
        if ctx is None:
            raise RuntimeError("start(context) must be called before submit()")
        info = DaskTask(
            task=task,
            token=self._token,
            storage=ctx.storage,
            events_topic=self.events_topic,
            controls_topic=self.controls_topic,
            submitter=(socket.gethostname(), os.getpid()),
            device=self.device,
        )
        fut: Future[TrialOutcome] = Future()
        fut.set_running_or_notify_cancel()
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor was shut down")
            dask_future = self.client.submit(
                run_dask_trial,
                info,
                key=f"hpo_lab-{ctx.study_name}-trial-{task.number}-{self._token[:8]}",
                pure=False,
                resources=self.resources,
                retries=0,
            )
            self._running[task.number] = _Running(task, dask_future, fut)
        dask_future.add_done_callback(lambda f, n=task.number: self._task_done(n, f))
        return fut

    def send(self, number: int, control: Control) -> bool:
        with self._lock:
            if number not in self._running:
                return False
            self._seq += 1
            msg = {"seq": self._seq, "trial": number, "control": pickle.dumps(control)}
        try:
            self.client.log_event(self.controls_topic, msg)
        except Exception as exc:
            _logger.warning("could not send %s to trial %d: %s", control.kind, number, exc)
            return False
        return True

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._running)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            futures = [r.future for r in self._running.values()]
        if wait:
            for f in futures:
                try:
                    f.result()
                except Exception:
                    pass
        self._cleanup_if_done()

    def __repr__(self) -> str:
        address = getattr(getattr(self.client, "scheduler", None), "address", None)
        return f"DaskExecutor({address!r}, running={len(self._running)})"

    # ------------------------------------------------------------------ the channel
    def _on_events(self, event: tuple[float, Any]) -> None:
        """A batch of a worker's events (on the client's event loop: quick, never blocks)."""
        ctx = self._ctx
        if ctx is None:
            return
        ended = []
        for e in pickle.loads(event[1]):
            ctx.publish(e)
            if isinstance(e, TrialFinished):
                ended.append(e.number)
        if ended:
            with self._lock:
                self._finished_seen.update(ended)
                ready = [n for n in ended if n in self._running and self._running[n].outcome]
            for n in ready:
                self._resolve(n)

    def _task_done(self, number: int, dask_future: Any) -> None:
        """A trial's task ended (on Dask's callback thread)."""
        ctx = self._ctx
        assert ctx is not None
        with self._lock:
            rec = self._running.get(number)
        if rec is None:
            return
        try:
            outcome = dask_future.result()
            published_here = False
        except BaseException as exc:
            reason = failure_reason(exc)
            try:
                outcome = fail_lost_trial(ctx.study, rec.task, reason, ctx.publish)
            except Exception as record_exc:
                reason = f"{reason}; not recorded: {record_exc}"
                outcome = TrialOutcome(number, "FAIL", None, reason)
            published_here = True
        with self._lock:
            rec.outcome = outcome
            seen = published_here or number in self._finished_seen
        if seen:
            self._resolve(number)
        else:  # its last events are on their way (or lost): wait for them a little
            timer = threading.Timer(self.finish_grace, self._resolve, args=(number,))
            timer.daemon = True
            timer.start()

    def _resolve(self, number: int) -> None:
        with self._lock:
            rec = self._running.get(number)
            if rec is None or rec.outcome is None:
                return
            del self._running[number]
            self._finished_seen.discard(number)
        rec.future.set_result(rec.outcome)
        self._cleanup_if_done()

    def _cleanup_if_done(self) -> None:
        """After shutdown, once no trial runs: unsubscribe, forget the spec, close our client."""
        with self._lock:
            if not self._closed or self._running or self._cleaned:
                return
            self._cleaned = True
        if self._ctx is not None:
            try:
                self.client.unsubscribe_topic(self.events_topic)
            except Exception:
                pass
        self._forget_payload()
        if self._owns_client:
            self.client.close()

    def _forget_payload(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            try:
                delete_payload(store, token_key(self._token))
            finally:
                store.close()


@atexit.register
def _forget_payloads_at_exit() -> None:
    """Remove the specs this process published (trials still running keep their loaded copy)."""
    for ex in list(_executors):
        try:
            ex._forget_payload()
        except Exception:
            pass
