"""Pacing a figure's updates to what its browser can draw.

Each update of a plotly figure makes plotly.js redraw all of it (tens to hundreds of
milliseconds in a busy browser). Sent faster than the browser draws, updates queue up, and
everything on the page, cell outputs included, falls further and further behind (measured: 8
updates/s sent, 4 drawn, a report reaching the screen 8 s late). So a figure gets its next update
only once its front end has drawn the last one.

The front end says so: after every edit, plotly's widget acknowledges the edit's id, which
:meth:`~._figure.LiveFigure.on_acknowledged` passes on. The pacer notes the id of every update it
sends. An acknowledgement of any later edit also covers the earlier ones.

Acknowledgements are handled on the kernel's main thread. A running cell (for example
``session.wait()``) keeps that thread busy. Then no acknowledgement can arrive however fast the
browser is, so the pacer checks whether the main thread is busy before it waits on. It posts a
probe callback to the kernel's event loop. If the probe does not run, updates go out at the pace
the acknowledgements came at before (a moving average), so the dashboard keeps moving. If the
probe runs and still no acknowledgement has come, the browser is behind, and the pacer waits for
it (at most :data:`MAX_INTERVAL`, for a front end that went away).
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
#: A probe of the kernel's main thread that has not run after this long means the thread is busy.
PROBE_GRACE = 0.05


class FramePacer:
    """Says when a figure may take its next update.

    Args:
        figure: A :class:`~._figure.LiveFigure` (plotly's own ``FigureWidget`` never hears
            its front end's acknowledgements).
        on_ready: Called (on the kernel's main thread) when the front end has drawn the last
            update, so that waiting changes can go out at once.
        clock: Monotonic seconds (tests pass a fake one).

    Example:
        >>> from hpo_lab.dashboard._figure import LiveFigure
        >>> pacer = FramePacer(LiveFigure())
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
        self._in_flight: dict[int, float] = {}  # edit id -> when it was sent, not acknowledged
        self._last_sent_at = 0.0
        self._probe_posted_at: float | None = None  # a probe posted that has not run yet
        #: Moving average of the time from sending an update to its acknowledgement.
        self.latency = MIN_INTERVAL
        figure.on_acknowledged(self._on_acknowledged)

    @property
    def attached(self) -> bool:
        """Whether a kernel (so maybe a browser) is behind the figure."""
        return self._kernel is not None

    @property
    def _kernel(self) -> Any:
        return getattr(getattr(self.figure, "comm", None), "kernel", None)

    @property
    def interval(self) -> float:
        """Seconds between updates while acknowledgements cannot arrive (the main thread is
        busy), and how long to wait for one before checking why it has not come."""
        return min(MAX_INTERVAL, max(MIN_INTERVAL, 1.25 * self.latency))

    @property
    def in_flight(self) -> int:
        """Updates sent and not acknowledged yet."""
        with self._lock:
            return len(self._in_flight)

    def ready(self) -> bool:
        """Whether the figure may take an update now."""
        with self._lock:
            if not self._in_flight or not self.attached:
                return True
            waited = self._clock() - self._last_sent_at
            if waited < self.interval:
                return False
            if waited >= MAX_INTERVAL:
                return True
            return self._main_thread_busy()

    def sent(self) -> None:
        """Notes that an update went out; call it after sending."""
        if not self.attached:
            return
        edit_id = getattr(self.figure, "_last_layout_edit_id", None)
        with self._lock:
            now = self._clock()
            self._last_sent_at = now
            if isinstance(edit_id, int):
                self._in_flight[edit_id] = now

    # ------------------------------------------------------------------ internals
    def _on_acknowledged(self, edit_id: int) -> None:
        """The front end drew edit ``edit_id`` (and all before it)."""
        with self._lock:
            acked = [i for i in self._in_flight if i <= edit_id]
            if not acked:
                return  # an edit someone else sent, or one acknowledged already
            took = self._clock() - self._in_flight[max(acked)]
            self.latency = 0.7 * self.latency + 0.3 * min(took, MAX_INTERVAL)
            for i in acked:
                del self._in_flight[i]
            drained = not self._in_flight
        if drained and self.on_ready is not None:
            self.on_ready()

    def _main_thread_busy(self) -> bool:
        """Whether the kernel's main thread has not run a probe posted :data:`PROBE_GRACE` ago
        (posting one if none is pending). Call with the lock held."""
        now = self._clock()
        if self._probe_posted_at is not None:
            return now - self._probe_posted_at >= PROBE_GRACE
        loop = getattr(self._kernel, "io_loop", None)
        if loop is None:
            return True  # no way to tell: keep the dashboard moving
        try:
            loop.add_callback(self._probe_ran)
        except RuntimeError:  # the loop is closed
            return True
        self._probe_posted_at = now
        return False

    def _probe_ran(self) -> None:
        with self._lock:
            self._probe_posted_at = None
