"""A Dask cluster for tests: two worker processes on 127.0.0.1, started once per test run (the
fixtures are imported by ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest


def local_cluster(*, profile: bool = False, **kwargs: Any) -> Any:
    """A LocalCluster that listens on 127.0.0.1 only (scheduler, workers and dashboard).

    Its workers' sampling profiler is off unless ``profile``: on Python 3.11 it can deadlock
    the process that hosts the worker — the test process itself for ``processes=False``
    (cpython#106883; see ``hpo_lab.executors._dask_worker.stop_sampling_profiler``).
    """
    import dask
    from distributed import LocalCluster

    options = {
        "n_workers": 2,
        "threads_per_worker": 1,
        "host": "127.0.0.1",
        "dashboard_address": "127.0.0.1:0",
        "silence_logs": 50,
    }
    options.update(kwargs)
    if options.get("processes") is False:
        del options["host"]  # in-process workers talk over inproc://, no socket
    with dask.config.set({"distributed.worker.profile.enabled": profile}):
        return LocalCluster(**options)


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    pytest.importorskip("distributed", reason="needs dask.distributed (pip install hpo_lab[dask])")
    cluster = local_cluster()
    yield cluster
    cluster.close()


@pytest.fixture
def dask_client(dask_cluster: Any) -> Iterator[Any]:
    """A client of the shared cluster, with its two workers back up (a test may kill one)."""
    from distributed import Client

    with Client(dask_cluster) as client:
        client.wait_for_workers(2, timeout=120)
        yield client
