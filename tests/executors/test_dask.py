"""A Dask cluster as executor: LocalCluster workers, the two-way channel, GPU resources, a worker
killed mid-trial, and a notebook that dies and comes back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import optuna
import pytest

import hpo_lab as hl
from hpo_lab.events import ControlApplied, MetricsReported, TrialFinished, TrialStarted
from hpo_lab.executors import DaskExecutor, ExecutionContext, TrialTask, make_executor
from hpo_lab.storage import resolve_storage
from hpo_lab.trial import Prune, TrialSettings
from tests.conftest import REPO, wait_for
from tests.dask_cluster import local_cluster
from tests.executors import objectives
from tests.executors.test_process import Recorder

pytest.importorskip("distributed")


def test_what_make_executor_accepts(dask_client):
    ex = make_executor(dask_client)
    assert isinstance(ex, DaskExecutor) and ex.client is dask_client and ex.persists_metrics
    by_address = make_executor(dask_client.scheduler.address)
    assert isinstance(by_address, DaskExecutor) and by_address.client is not dask_client
    by_address.shutdown()  # closes the client it made, not the cluster
    assert by_address.client.status == "closed" and dask_client.status == "running"
    with pytest.raises(ValueError, match="resources must map resource names"):
        DaskExecutor(dask_client, resources={"GPU": 0})
    with pytest.raises(ValueError, match="device must be 'worker' or 'session'"):
        DaskExecutor(dask_client, device="cuda")
    with pytest.raises(TypeError, match=r"client must be a dask\.distributed\.Client"):
        DaskExecutor(42)


def test_a_session_on_a_cluster_streams_and_stores_everything_once(storage_dir, dask_client):
    offset = 0.5

    def objective(trial):  # a closure: it travels by value
        x = trial.suggest_float("x", 0, 1)
        for step in range(5):
            trial.report(step, loss=x + offset + step, **{"hypergrad/lr": -x})
        return x + offset

    s = hl.Session(
        objective, storage=storage_dir, metric="loss", executor=dask_client, n_workers=2,
        progress=False,
    )  # fmt: skip
    rec = Recorder(s)
    s.start(6)
    assert s.wait(timeout=120)
    assert [t.state.name for t in s.trials] == ["COMPLETE"] * 6
    assert all(t.value == pytest.approx(t.params["x"] + 0.5) for t in s.trials)
    assert len(s.metrics()) == 6 * 5 * 2  # once each: the workers wrote them
    wait_for(lambda: len(rec.of(TrialFinished)) == 6)
    assert len(rec.of(MetricsReported)) == 30
    workers = {e.worker for e in rec.of(TrialStarted)}
    assert all(w.startswith("worker@") for w in workers) and len(workers) <= 2
    assert {t.system_attrs["hpo_lab:worker"] for t in s.trials} == workers  # claimed


def test_a_killed_dask_worker_fails_only_its_trial(storage_dir, dask_client):
    s = hl.Session(
        objectives.slow, storage=storage_dir, metric="loss", pruner="none",
        executor=dask_client, n_workers=2, progress=False,
    )  # fmt: skip
    s.study.set_user_attr("steps", 50)
    rec = Recorder(s)
    s.start(4)
    wait_for(lambda: sum(e.number == 0 for e in rec.of(MetricsReported)) >= 5, timeout=60)
    os.kill(s.trials[0].user_attrs["pid"], signal.SIGKILL)
    assert s.wait(timeout=120)
    states = [t.state.name for t in s.trials]
    assert states[0] == "FAIL" and states[1:] == ["COMPLETE"] * 3
    reason = s.trials[0].user_attrs["fail_reason"]
    assert reason.startswith(("worker process lost while running it (worker@", "Dask worker died"))
    wait_for(lambda: any(e.number == 0 and e.state == "FAIL" for e in rec.of(TrialFinished)))


def test_controls_reach_running_and_still_queued_trials(tmp_path, dask_client):
    spec = resolve_storage(tmp_path / "runs")
    study = optuna.create_study(storage=spec.open_optuna(), study_name="q")
    study.set_user_attr("steps", 2000)
    events, lock = [], threading.Lock()

    def publish(e):
        with lock:
            events.append(e)

    ex = DaskExecutor(dask_client)
    ctx = ExecutionContext(study, objectives.slow, TrialSettings(metric="loss"), publish, "q", spec)
    ex.start(ctx)
    futs = []
    for _ in range(3):  # two workers: the third trial waits for one
        t = study.ask()
        futs.append(ex.submit(TrialTask(t.number, t._trial_id)))
    wait_for(lambda: {e.number for e in list(events) if isinstance(e, MetricsReported)} == {0, 1})
    assert ex.running() == [0, 1, 2]
    assert ex.send(2, Prune(source="test"))  # before it started anywhere
    assert ex.send(0, Prune(source="test"))
    o0 = futs[0].result(timeout=60)
    o2 = futs[2].result(timeout=60)  # starts on the freed worker, pruned at its first report
    assert (o0.state, o2.state) == ("PRUNED", "PRUNED")
    assert study.trials[2].intermediate_values == {
        0: pytest.approx(study.trials[2].params["x"] + 1)
    }
    assert ex.send(1, Prune(source="test"))
    assert futs[1].result(timeout=60).state == "PRUNED"
    applied = sorted(e.number for e in events if isinstance(e, ControlApplied))
    assert applied == [0, 1, 2]
    ex.shutdown()


def test_pause_and_resume_reach_cluster_trials(storage_dir, dask_client):
    s = hl.Session(
        objectives.slow, storage=storage_dir, metric="loss", pruner="none",
        executor=dask_client, n_workers=2, progress=False,
    )  # fmt: skip
    s.study.set_user_attr("steps", 1000)
    rec = Recorder(s)
    s.start(2)
    wait_for(lambda: {e.number for e in rec.of(MetricsReported)} == {0, 1}, timeout=60)
    s.pause()
    wait_for(lambda: sum(e.result == "applied" for e in rec.of(ControlApplied)) == 2)
    held = len(rec.of(MetricsReported))
    time.sleep(0.3)
    assert len(rec.of(MetricsReported)) <= held + 2
    s.resume()
    wait_for(lambda: len(rec.of(MetricsReported)) > held + 4)
    s.stop(cancel=True)
    assert s.wait(timeout=60)
    assert {t.user_attrs["end_reason"] for t in s.trials} == {"cancelled: session stopped"}


def _peak_concurrency(trials) -> int:
    spans = [(t.user_attrs["t0"], t.user_attrs["t1"]) for t in trials]
    return max(sum(a < end and start < b for a, b in spans) for start, end in spans)


@pytest.mark.parametrize("per_trial, peak", [(1, 1), (0.5, 2)])
def test_gpu_resources_decide_how_many_trials_share_a_worker(storage_dir, per_trial, peak):
    from distributed import Client

    def objective(trial):  # when it really ran (datetime_start includes the wait in Dask)
        trial.set_user_attr("t0", time.time())
        time.sleep(0.3)
        trial.set_user_attr("t1", time.time())
        return trial.suggest_float("x", 0, 1)

    with (
        local_cluster(n_workers=1, threads_per_worker=2, processes=False, resources={"GPU": 1})
        as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        ex = DaskExecutor(client, resources={"GPU": per_trial})
        s = hl.Session(objective, storage=storage_dir, executor=ex, n_workers=2, progress=False)
        assert s.start(4).wait(timeout=60)
    assert [t.state.name for t in s.trials] == ["COMPLETE"] * 4
    assert _peak_concurrency(s.trials) == peak


def test_a_worker_running_trials_stops_its_sampling_profiler_where_it_can_deadlock(storage_dir):
    from distributed import Client

    from hpo_lab.executors._dask_worker import CURRENT_FRAMES_DEADLOCK

    with (
        local_cluster(n_workers=1, processes=False, profile=True) as cluster,
        Client(cluster) as client,
    ):  # fmt: skip
        (worker,) = cluster.workers.values()
        profiler = worker.periodic_callbacks["profile"]
        assert profiler.is_running()
        s = hl.Session(objectives.conformance, storage=storage_dir, executor=client, progress=False)
        assert s.start(2).wait(timeout=60)
        wait_for(lambda: profiler.is_running() != CURRENT_FRAMES_DEADLOCK, timeout=10)
        assert worker.periodic_callbacks["profile-cycle"].is_running() != CURRENT_FRAMES_DEADLOCK
        assert worker.status.name == "running"  # the worker itself goes on
        assert [t.state.name for t in s.trials] == ["COMPLETE"] * 2


def test_in_memory_storage_is_refused(dask_client):
    s = hl.Session(objectives.slow, storage=":memory:", executor=dask_client, progress=False)
    with pytest.raises(ValueError, match="cannot see storage=':memory:'"):
        s.start(1)


NOTEBOOK = textwrap.dedent(
    """
    import sys, time
    import hpo_lab as hl
    from tests.executors import objectives

    s = hl.Session(objectives.slow, name="away", storage=sys.argv[1], metric="loss",
                   pruner="none", executor=sys.argv[2], n_workers=2, progress=False)
    s.study.set_user_attr("steps", 100)
    s.start(2)
    while s.metrics().trial.nunique() < 2:  # both trials under way on workers
        time.sleep(0.05)
    print("running", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.slow
def test_a_notebook_that_dies_finds_everything_when_it_comes_back(tmp_path, dask_client):
    script = tmp_path / "notebook.py"
    script.write_text(NOTEBOOK)
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(runs), dask_client.scheduler.address],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout.readline().strip() == "running"
    finally:
        proc.kill()  # the notebook dies; its trials go on on the cluster
        proc.wait()
    s = hl.Session.load("away", storage=runs, progress=False)
    assert "RUNNING" in [t.state.name for t in s.trials]  # they go on without the notebook
    assert "FAIL" not in [t.state.name for t in s.trials]  # their workers live: not stale
    wait_for(lambda: all(t.state.name == "COMPLETE" for t in s.trials), timeout=60)
    m = s.metrics()
    assert sorted(m.groupby("trial").size()) == [200, 200]  # loss and hyper_lr, 100 steps each
    assert all(t.user_attrs["pid"] != proc.pid for t in s.trials)


