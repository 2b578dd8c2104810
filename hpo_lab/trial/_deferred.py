"""A per-trial buffer for values that live on an accelerator, converted in batches.

While a trial has deferred (GPU) values waiting, every event it emits waits behind them, so
subscribers still see each trial's events in order. The buffer is flushed when its oldest entry
is ``interval`` seconds old (at the trial's next report, or by the process-wide flusher of
:mod:`hpo_lab.trial._flusher` if the trial goes quiet), when the trial blocks or ends — one
device synchronisation per flush.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from hpo_lab.events import Event, MetricsReported
from hpo_lab.trial._flusher import watch
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
                watch(self)
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
