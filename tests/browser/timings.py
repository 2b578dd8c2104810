"""Wall-clock timings of the browser tier, logged and kept for a summary at the end of a run."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger("hpo_lab.tests.browser")


class Timings:
    """Records how long named steps took (server start, notebook open, run-all, ...).

    Example:
        >>> timings = Timings()
        >>> with timings.measure("nap"):
        ...     pass
        >>> [name for name, _ in timings.entries]
        ['nap']
    """

    def __init__(self) -> None:
        self.entries: list[tuple[str, float]] = []

    def add(self, name: str, seconds: float) -> None:
        """Records that step ``name`` took ``seconds``."""
        self.entries.append((name, seconds))
        logger.info("%s: %.2f s", name, seconds)

    @contextlib.contextmanager
    def measure(self, name: str) -> Iterator[None]:
        """Times the body of a ``with`` block and records it as ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def summary(self) -> str:
        """One line per step: the step's name and its time in seconds."""
        return "\n".join(f"{seconds:7.2f} s  {name}" for name, seconds in self.entries)

    def write_json(self, path: Path) -> None:
        """Writes the entries to ``path`` as a JSON list of ``{"step", "seconds"}``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = [{"step": name, "seconds": round(seconds, 3)} for name, seconds in self.entries]
        path.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