@pytest.mark.slow
def test_a_reconnected_notebook_can_prune_trials_its_predecessor_started(tmp_path, dask_client):
    script = tmp_path / "notebook.py"
    script.write_text(NOTEBOOK.replace('"steps", 100', '"steps", 100000'))
    runs = tmp_path / "runs"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(runs), dask_client.scheduler.address],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout.readline().strip() == "running"
    finally:
        proc.kill()
        proc.wait()
    s = hl.Session.load("away", storage=runs, progress=False)
    assert s.prune(0) and s.stop_trial(1)  # through the action log the workers read
    wait_for(lambda: all(t.state.name != "RUNNING" for t in s.trials), timeout=30)
    assert [t.state.name for t in s.trials] == ["PRUNED", "COMPLETE"]
    assert [t.user_attrs["end_reason"] for t in s.trials] == ["pruned by user", "stopped by user"]
    results = [a["result"] for a in s.store.read_actions("away") if a["kind"] != "start"]
    assert all(r.startswith("delivered to worker@") for r in results)


def test_a_task_that_cannot_load_the_session_fails_its_trial_with_the_reason(tmp_path, dask_client):
    from hpo_lab.executors._payload import delete_payload, token_key

    spec = resolve_storage(tmp_path / "runs")
    study = optuna.create_study(storage=spec.open_optuna(), study_name="gone")
    events = []
    ex = DaskExecutor(dask_client)
    ex.start(ExecutionContext(study, objectives.slow, TrialSettings(), events.append, "gone", spec))
    delete_payload(ex._store, token_key(ex._token))  # as if the notebook had cleaned up
    t = study.ask()
    out = ex.submit(TrialTask(t.number, t._trial_id)).result(timeout=60)
    assert out.state == "FAIL"
    assert out.reason.startswith("the Dask worker could not run it: RuntimeError: the session's")
    assert study.trials[0].state.name == "FAIL"
    assert study.trials[0].user_attrs["fail_reason"] == out.reason
    assert [type(e).__name__ for e in events] == ["TrialFinished"]
    ex.shutdown()
