"""On CUDA machines: process workers pinned one per GPU, and Dask trials sharing a GPU through
worker resources, with CUDA values and checkpoints flowing back (skipped without a GPU)."""

from __future__ import annotations

import os

import pytest
import torch

import hpo_lab as hl
from hpo_lab.events import TrialStarted
from hpo_lab.executors import DaskExecutor
from hpo_lab.executors._process import placement
from tests.conftest import wait_for
from tests.dask_cluster import local_cluster
from tests.executors import objectives
from tests.executors.test_process import Recorder

pytestmark = pytest.mark.gpu


def _check_trials(s: hl.Session, n: int) -> None:
    assert [t.state.name for t in s.trials] == ["COMPLETE"] * n
    assert {t.user_attrs["device"] for t in s.trials} == {"cuda:0"}  # its own GPU, renumbered
    m = s.metrics()
    assert len(m) == n * 4 * 2 and m.value.notna().all()  # CUDA values arrived as floats
    for t in s.trials:
        state = s.checkpoints.load(s.checkpoints.find(t.number).key, map_location="cpu")
        assert float(state["w"].sum()) == pytest.approx(t.value)


def test_one_process_per_gpu(storage_dir):
    gpus = torch.cuda.device_count()
    s = hl.Session(
        objectives.on_gpu, storage=storage_dir, metric="loss", pruner="none",
        executor="processes", n_workers=gpus, keep_checkpoints=1, progress=False,
    )  # fmt: skip
    rec = Recorder(s)
    assert s.start(2 * gpus).wait(timeout=600)
    _check_trials(s, 2 * gpus)
    mine = os.environ.get("CUDA_VISIBLE_DEVICES")
    expected = {placement(f"cuda:{i}", mine)[0] for i in range(gpus)}
    assert {t.user_attrs["visible"] for t in s.trials} == expected  # one GPU per process
    wait_for(lambda: len(rec.of(TrialStarted)) == 2 * gpus)
    assert {e.device for e in rec.of(TrialStarted)} == {f"cuda:{i}" for i in range(gpus)}


def test_dask_trials_share_a_gpu_through_worker_resources(storage_dir):
    from distributed import Client

    with (
        local_cluster(n_workers=1, threads_per_worker=2, resources={"GPU": 1}) as cluster,
        Client(cluster) as client,
    ):
        ex = DaskExecutor(client, resources={"GPU": 0.5})  # two trials per GPU
        s = hl.Session(
            objectives.on_gpu, storage=storage_dir, metric="loss", pruner="none", executor=ex,
            n_workers=2, keep_checkpoints=1, progress=False,
        )  # fmt: skip
        assert s.start(4).wait(timeout=600)
    _check_trials(s, 4)
