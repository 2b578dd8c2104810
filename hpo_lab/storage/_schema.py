"""The tables hpo_lab keeps beside Optuna's: what Optuna's storage has no place for.

- ``hpo_lab_series`` / ``hpo_lab_points``: every named series a trial reports (step, value, time),
  the primary metric included.
- ``hpo_lab_actions``: the action log (every control, who asked, when, with what result).
- ``hpo_lab_checkpoints``: the index of stored checkpoints.
- ``hpo_lab_workers``: worker processes and their heartbeats, to tell a dead process's trials.
- ``hpo_lab_meta``: schema version.

Studies are keyed by name, not Optuna's study id, so that these tables may live in another
database than the study itself.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

SCHEMA_VERSION = 1

_Id = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData()

meta = Table(
    "hpo_lab_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

series = Table(
    "hpo_lab_series",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("study", String(512), nullable=False),
    Column("trial", Integer, nullable=False),
    Column("name", String(512), nullable=False),
    UniqueConstraint("study", "trial", "name", name="hpo_lab_series_key"),
)

points = Table(
    "hpo_lab_points",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("series_id", _Id, nullable=False),
    Column("step", Float, nullable=False),
    Column("value", Float, nullable=True),  # SQLite stores NaN as NULL; read back as NaN
    Column("time", Float, nullable=False),
    Index("hpo_lab_points_series", "series_id", "id"),
)

actions = Table(
    "hpo_lab_actions",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("study", String(512), nullable=False, index=True),
    Column("time", Float, nullable=False),
    Column("source", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("trial", Integer, nullable=True),
    Column("payload", Text, nullable=False),
    Column("result", Text, nullable=False),
)

checkpoints = Table(
    "hpo_lab_checkpoints",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("study", String(512), nullable=False),
    Column("trial", Integer, nullable=False),
    Column("step", Float, nullable=False),
    Column("key", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("time", Float, nullable=False),
    Column("pinned", Boolean, nullable=False, default=False),
    Index("hpo_lab_checkpoints_trial", "study", "trial"),
)

workers = Table(
    "hpo_lab_workers",
    metadata,
    Column("worker_id", String(128), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", Float, nullable=False),
    Column("heartbeat", Float, nullable=False),
)
