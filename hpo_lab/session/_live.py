"""`LiveTrials`: what the session knows about its running trials from the event stream — when
each was last heard from, its last step, whether it is held — to flag unresponsive ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from hpo_lab.events import (
    ControlApplied,
    Event,
    EventBus,
    MetricsReported,
    TrialFinished,
    TrialStarted,
    TrialUnresponsive,
)


class LiveTrials:
    """Tracks running trials; :meth:`check` publishes :class:`TrialUnresponsive` once per silence.

    Args:
        bus: the session's event stream.
        unresponsive_after: seconds without a report after which a running, not held, trial is
            flagged.
    """

    def __init__(self, bus: EventBus, unresponsive_after: float) -> None:
        self.after = unresponsive_after
        self._bus = bus
        self._lock = threading.Lock()
        self._seen: dict[int, float] = {}
        self._steps: dict[int, float] = {}
        self._held: set[int] = set()
        self._flagged: set[int] = set()
        self._sub = bus.subscribe(self._on_events, interval=0.05, name="live")

    def _on_events(self, events: Sequence[Event]) -> None:
        with self._lock:
            for e in events:
                if isinstance(e, TrialStarted):
                    self._seen[e.number] = e.time
                elif isinstance(e, MetricsReported):
                    if e.number in self._seen:
                        self._seen[e.number] = max(self._seen[e.number], e.time)
                    self._steps[e.number] = e.step
                    self._flagged.discard(e.number)
                elif isinstance(e, TrialFinished):
                    self._seen.pop(e.number, None)
                    self._held.discard(e.number)
                    self._flagged.discard(e.number)
                elif (
                    isinstance(e, ControlApplied) and e.number is not None and e.result == "applied"
                ):
                    if e.kind == "pause":
                        self._held.add(e.number)
                    elif e.kind == "resume":
                        self._held.discard(e.number)
                        if e.number in self._seen:
                            self._seen[e.number] = e.time

    def last_step(self, number: int) -> float | None:
        """The last step trial ``number`` reported in this process (None: none seen)."""
        return self._steps.get(number)

    def unresponsive(self, now: float | None = None) -> dict[int, float]:
        """Running trials silent for longer than ``unresponsive_after``: number -> seconds."""
        self._sub.flush()
        now = time.time() if now is None else now
        with self._lock:
            return {
                n: now - t
                for n, t in self._seen.items()
                if n not in self._held and now - t > self.after
            }

    def check(self) -> list[int]:
        """Publish :class:`TrialUnresponsive` for trials that just went silent; return them."""
        silent = self.unresponsive()
        with self._lock:
            new = [n for n in silent if n not in self._flagged]
            self._flagged.update(new)
        for n in new:
            self._bus.publish(TrialUnresponsive(n, silent[n]))
        return new

    def close(self) -> None:
        self._sub.close()
