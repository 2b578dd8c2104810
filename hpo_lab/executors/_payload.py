"""`WorkerSpec`: what a worker process needs to run a session's trials, packed to travel.

The objective is packed with cloudpickle, so a function defined in a notebook cell (or a lambda,
or a closure) reaches spawned processes and cluster workers by value; everything else is plain
data. Packed specs can also be kept in the side tables (:func:`save_payload`), where workers on
other machines find them by key: they must reach those tables anyway to write their metrics.

Unpacking runs code: workers only ever unpack what their own session or storage gave them, the
same trust as Dask's (which unpickles every task).
"""

from __future__ import annotations

import base64
import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cloudpickle
import optuna
import sqlalchemy as sa
from optuna.storages import InMemoryStorage

from hpo_lab.executors._base import ExecutionContext
from hpo_lab.storage import SideStore, StorageSpec, this_worker
from hpo_lab.storage import _schema as S
from hpo_lab.trial import TrialSettings


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs to run one session's trials.

    Attributes:
        study_name: the session's name.
        storage: where its records live (a storage other processes can open).
        objective: the user's objective.
        settings: what each trial needs to know about the session.
        sampler: the session's sampler (reseeded in each worker process).
        pruner: the session's pruner.
        submitter: the worker id of the session's process, which creates the trials; a trial
            claimed by anyone else was started before by a worker that is gone.
        constraints: the session's ``ConstraintSource`` (a copy reads the study's record).
        artifacts: the Optuna artifact store of the session's checkpoints (None: none kept).
        keep_checkpoints: how many recent checkpoints each trial keeps.
    """

    study_name: str
    storage: StorageSpec
    objective: Callable[..., Any]
    settings: TrialSettings
    sampler: optuna.samplers.BaseSampler
    pruner: optuna.pruners.BasePruner
    submitter: str = ""
    constraints: Any = None
    artifacts: Any = None
    keep_checkpoints: int = 3

    @classmethod
    def from_context(cls, ctx: ExecutionContext, *, what: str) -> WorkerSpec:
        """The spec of the session behind ``ctx``; ``what`` names the executor in errors.

        Raises:
            ValueError: the storage or the checkpoints' artifact store cannot be opened by
                other processes.
        """
        checkpoints = ctx.checkpoints
        artifacts = getattr(checkpoints, "artifacts", None)
        if artifacts is not None:
            try:
                cloudpickle.dumps(artifacts)
            except Exception as exc:
                raise ValueError(
                    f"{what} sends the checkpoints' artifact store to other processes, but "
                    f"{type(artifacts).__name__} cannot be pickled ({exc}); pass "
                    "Session(artifacts=...) a folder (shared by the workers) or a store that can"
                ) from None
        return cls(
            study_name=ctx.study_name or ctx.study.study_name,
            storage=shareable(ctx.storage, what),
            objective=ctx.objective,
            settings=ctx.settings,
            sampler=ctx.study.sampler,
            pruner=ctx.study.pruner,
            submitter=this_worker().worker_id,
            constraints=ctx.constraints,
            artifacts=artifacts,
            keep_checkpoints=getattr(checkpoints, "keep_last", 3),
        )


def shareable(spec: StorageSpec | None, what: str) -> StorageSpec:
    """``spec`` if processes other than this one can open it, else a ValueError naming ``what``.

    Raises:
        ValueError: no storage, in-memory storage, in-memory side tables, or a storage object
            that cannot be pickled.
    """
    if not isinstance(spec, StorageSpec):
        raise ValueError(
            f"{what} opens the session's storage in other processes and needs its StorageSpec "
            f"(ExecutionContext.storage); got {spec!r}"
        )
    if isinstance(spec.storage_object, InMemoryStorage):
        raise ValueError(
            f"{what} runs trials in other processes, which cannot see storage=':memory:'; use a "
            "folder or journal file (one machine, or a shared file system) or a database URL "
            "such as 'postgresql+psycopg://user@host/db' (several machines)"
        )
    if sa.make_url(spec.side_url).get_backend_name() == "sqlite" and sa.make_url(
        spec.side_url
    ).database in (None, "", ":memory:"):
        raise ValueError(
            f"{what} runs trials in other processes, which must write their metrics to hpo_lab's "
            f"tables, but those are in memory only for {spec.describe()}; pass "
            "side_storage='sqlite:///path.db' or a database URL"
        )
    if spec.storage_object is not None:
        try:
            cloudpickle.dumps(spec.storage_object)
        except Exception as exc:
            raise ValueError(
                f"{what} sends the storage to other processes, but {spec.describe()} cannot be "
                f"pickled ({exc}); pass a folder, a journal file or a database URL instead"
            ) from None
    return spec


def pack(spec: WorkerSpec) -> bytes:
    """``spec`` as bytes (cloudpickle).

    Raises:
        TypeError: the objective (or something it uses) cannot be pickled.
    """
    try:
        return cloudpickle.dumps(spec)
    except Exception as exc:
        raise TypeError(
            f"the objective {getattr(spec.objective, '__name__', spec.objective)!r} must be sent "
            f"to worker processes, but cloudpickle cannot serialize it: {type(exc).__name__}: "
            f"{exc}. It may use modules, functions and plain data; create open files, locks, "
            "threads and connections inside the objective."
        ) from exc


def unpack(blob: bytes) -> WorkerSpec:
    """The spec packed by :func:`pack`."""
    spec = pickle.loads(blob)
    if not isinstance(spec, WorkerSpec):
        raise TypeError(f"expected a packed WorkerSpec, got {type(spec).__name__}")
    return spec


def token_key(token: str) -> str:
    """The side-table key of the spec an executor published under ``token``."""
    return f"payload:{token}"


def study_key(study: str) -> str:
    """The side-table key of the spec published for ``hpo-lab worker`` processes of ``study``."""
    return "payload:study:" + hashlib.sha1(study.encode()).hexdigest()


def save_payload(store: SideStore, key: str, blob: bytes) -> None:
    """Keep ``blob`` under ``key`` in the side tables (replacing what was there)."""
    text = base64.b64encode(blob).decode("ascii")
    with store.engine.begin() as conn:
        conn.execute(S.meta.delete().where(S.meta.c.key == key))
        conn.execute(S.meta.insert(), {"key": key, "value": text})


def load_payload(store: SideStore, key: str) -> bytes | None:
    """The blob kept under ``key``, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(S.meta.c.value).where(S.meta.c.key == key)).first()
    return None if row is None else base64.b64decode(row[0])


def delete_payload(store: SideStore, key: str) -> None:
    """Forget the blob kept under ``key``."""
    with store.engine.begin() as conn:
        conn.execute(S.meta.delete().where(S.meta.c.key == key))
