"""`MetricWriter`: the event-stream subscriber that makes reported metrics durable.

It receives :class:`~hpo_lab.events.MetricsReported` batches from the bus every ``interval``
seconds and appends them to the side store in one transaction. If the database refuses a write
(locked, disconnected), the rows are kept and retried with the next batch: nothing reported is
dropped while the process lives.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from hpo_lab.events import Event, EventBus, MetricsReported, Subscription
from hpo_lab.storage._side import PointRow, SideStore

_logger = logging.getLogger(__name__)


class MetricWriter:
    """Persist every reported value of one study, in batches.

    Args:
        bus: the event stream to subscribe to.
        store: where to write.
        study: the study name the rows belong to.
        interval: seconds between batches (the default keeps values on disk within 0.5 s).
        enabled: False when someone else writes these values (a session whose executor's
            workers persist their own metrics): then nothing is subscribed or written.
    """

    def __init__(
        self,
        bus: EventBus,
        store: SideStore,
        study: str,
        interval: float = 0.1,
        *,
        enabled: bool = True,
    ):
        self.store = store
        self.study = study
        self.enabled = enabled
        self._backlog: list[PointRow] = []
        self._lock = threading.Lock()
        self.written = 0
        self._failures = 0
        self._sub: Subscription | None = (
            bus.subscribe(self._on_events, interval=interval, name="writer") if enabled else None
        )

    def _on_events(self, events: Sequence[Event]) -> None:
        rows = [
            (e.number, name, e.step, value, e.time)
            for e in events
            if isinstance(e, MetricsReported)
            for name, value in e.values.items()
        ]
        with self._lock:
            self._backlog.extend(rows)
            if not self._backlog:
                return
            try:
                self.written += self.store.append_points(self.study, self._backlog)
            except Exception as exc:
                self._failures += 1
                if self._failures in (1, 10) or self._failures % 100 == 0:
                    _logger.warning(
                        "could not write %d metric values to %r (%s); keeping them to retry",
                        len(self._backlog),
                        self.store,
                        exc,
                    )
                return
            self._backlog = []
            self._failures = 0

    @property
    def backlog(self) -> int:
        """Values received but not yet written."""
        return len(self._backlog) + (self._sub.pending if self._sub is not None else 0)

    def flush(self) -> None:
        """Write everything reported so far, now (retrying what failed before)."""
        if self._sub is not None:
            self._sub.flush()
        self._on_events(())

    def close(self) -> None:
        """Write what is left and unsubscribe."""
        if self._sub is not None:
            self._sub.close()
        self._on_events(())
