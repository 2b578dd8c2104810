"""A per-trial buffer for values that live on an accelerator, converted in batches.

While a trial has deferred (GPU) values waiting, every event it emits waits behind them, so
subscribers still see each trial's events in order. The buffer is flushed when its oldest entry
is ``interval`` seconds old (at the trial's next report, or by one process-wide flusher thread
if the trial goes quiet), when the trial blocks or ends — one device synchronisation per flush.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from hpo_lab.events import Event, MetricsReported
from hpo_lab.trial._values import is_deferred, resolve_deferred

DEFAULT_INTERVAL = 0.2


class DeferredBuffer:
    """Orders and batches one trial's metric events. ``publish`` receives plain-float events."""

    def __init__(self, number: int, publish: Callable[[Event], None], interval: float):
        self.number = number
        self._publish = publish
        self.interval = interval
        self._lock = threading.Lock()
        self._pending: list[tuple[float, dict[str, Any], float]] = []
        self._since = 0.0

    def emit(self, step: float, values: dict[str, Any], when: float) -> None:
        """Publish now if nothing is deferred, else queue (and flush if the queue is old)."""
        if not self._pending and not any(is_deferred(v) for v in values.values()):
            self._publish(MetricsReported(self.number, step, values, when))
            return
        with self._lock:
            if not self._pending:
                self._since = time.monotonic()
                _flusher().watch(self)
            self._pending.append((step, values, when))
            if time.monotonic() - self._since >= self.interval:
                self._flush_locked()

    def flush(self, older_than: float = 0.0) -> None:
        """Convert and publish everything queued (if its oldest entry is old enough)."""
        with self._lock:
            if self._pending and time.monotonic() - self._since >= older_than:
                self._flush_locked()

    def _flush_locked(self) -> None:
        pending = self._pending
        slots = [
            (i, k)
            for i, (_, vals, _) in enumerate(pending)
            for k, v in vals.items()
            if is_deferred(v)
        ]
        floats = resolve_deferred([pending[i][1][k] for i, k in slots]) if slots else []
        for (i, k), f in zip(slots, floats):
            pending[i][1][k] = f
        for step, vals, when in pending:
            self._publish(MetricsReported(self.number, step, vals, when))
        self._pending = []  # only now: a concurrent emit() must queue behind what we publish


class _Flusher:
    """One daemon thread that flushes the buffers of trials that went quiet."""

    def __init__(self) -> None:
        self._buffers: weakref.WeakSet[DeferredBuffer] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="hpo_lab-gpu-flush", daemon=True)
        self._thread.start()

    def watch(self, buf: DeferredBuffer) -> None:
        with self._lock:
            self._buffers.add(buf)

    def _run(self) -> None:
        while True:
            time.sleep(0.05)
            with self._lock:
                bufs = list(self._buffers)
            for b in bufs:
                try:
                    b.flush(older_than=b.interval)
                except Exception:  # a device error surfaces in the trial's own thread
                    pass


_instance: _Flusher | None = None
_instance_lock = threading.Lock()


def _flusher() -> _Flusher:
    global _instance
    with _instance_lock:
        if _instance is None:
            _instance = _Flusher()
        return _instance
