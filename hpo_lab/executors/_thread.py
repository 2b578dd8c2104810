"""`ThreadExecutor`: trials in background threads of the kernel process (the default).

One daemon thread per running trial; the session's driver decides how many run at once, so
resizing the pool is free. Threads are never killed: controls are cooperative.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future

from hpo_lab.executors._base import BaseExecutor, ExecutionContext, TrialOutcome, TrialTask
from hpo_lab.executors._runner import run_trial
from hpo_lab.storage import this_worker
from hpo_lab.trial import Control, Mailbox


class ThreadExecutor(BaseExecutor):
    """Run each trial in a daemon thread of this process.

    This is what ``Session(executor="threads")`` (the default) uses; pass an instance to share
    nothing but the type, e.g. ``Session(objective, executor=ThreadExecutor())``.
    """

    name = "threads"

    def __init__(self) -> None:
        self._ctx: ExecutionContext | None = None
        self._lock = threading.Lock()
        self._mailboxes: dict[int, Mailbox] = {}
        self._threads: dict[int, threading.Thread] = {}
        self._closed = False

    def start(self, context: ExecutionContext) -> None:
        if self._ctx is not None and self._ctx is not context:
            raise RuntimeError("this executor is already bound to another session")
        self._ctx = context
        self._closed = False

    def submit(self, task: TrialTask) -> Future[TrialOutcome]:
        if self._ctx is None:
            raise RuntimeError("start(context) must be called before submit()")
        fut: Future[TrialOutcome] = Future()
        fut.set_running_or_notify_cancel()
        mailbox = Mailbox()
        thread = threading.Thread(
            target=self._run,
            args=(task, mailbox, fut),
            name=f"hpo_lab-trial-{task.number}",
            daemon=True,
        )
        with self._lock:
            if self._closed:
                raise RuntimeError("the executor was shut down")
            self._mailboxes[task.number] = mailbox
            self._threads[task.number] = thread
        thread.start()
        return fut

    def _run(self, task: TrialTask, mailbox: Mailbox, fut: Future[TrialOutcome]) -> None:
        ctx = self._ctx
        assert ctx is not None
        try:
            outcome = run_trial(
                task,
                ctx.study,
                ctx.objective,
                ctx.settings,
                ctx.publish,
                mailbox,
                worker=this_worker().worker_id,
                checkpoints=ctx.checkpoints,
                constraints=ctx.constraints,
            )
        except BaseException as exc:  # run_trial records objective errors itself; this is a bug
            fut.set_exception(exc)
        else:
            fut.set_result(outcome)
        finally:
            with self._lock:
                self._mailboxes.pop(task.number, None)
                self._threads.pop(task.number, None)

    def send(self, number: int, control: Control) -> bool:
        with self._lock:
            box = self._mailboxes.get(number)
        if box is None:
            return False
        box.post(control)
        return True

    def running(self) -> list[int]:
        with self._lock:
            return sorted(self._threads)

    def shutdown(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads.values())
        if wait:
            for t in threads:
                if t is not threading.current_thread():
                    t.join()
