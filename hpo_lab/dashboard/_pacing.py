"""Pacing a figure's updates to what its browser can draw.

Each update of a plotly figure makes plotly.js redraw all of it (tens of milliseconds for a few
thousand points; more on a busy machine). Sent faster than the browser draws, updates queue
up: everything on the page, cell outputs included, falls further and further behind. So a
figure gets its next update only once its front end has drawn the last one: plotly's widget
tells the kernel when it has (``on_edits_completed``).

That acknowledgement is handled on the kernel's main thread, which a running cell (for example
``session.wait()``) keeps busy; meanwhile updates go out at the pace the acknowledgements came
at before (a moving average), so the dashboard keeps moving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

#: Never faster than this (seconds between updates).
MIN_INTERVAL = 0.1
#: Never slower than this, acknowledged or not.
MAX_INTERVAL = 2.0


class FramePacer:
    """Says when a figure may take its next update.

    Args:
        figure: A plotly ``FigureWidget``.
        on_ready: Called (on the kernel's main thread) when the front end has drawn the last
            update, so that waiting changes can go out at once.
        clock: Monotonic seconds (tests pass a fake one).

    Example:
        >>> import plotly.graph_objects as go
        >>> pacer = FramePacer(go.FigureWidget())
        >>> pacer.ready()  # no kernel behind the figure: nothing to wait for
        True
    """

    def __init__(
        self,
        figure: Any,
        on_ready: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.figure = figure
        self.on_ready = on_ready
        self._clock = clock
        self._lock = threading.Lock()
        self._sent_at: float | None = None  # an update not acknowledged yet, sent then
        self._waiting = False
        self._registering = False
        #: Moving average of the time from sending an update to its acknowledgement.
        self.latency = MIN_INTERVAL

    @property
    def attached(self) -> bool:
        """Whether a kernel (so maybe a browser) is behind the figure."""
        return getattr(getattr(self.figure, "comm", None), "kernel", None) is not None

    @property
    def interval(self) -> float:
        """Seconds to wait for an acknowledgement before sending anyway."""
        return min(MAX_INTERVAL, max(MIN_INTERVAL, 1.25 * self.latency))

    def ready(self) -> bool:
        """Whether the figure may take an update now."""
        with self._lock:
            if self._sent_at is None or not self.attached:
                return True
            return self._clock() - self._sent_at >= self.interval

    def sent(self) -> None:
        """Notes that an update went out; call it after sending."""
        if not self.attached:
            return
        with self._lock:
            self._sent_at = self._clock()
            if self._waiting:
                return
            self._waiting = True
        self._registering = True  # plotly calls back at once if nothing is pending
        try:
            self.figure.on_edits_completed(self._acknowledged)
        finally:
            self._registering = False

    def _acknowledged(self) -> None:
        with self._lock:
            self._waiting = False
            if self._sent_at is not None:
                took = self._clock() - self._sent_at
                self.latency = 0.7 * self.latency + 0.3 * min(took, MAX_INTERVAL)
            self._sent_at = None
        if self.on_ready is not None and not self._registering:
            self.on_ready()
