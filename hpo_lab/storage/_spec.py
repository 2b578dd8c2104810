"""Resolve a session's ``storage=`` argument into Optuna's storage and hpo_lab's side tables.

=============================================  ==============================================
``storage=``                                   Optuna's record / our side tables
=============================================  ==============================================
``None`` (default)                             the project folder ``.hpo_lab/`` in the working
                                               directory (or ``$HPO_LAB_DIR``): Optuna's
                                               ``JournalStorage`` on ``journal.log``, our tables
                                               in ``hpo_lab.db`` (SQLite, WAL), checkpoints in
                                               ``artifacts/``. No server.
``":memory:"``                                 nothing persists: Optuna's ``InMemoryStorage`` and
                                               our tables in an in-memory SQLite database
a folder path (``"runs/"``)                    the same layout in that folder
a journal file path (``"x.log"``)              Optuna's ``JournalFileBackend`` on it; our tables
                                               in ``x.log.hpo_lab.db`` beside it
a database URL (``sqlite:///``, ``postgresql``)  Optuna's ``RDBStorage``; our tables in the same
                                               database (prefixed ``hpo_lab_``)
an Optuna storage object                       that object; our tables beside its file or in its
                                               database when it has one, else in memory (with a
                                               warning) unless ``side_storage=`` names a URL
=============================================  ==============================================

The default is the journal file because it is an order of magnitude faster than SQLite through
Optuna (see ``benchmarks/overhead.py``) and, like SQLite, needs no server and is safe for
several processes on one machine.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, InMemoryStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from hpo_lab.storage._side import SideStore

DEFAULT_DIR_ENV = "HPO_LAB_DIR"
DEFAULT_DIR = ".hpo_lab"
JOURNAL_NAME = "journal.log"
SIDE_NAME = "hpo_lab.db"
ARTIFACTS_NAME = "artifacts"
_JOURNAL_SUFFIXES = (".log", ".jsonl", ".journal")
_DB_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")


@dataclass
class StorageSpec:
    """Where a session's records live.

    Attributes:
        journal_path: Optuna journal file, when Optuna's record is a journal file.
        url: Optuna RDB URL, when Optuna's record is a database.
        storage_object: the Optuna storage object the user passed, if any.
        side_url: SQLAlchemy URL of hpo_lab's side tables.
        artifact_dir: folder for checkpoints (None: no persistent folder known).
    """

    side_url: str
    journal_path: str | None = None
    url: str | None = None
    storage_object: BaseStorage | None = None
    artifact_dir: str | None = None
    _opened: tuple[int, BaseStorage] | None = field(default=None, repr=False, compare=False)

    def open_optuna(self) -> BaseStorage:
        """Open Optuna's storage (once per process; later calls return the same object)."""
        if self.storage_object is not None:
            return self.storage_object
        if self._opened is None or self._opened[0] != os.getpid():
            if self.journal_path is not None:
                lock = JournalFileSymlinkLock(self.journal_path, grace_period=10)
                opened: BaseStorage = JournalStorage(
                    JournalFileBackend(self.journal_path, lock_obj=lock)
                )
            else:
                assert self.url is not None
                opened = optuna.storages.get_storage(
                    RDBStorage(self.url, engine_kwargs=_rdb_engine_kwargs(self.url))
                )
            self._opened = (os.getpid(), opened)
        return self._opened[1]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_opened"] = None  # each process opens its own
        return state

    def open_side(self) -> SideStore:
        """Open hpo_lab's side tables."""
        return SideStore(self.side_url)

    @property
    def persistent(self) -> bool:
        """Whether the records outlive this process."""
        return self.storage_object is None or not isinstance(self.storage_object, InMemoryStorage)

    def describe(self) -> str:
        """A short human description, with no credentials."""
        if self.journal_path is not None:
            return f"journal file {self.journal_path}"
        if self.url is not None:
            return _hide_password(self.url)
        return type(self.storage_object).__name__


def _rdb_engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}


