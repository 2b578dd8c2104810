"""`ConstraintSource`: where samplers and trials read the session's current constraints.

The study's storage is the record (study system attribute ``hpo_lab:constraints``), so workers in
other processes see changes. In the session's own process the live object answers without I/O;
a copy sent to another process (pickled with a sampler) reads storage, at most once a second.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from hpo_lab.constraints._model import Constraints

ATTR = "hpo_lab:constraints"
_TTL = 1.0


class ConstraintSource:
    """The current :class:`Constraints` of one study."""

    def __init__(self, storage: Any, study_id: int) -> None:
        self._storage = storage
        self._study_id = study_id
        self._lock = threading.Lock()
        self._live: Constraints | None = self._read()
        self._cached: tuple[float, Constraints] | None = None

    def _read(self) -> Constraints:
        attrs = self._storage.get_study_system_attrs(self._study_id)
        return Constraints.from_json(attrs.get(ATTR))

    def current(self) -> Constraints:
        """The constraints now in force."""
        if self._live is not None:
            return self._live
        now = time.monotonic()
        cached = self._cached
        if cached is None or now - cached[0] > _TTL:
            cached = self._cached = (now, self._read())
        return cached[1]

    def set(self, constraints: Constraints) -> None:
        """Make ``constraints`` current: stored first, then live."""
        with self._lock:
            self._storage.set_study_system_attr(self._study_id, ATTR, constraints.to_json())
            self._live = constraints

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_live"] = None  # another process: read the record
        state["_cached"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
