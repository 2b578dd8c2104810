"""A ``tqdm.auto`` progress bar fed by the event stream: trials done out of the budget, and the
best value so far. In a notebook it is a widget; in a terminal, a text bar."""

from __future__ import annotations

from collections.abc import Sequence

from optuna.study import StudyDirection

from hpo_lab.events import Event, EventBus, SessionStateChanged, TrialFinished


class ProgressBar:
    """Show trials done / total and the best value, until the run ends.

    Args:
        bus: the session's event stream.
        total: trials in this run (None: unknown).
        direction: the (first) objective's direction, to track the best value.
        best: the best value before this run, if any.
    """

    def __init__(
        self,
        bus: EventBus,
        total: int | None,
        direction: StudyDirection,
        best: tuple[float, int] | None = None,
        desc: str = "trials",
    ) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=total, desc=desc, unit="trial", dynamic_ncols=True)
        self._maximize = direction == StudyDirection.MAXIMIZE
        self._best = best
        self._counts = {"COMPLETE": 0, "PRUNED": 0, "FAIL": 0}
        self._sub = bus.subscribe(self._on_events, interval=0.2, name="progress")
        self._show()

    def add_total(self, n: int) -> None:
        if self._bar.total is not None:
            self._bar.total += n
            self._bar.refresh()

    def _on_events(self, events: Sequence[Event]) -> None:
        done = 0
        for e in events:
            if isinstance(e, TrialFinished):
                done += 1
                self._counts[e.state] = self._counts.get(e.state, 0) + 1
                if e.state == "COMPLETE" and e.values:
                    v = e.values[0]
                    if self._best is None or (
                        v > self._best[0] if self._maximize else v < self._best[0]
                    ):
                        self._best = (v, e.number)
            elif isinstance(e, SessionStateChanged) and e.state in ("finished", "stopped"):
                if done:
                    self._bar.update(done)
                self._show()
                self.close()
                return
        if done:
            self._bar.update(done)
            self._show()

    def _show(self) -> None:
        post = {}
        if self._best is not None:
            post["best"] = f"{self._best[0]:.4g} (#{self._best[1]})"
        if self._counts.get("PRUNED"):
            post["pruned"] = self._counts["PRUNED"]
        if self._counts.get("FAIL"):
            post["failed"] = self._counts["FAIL"]
        self._bar.set_postfix(post, refresh=True)

    def close(self) -> None:
        self._sub.close()
        self._bar.close()
