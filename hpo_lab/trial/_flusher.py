"""One process-wide daemon thread that flushes per-trial buffers whose trial went quiet.

A trial's buffers flush themselves at its next report once their oldest entry is old enough;
this thread covers a trial that stops reporting for a while (a long validation pass, a pause
in user code), so nothing waits longer than about ``interval`` seconds.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Protocol

TICK = 0.05  # seconds between the thread's looks


class Flushable(Protocol):
    """A buffer the flusher can watch."""

    interval: float

    def flush(self, older_than: float = 0.0) -> None:
        """Write or publish what is held, if the oldest entry is at least ``older_than`` s old."""


class _Flusher:
    def __init__(self) -> None:
        self._buffers: weakref.WeakSet[Flushable] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="hpo_lab-flush", daemon=True)
        self._thread.start()

    def watch(self, buf: Flushable) -> None:
        with self._lock:
            self._buffers.add(buf)

    def _run(self) -> None:
        while True:
            time.sleep(TICK)
            with self._lock:
                bufs = list(self._buffers)
            for b in bufs:
                try:
                    b.flush(older_than=b.interval)
                except Exception:  # the error surfaces in the trial's own thread at its next flush
                    pass


_instance: _Flusher | None = None
_instance_lock = threading.Lock()


def watch(buf: Flushable) -> None:
    """Have the process-wide flusher look at ``buf`` every 50 ms (held weakly)."""
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = _Flusher()
    _instance.watch(buf)
