"""Checkpoints, forks and live constraints work the same when trials run on remote workers."""

from __future__ import annotations

import time

import pytest

import hpo_lab as hl
from hpo_lab.events import CheckpointSaved
from hpo_lab.executors import DaskExecutor
from tests.conftest import wait_for
from tests.executors import objectives
from tests.executors.test_process import Recorder

pytest.importorskip("distributed")


def test_checkpoints_forks_and_constraints_on_a_cluster(storage_dir, dask_client):
    s = hl.Session(
        objectives.forkable, storage=storage_dir, metric="loss", pruner="none",
        executor=DaskExecutor(dask_client), n_workers=2, keep_checkpoints=4, progress=False,
    )  # fmt: skip
    rec = Recorder(s)
    s.start(1).wait(timeout=120)
    parent = s.trials[0]
    assert parent.state.name == "COMPLETE"
    assert [r.step for r in s.checkpoints.list(0)] == [0, 1, 2, 3]  # saved by the worker
    wait_for(lambda: len(rec.of(CheckpointSaved)) == 4)  # and streamed to the notebook
    assert s.checkpoints.load(s.checkpoints.find(0, 1).key)["epoch"] == 1  # readable here

    child = s.fork(0, {"x": 0.5}, step=1)
    assert s.wait(timeout=120)
    c = s.trials[child]
    assert c.state.name == "COMPLETE" and c.user_attrs["start"] == 2  # resumed on a worker
    assert c.value == pytest.approx(2 * 2 * parent.params["x"] + 2 * 2 * 0.5)

    s.constrain("x", high=0.05)
    time.sleep(1.2)  # a worker's copy of the constraints reads the record at most once a second
    s.start(3).wait(timeout=120)
    assert all(t.params["x"] <= 0.05 for t in s.trials[-3:])
