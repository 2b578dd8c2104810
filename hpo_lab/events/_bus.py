"""An in-process event stream with per-subscriber delivery threads.

Publishing never blocks and never runs subscriber code: it appends the event to each
subscriber's queue (a ``deque.append``, atomic under the GIL). Each subscription drains its own
queue on its own thread, every ``interval`` seconds, and hands the callback the whole batch, so
events from many trial threads arrive coalesced, in the order they were published, and a slow
subscriber delays only itself.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence

from hpo_lab.events._types import Event

_logger = logging.getLogger(__name__)

BatchCallback = Callable[[Sequence[Event]], None]


class Subscription:
    """One subscriber's queue and delivery thread. Created by :meth:`EventBus.subscribe`."""

    def __init__(self, bus: EventBus, callback: BatchCallback, interval: float, name: str):
        self._bus = bus
        self._callback = callback
        self.interval = interval
        self.name = name
        self._queue: deque[Event] = deque()
        self._drain_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._delivering: int | None = None
        self._thread = threading.Thread(target=self._run, name=f"hpo_lab-sub-{name}", daemon=True)
        self._thread.start()

    def _push(self, event: Event) -> None:
        self._queue.append(event)

    @property
    def pending(self) -> int:
        """How many events wait for delivery."""
        return len(self._queue)

    def _run(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Deliver everything queued so far, now, on the calling thread."""
        with self._drain_lock:
            queue = self._queue
            n = len(queue)
            if not n:
                return
            batch = [queue.popleft() for _ in range(n)]
            self._delivering = threading.get_ident()
            try:
                self._callback(batch)
            except Exception:
                _logger.exception("subscriber %r failed on a batch of %d events", self.name, n)
            finally:
                self._delivering = None

    def close(self) -> None:
        """Stop delivering: unsubscribe, deliver what is queued, end the thread."""
        self._bus._remove(self)
        self._closed = True
        self._wake.set()
        if self._delivering == threading.get_ident():
            return  # called from our own callback: delivery ends when it returns
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
        self.flush()


class EventBus:
    """Fan-out of events to subscribers.

    Example:
        >>> from hpo_lab.events import EventBus, SessionStateChanged
        >>> bus = EventBus()
        >>> seen = []
        >>> sub = bus.subscribe(seen.extend, interval=0.01, name="doc")
        >>> bus.publish(SessionStateChanged("running"))
        >>> sub.flush(); len(seen)
        1
        >>> sub.close()
    """

    def __init__(self) -> None:
        self._subs: tuple[Subscription, ...] = ()
        self._lock = threading.Lock()

    def publish(self, event: Event) -> None:
        """Queue ``event`` for every subscriber. Safe from any thread; never blocks."""
        for sub in self._subs:
            sub._push(event)

    def subscribe(
        self, callback: BatchCallback, *, interval: float = 0.1, name: str = "subscriber"
    ) -> Subscription:
        """Call ``callback(batch)`` on a background thread with the events published since the
        last call, at most every ``interval`` seconds."""
        if not callable(callback):
            raise TypeError(f"callback must be callable, got {callback!r}")
        if not interval > 0:
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        sub = Subscription(self, callback, interval, name)
        with self._lock:
            self._subs = (*self._subs, sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            self._subs = tuple(s for s in self._subs if s is not sub)

    def flush(self) -> None:
        """Deliver every subscriber's queued events now."""
        for sub in self._subs:
            sub.flush()

    def close(self) -> None:
        """Close every subscription."""
        for sub in self._subs:
            sub.close()
