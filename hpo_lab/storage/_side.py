"""`SideStore`: hpo_lab's own tables (see ``_schema``) in any SQLAlchemy database.

Thread-safe: one store object may be shared by the writer thread, trial threads and the
notebook. Several processes may share one database (SQLite in WAL mode, or PostgreSQL).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from hpo_lab.storage import _schema as S

#: One reported value: (trial number, series name, step, value, wall time).
PointRow = tuple[int, str, float, float, float]


@dataclass(frozen=True)
class Points:
    """Reported values in columns (numpy arrays of equal length), ordered by ``id``."""

    id: np.ndarray
    trial: np.ndarray
    name: np.ndarray
    step: np.ndarray
    value: np.ndarray
    time: np.ndarray

    def __len__(self) -> int:
        return len(self.id)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; survives SIGKILL
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url`` set up for many threads (and, for files, many processes)."""
    u = sa.make_url(url)
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True, future=True)
    if u.database in (None, "", ":memory:"):
        engine = sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class SideStore:
    """Metric series, action log, checkpoint index and worker heartbeats for many studies.

    Args:
        url: An SQLAlchemy database URL (``sqlite:///path.db``, ``sqlite://`` for memory,
            ``postgresql://...``).

    Example:
        >>> store = SideStore("sqlite://")
        >>> rows = [(0, "loss", 0.0, 1.5, 100.0), (0, "loss", 1.0, 1.2, 101.0)]
        >>> store.append_points("demo", rows)
        2
        >>> store.read_points("demo").value.tolist()
        [1.5, 1.2]
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # An in-memory database is one shared connection: its transactions from several threads
        # must not interleave. File and server databases give each thread its own connection.
        self._lock: Any = threading.RLock() if self.in_memory else contextlib.nullcontext()
        self._series_ids: dict[tuple[str, int, str], int] = {}
        mark = {"qmark": "?", "numeric": ":1"}.get(self.engine.dialect.paramstyle, "%s")
        marks = ", ".join(mark if mark != ":1" else f":{i}" for i in range(1, 5))
        self._insert_points_sql = (
            f"INSERT INTO {S.points.name} (series_id, step, value, time) VALUES ({marks})"
        )
        self._create_schema()

    @property
    def in_memory(self) -> bool:
        """Whether the tables live in this process's memory only (nothing persists)."""
        u = sa.make_url(self.url)
        return u.get_backend_name() == "sqlite" and u.database in (None, "", ":memory:")

    def __repr__(self) -> str:
        return f"SideStore({sa.make_url(self.url).render_as_string(hide_password=True)!r})"

    def _create_schema(self) -> None:
        for attempt in range(5):
            try:
                with self._lock:
                    S.metadata.create_all(self.engine, checkfirst=True)
                    with self.engine.begin() as conn:
                        row = conn.execute(
                            sa.select(S.meta.c.value).where(S.meta.c.key == "schema_version")
                        ).first()
                        if row is None:
                            conn.execute(S.meta.insert(), {"key": "schema_version", "value": "1"})
                        elif int(row[0]) > S.SCHEMA_VERSION:
                            raise RuntimeError(
                                f"the hpo_lab tables in {self!r} have schema version {row[0]}, "
                                f"newer than this hpo_lab understands ({S.SCHEMA_VERSION}): "
                                "upgrade hpo_lab"
                            )
                return
            except (OperationalError, IntegrityError):  # another process created them first
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # ----------------------------------------------------------------------------- series
    def _ensure_series(self, study: str, keys: set[tuple[int, str]]) -> None:
        """Make sure series ``(trial, name)`` of ``study`` exist and their ids are cached: one
        transaction for a whole batch, whichever process creates them first."""
        trials = sorted({t for t, _ in keys})
        cols = (S.series.c.id, S.series.c.trial, S.series.c.name)
        where = sa.and_(S.series.c.study == study, S.series.c.trial.in_(trials))
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    for sid, trial, name in conn.execute(sa.select(*cols).where(where)):
                        self._series_ids[(study, trial, name)] = sid
                    new = [k for k in keys if (study, *k) not in self._series_ids]
                    if not new:
                        return
                    conn.execute(
                        S.series.insert(),
                        [{"study": study, "trial": t, "name": n} for t, n in new],
                    )
                    for sid, trial, name in conn.execute(sa.select(*cols).where(where)):
                        self._series_ids[(study, trial, name)] = sid
                return
            except IntegrityError:  # another process added some of them: read them again
                if attempt == 4:
                    raise

    def append_points(self, study: str, rows: Iterable[PointRow]) -> int:
        """Append reported values in one transaction. Returns how many were written."""
        rows = list(rows)
        if not rows:
            return 0
        with self._lock:
            ids = self._series_ids
            missing = {(t, n) for t, n, *_ in rows if (study, t, n) not in ids}
            if missing:
                self._ensure_series(study, missing)
            records = [
                (
                    ids[(study, trial, name)],
                    float(step),
                    None if value != value else float(value),
                    float(t),
                )  # NaN is stored as NULL
                for trial, name, step, value, t in rows
            ]
            # The hot path: the driver's own executemany (SQLAlchemy's per-row parameter
            # processing cost about 80 us a row, on the GIL the trials need).
            with self.engine.begin() as conn:
                conn.exec_driver_sql(self._insert_points_sql, records)
            return len(records)

    def read_points(
        self,
        study: str,
        *,
        trials: Sequence[int] | None = None,
        names: Sequence[str] | None = None,
        after_id: int = 0,
    ) -> Points:
        """Values reported in ``study`` (optionally only some trials / series, or only those
        stored after the point with id ``after_id``), ordered by id (the order written)."""
        q = (
            sa.select(
                S.points.c.id,
                S.series.c.trial,
                S.series.c.name,
                S.points.c.step,
                S.points.c.value,
                S.points.c.time,
            )
            .join(S.series, S.series.c.id == S.points.c.series_id)
            .where(S.series.c.study == study)
            .order_by(S.points.c.id)
        )
        if after_id:
            q = q.where(S.points.c.id > after_id)
        if trials is not None:
            q = q.where(S.series.c.trial.in_([int(t) for t in trials]))
        if names is not None:
            q = q.where(S.series.c.name.in_(list(names)))
        with self._lock, self.engine.connect() as conn:
            rows = conn.execute(q).all()
        if not rows:
            e = np.empty(0)
            return Points(e.astype(np.int64), e.astype(np.int64), e.astype(object), e, e, e)
        ids, trial, name, step, value, t = zip(*rows)
        return Points(
            id=np.asarray(ids, dtype=np.int64),
            trial=np.asarray(trial, dtype=np.int64),
            name=np.asarray(name, dtype=object),
            step=np.asarray(step, dtype=np.float64),
            value=np.asarray([np.nan if v is None else v for v in value], dtype=np.float64),
            time=np.asarray(t, dtype=np.float64),
        )

    def last_steps(self, study: str) -> dict[int, float]:
        """The largest step each trial of ``study`` reported, by trial number."""
        q = (
            sa.select(S.series.c.trial, sa.func.max(S.points.c.step))
            .join(S.points, S.points.c.series_id == S.series.c.id)
            .where(S.series.c.study == study)
            .group_by(S.series.c.trial)
        )
        with self._lock, self.engine.connect() as conn:
            return {int(t): float(m) for t, m in conn.execute(q)}

    def series_names(self, study: str, trial: int | None = None) -> list[str]:
        """Names of the series reported in ``study`` (or by one trial), sorted."""
        q = sa.select(S.series.c.name).where(S.series.c.study == study).distinct()
        if trial is not None:
            q = q.where(S.series.c.trial == trial)
        with self._lock, self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(q))

    # ----------------------------------------------------------------------------- actions
    def append_action(
        self,
        study: str,
        *,
        kind: str,
        source: str,
        payload: dict[str, Any],
        result: str,
        trial: int | None = None,
        when: float | None = None,
    ) -> int:
        """Record one control in the action log; returns its id."""
        rec = {
            "study": study,
            "time": time.time() if when is None else when,
            "source": source,
            "kind": kind,
            "trial": trial,
            "payload": json.dumps(payload, default=str, sort_keys=True),
            "result": result,
        }
        with self._lock, self.engine.begin() as conn:
            return int(conn.execute(S.actions.insert(), rec).inserted_primary_key[0])

    def update_action_result(self, action_id: int, result: str) -> None:
        """Set the result of a recorded action (a control that took effect later)."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(S.actions.update().where(S.actions.c.id == action_id), {"result": result})

    def read_actions(self, study: str) -> list[dict[str, Any]]:
        """The action log of ``study``, oldest first."""
        q = sa.select(S.actions).where(S.actions.c.study == study).order_by(S.actions.c.id)
        with self._lock, self.engine.connect() as conn:
            out = [dict(r._mapping) for r in conn.execute(q)]
        for rec in out:
            rec["payload"] = json.loads(rec["payload"])
        return out

    # ----------------------------------------------------------------------------- checkpoints
    def add_checkpoint(
        self, study: str, trial: int, step: float, key: str, size: int, when: float | None = None
    ) -> None:
        """Index a stored checkpoint."""
        rec = {
            "study": study,
            "trial": trial,
            "step": float(step),
            "key": key,
            "size": int(size),
            "time": time.time() if when is None else when,
            "pinned": False,
        }
        with self._lock, self.engine.begin() as conn:
            conn.execute(S.checkpoints.insert(), rec)

    def list_checkpoints(self, study: str, trial: int | None = None) -> list[dict[str, Any]]:
        """Indexed checkpoints of ``study`` (or one trial), oldest first."""
        q = sa.select(S.checkpoints).where(S.checkpoints.c.study == study)
        if trial is not None:
            q = q.where(S.checkpoints.c.trial == trial)
        with self._lock, self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q.order_by(S.checkpoints.c.id))]

    def pin_checkpoint(self, key: str) -> bool:
        """Protect a checkpoint from retention. False if it no longer exists."""
        with self._lock, self.engine.begin() as conn:
            return bool(
                conn.execute(
                    S.checkpoints.update().where(S.checkpoints.c.key == key), {"pinned": True}
                ).rowcount
            )

    def drop_checkpoints(self, keys: Sequence[str]) -> list[str]:
        """Remove unpinned checkpoints from the index; returns the keys actually removed (a
        checkpoint pinned meanwhile stays)."""
        if not keys:
            return []
        stmt = (
            S.checkpoints.delete()
            .where(S.checkpoints.c.key.in_(list(keys)), S.checkpoints.c.pinned.is_(False))
            .returning(S.checkpoints.c.key)
        )
        with self._lock, self.engine.begin() as conn:
            return [r[0] for r in conn.execute(stmt)]

    # ----------------------------------------------------------------------------- workers
    def upsert_worker(self, worker_id: str, host: str, pid: int, started: float) -> None:
        """Register a worker process (or refresh its record)."""
        now = time.time()
        with self._lock, self.engine.begin() as conn:
            n = conn.execute(
                S.workers.update().where(S.workers.c.worker_id == worker_id), {"heartbeat": now}
            ).rowcount
            if not n:
                conn.execute(
                    S.workers.insert(),
                    {
                        "worker_id": worker_id,
                        "host": host,
                        "pid": pid,
                        "started": started,
                        "heartbeat": now,
                    },
                )

    def heartbeat(self, worker_id: str, when: float | None = None) -> None:
        """Record that ``worker_id`` is alive now."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                S.workers.update().where(S.workers.c.worker_id == worker_id),
                {"heartbeat": time.time() if when is None else when},
            )

    def read_workers(self) -> dict[str, dict[str, Any]]:
        """All known workers by id: host, pid, started, heartbeat."""
        with self._lock, self.engine.connect() as conn:
            return {r.worker_id: dict(r._mapping) for r in conn.execute(sa.select(S.workers))}

    # ----------------------------------------------------------------------------- studies
    def delete_study(self, study: str) -> None:
        """Remove everything stored for ``study`` in these tables."""
        with self._lock, self.engine.begin() as conn:
            ids = sa.select(S.series.c.id).where(S.series.c.study == study)
            conn.execute(S.points.delete().where(S.points.c.series_id.in_(ids)))
            conn.execute(S.series.delete().where(S.series.c.study == study))
            conn.execute(S.actions.delete().where(S.actions.c.study == study))
            conn.execute(S.checkpoints.delete().where(S.checkpoints.c.study == study))
        self._series_ids = {k: v for k, v in self._series_ids.items() if k[0] != study}
