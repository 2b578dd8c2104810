"""The main function of a :class:`~hpo_lab.executors.ProcessExecutor` worker process.

Messages on its pipe, from the notebook: ``("run", task, device)``, ``("control", number,
control)``, ``("exit",)``; to the notebook: ``("hello", worker_id)`` once it is ready (or
``("broken", reason)`` if it cannot load the session), ``("events", [event, ...])`` while trials
run, ``("outcome", outcome)`` once a trial is told to storage and its values are written.

If the notebook goes away (the pipe closes), the running trial finishes — its result and values
are stored — and the process exits.
"""

from __future__ import annotations

import queue
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any


def worker_main(conn: Connection, blob: bytes) -> None:
    """Run trials sent over ``conn`` until told to exit or the notebook goes away.

    Args:
        conn: this end of the pipe to the notebook.
        blob: the packed :class:`~hpo_lab.executors._payload.WorkerSpec`.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the notebook decides; Ctrl-C is for it

    from hpo_lab.executors._payload import unpack
    from hpo_lab.executors._worker_runtime import WorkerRuntime
    from hpo_lab.storage._liveness import become_worker_process

    become_worker_process()
    lock = threading.Lock()

    def send(msg: tuple[Any, ...]) -> None:
        try:
            with lock:
                conn.send(msg)
        except OSError:  # the notebook is gone: what is queued still runs, its results stored
            pass

    try:
        runtime = WorkerRuntime(unpack(blob), forward=lambda batch: send(("events", batch)))
    except BaseException as exc:
        send(("broken", f"{type(exc).__name__}: {exc}"))
        return
    send(("hello", runtime.worker_id))
    tasks: queue.SimpleQueue[tuple[Any, str] | None] = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):  # the notebook is gone
                tasks.put(None)
                return
            if msg[0] == "run":
                tasks.put((msg[1], msg[2]))
            elif msg[0] == "control":
                runtime.deliver(msg[1], msg[2], early=True)
            elif msg[0] == "exit":
                tasks.put(None)

    threading.Thread(target=read, name="hpo_lab-worker-read", daemon=True).start()
    try:
        while (item := tasks.get()) is not None:
            task, device = item
            send(("outcome", runtime.run(task, device=device)))
    finally:
        runtime.close()
