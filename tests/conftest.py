"""Shared fixtures. Every test runs in its own temporary working directory, so the default
storage (``.hpo_lab/``) never lands in the repository."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import pytest

from tests.dask_cluster import dask_client, dask_cluster  # noqa: F401  (shared fixtures)

optuna.logging.set_verbosity(optuna.logging.WARNING)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HPO_LAB_DIR", raising=False)
    yield


@pytest.fixture(autouse=True)
def _close_new_sessions() -> Iterator[None]:
    """Close the sessions a test opened and left open: their threads end with the test."""
    from hpo_lab.session._session import _live_sessions

    before = set(_live_sessions)
    yield
    for s in set(_live_sessions) - before:
        s.close(timeout=5)


@pytest.fixture
def storage_dir(tmp_path: Path) -> Path:
    """A fresh storage folder for a session."""
    return tmp_path / "runs"


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.01) -> None:
    """Wait until ``predicate()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA device (none here)")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


os.environ.setdefault("TQDM_DISABLE", "1")