def _hide_password(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database URL>"


def default_dir() -> Path:
    """The default project folder: ``$HPO_LAB_DIR`` or ``./.hpo_lab``."""
    return Path(os.environ.get(DEFAULT_DIR_ENV) or DEFAULT_DIR)


def _folder_spec(folder: Path) -> StorageSpec:
    folder = folder.expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return StorageSpec(
        side_url=f"sqlite:///{folder / SIDE_NAME}",
        journal_path=str(folder / JOURNAL_NAME),
        artifact_dir=str(folder / ARTIFACTS_NAME),
    )


def _journal_spec(path: Path) -> StorageSpec:
    path = path.expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return StorageSpec(
        side_url=f"sqlite:///{path}.hpo_lab.db",
        journal_path=str(path),
        artifact_dir=str(path.parent / f"{path.name}.artifacts"),
    )


def _url_spec(url: str) -> StorageSpec:
    import sqlalchemy as sa

    u = sa.make_url(url)
    artifact_dir = None
    if u.get_backend_name() == "sqlite" and u.database in (None, "", ":memory:"):
        raise ValueError(
            f"storage={url!r} is an in-memory SQLite database, which each thread would see "
            "empty; use storage=':memory:' for a session kept in memory, or a file URL"
        )
    if u.get_backend_name() == "sqlite":
        db = Path(u.database).expanduser().resolve()
        url = str(u.set(database=str(db)))
        artifact_dir = str(db.parent / f"{db.name}.artifacts")
    if u.drivername in ("postgresql", "postgres") and _psycopg3_only():
        # SQLAlchemy's default PostgreSQL driver is psycopg2; hpo_lab's postgres extra installs
        # psycopg 3, so a plain postgresql:// URL works as the README shows.
        url = u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return StorageSpec(side_url=url, url=url, artifact_dir=artifact_dir)


def _psycopg3_only() -> bool:
    import importlib.util

    return (
        importlib.util.find_spec("psycopg2") is None
        and importlib.util.find_spec("psycopg") is not None
    )


def resolve_storage(storage: Any = None, *, side_storage: str | None = None) -> StorageSpec:
    """Turn a ``storage=`` argument into a :class:`StorageSpec` (see the module docstring).

    Raises:
        TypeError: ``storage`` is of an unsupported type.
        ValueError: ``storage`` is a URL of an unsupported kind.
    """
    spec = _resolve(storage)
    if side_storage is not None:
        if not isinstance(side_storage, str) or "://" not in side_storage:
            raise ValueError(
                f"side_storage must be an SQLAlchemy database URL such as 'sqlite:///runs.db', "
                f"got {side_storage!r}"
            )
        spec.side_url = side_storage
    elif (
        spec.side_url == "sqlite://"
        and spec.storage_object is not None
        and not isinstance(spec.storage_object, InMemoryStorage)
    ):
        warnings.warn(
            f"hpo_lab cannot tell where to keep metric series beside {spec.describe()}; they are "
            "kept in memory only. Pass side_storage='sqlite:///path.db' (or a database URL) to "
            "persist them.",
            stacklevel=3,
        )
    return spec


def _resolve(storage: Any) -> StorageSpec:
    if isinstance(storage, StorageSpec):
        return storage
    if storage is None:
        return _folder_spec(default_dir())
    if isinstance(storage, os.PathLike):
        storage = os.fspath(storage)
    if isinstance(storage, str):
        if not storage.strip():
            raise ValueError("storage must not be an empty string; pass None for the default")
        if storage.strip() in (":memory:", "memory"):
            return StorageSpec(side_url="sqlite://", storage_object=InMemoryStorage())
        if "://" in storage:
            scheme = storage.split("://", 1)[0].split("+", 1)[0].lower()
            if scheme in _DB_SCHEMES:
                return _url_spec(storage)
            raise ValueError(
                f"storage={_hide_password(storage)!r}: unsupported URL scheme {scheme!r}; "
                f"expected a database URL ({', '.join(_DB_SCHEMES)}), a folder, a journal file "
                "path, or an Optuna storage object (e.g. JournalStorage(JournalRedisBackend(...)))"
            )
        path = Path(storage)
        if path.suffix in _JOURNAL_SUFFIXES or path.is_file():
            return _journal_spec(path)
        return _folder_spec(path)
    if isinstance(storage, BaseStorage):
        return _object_spec(storage)
    raise TypeError(
        f"storage must be None, a folder or journal file path, a database URL, or an Optuna "
        f"storage object; got {type(storage).__name__}: {storage!r}"
    )


def _object_spec(storage: BaseStorage) -> StorageSpec:
    inner = getattr(storage, "_backend", None)  # optuna's _CachedStorage wraps an RDBStorage
    rdb = inner if isinstance(inner, RDBStorage) else storage
    if isinstance(rdb, RDBStorage):
        spec = _url_spec(rdb.url)
        spec.storage_object, spec.url = storage, None
        return spec
    if isinstance(storage, JournalStorage):
        backend = getattr(storage, "_backend", None)
        path = getattr(backend, "_file_path", None)
        if isinstance(backend, JournalFileBackend) and path:
            spec = _journal_spec(Path(path))
            spec.storage_object, spec.journal_path = storage, None
            return spec
    return StorageSpec(side_url="sqlite://", storage_object=storage)
