"""`executor="processes"`: spawned worker processes, notebook-defined objectives, GPU pinning,
controls, and a worker killed mid-trial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types

import pytest

import hpo_lab as hl
from hpo_lab.events import ControlApplied, MetricsReported, TrialFinished, TrialStarted
from hpo_lab.executors import ProcessExecutor, make_executor
from hpo_lab.storage._liveness import pid_alive
from tests.conftest import REPO, wait_for
from tests.executors import objectives


class Recorder:
    """Every event a session publishes, from its bus."""

    def __init__(self, session: hl.Session) -> None:
        self.events: list = []
        self._lock = threading.Lock()
        session.bus.subscribe(self._add, interval=0.01, name="test")

    def _add(self, batch) -> None:
        with self._lock:
            self.events.extend(batch)

    def of(self, cls) -> list:
        with self._lock:
            return [e for e in self.events if isinstance(e, cls)]


def test_make_executor_names():
    assert isinstance(make_executor("processes"), ProcessExecutor)
    with pytest.raises(ValueError, match="executor must be 'threads', 'processes'"):
        make_executor("gpus")
    with pytest.raises(ValueError, match="idle_timeout must be a positive number"):
        ProcessExecutor(idle_timeout=0)
    with pytest.raises(TypeError, match="env must map strings to strings"):
        ProcessExecutor(env={"OMP_NUM_THREADS": 1})


def test_a_closure_runs_in_spawned_processes_and_its_values_are_stored_once(storage_dir):
    scale = 3.0
    seen_in_parent = os.getpid()

    def objective(trial):  # a closure, as a notebook cell would define it
        x = trial.suggest_float("x", 0, 1)
        trial.set_user_attr("pid", os.getpid())
        trial.set_user_attr("omp", os.environ.get("OMP_NUM_THREADS"))
        for step in range(4):
            trial.report(step, loss=scale * x + step, **{"hyper/lr": x})
        return scale * x

    s = hl.Session(
        objective,
        storage=storage_dir,
        metric="loss",
        executor=ProcessExecutor(env={"OMP_NUM_THREADS": "1"}),
        n_workers=2,
        progress=False,
    )
    rec = Recorder(s)
    s.start(4)
    assert s.wait(timeout=120)
    trials = s.trials
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert all(t.value == pytest.approx(3.0 * t.params["x"]) for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert seen_in_parent not in pids and 1 <= len(pids) <= 2  # two processes, reused
    assert {t.user_attrs["omp"] for t in trials} == {"1"}
    m = s.metrics()
    assert len(m) == 4 * 4 * 2  # every value once: written by the workers, not again here
    assert set(m.name) == {"loss", "hyper/lr"}
    wait_for(lambda: len(rec.of(TrialFinished)) == 4)
    assert len(rec.of(MetricsReported)) == 16  # and streamed live to the notebook
    started = rec.of(TrialStarted)
    assert all(e.worker.startswith("worker@") and e.device == "cpu" for e in started)
    assert {int(e.worker.split(":")[1]) for e in started} == pids


def test_a_lambda_in_main_runs_like_a_notebook_cell(tmp_path):
    code = textwrap.dedent(
        f"""
        import hpo_lab as hl
        s = hl.Session(lambda t: t.suggest_float("x", 0, 1) ** 2, storage={str(tmp_path)!r},
                       executor="processes", n_workers=2, progress=False)
        s.start(3).wait()
        print([t.state.name for t in s.trials])
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "['COMPLETE', 'COMPLETE', 'COMPLETE']"


def test_each_gpu_process_sees_only_its_gpu(storage_dir, monkeypatch):
    def objective(trial):  # touches no GPU: it only looks
        trial.set_user_attr("visible", os.environ.get("CUDA_VISIBLE_DEVICES"))
        trial.set_user_attr("device", str(trial.device))
        return trial.suggest_float("x", 0, 1)

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")  # the notebook's own view: two GPUs
    s = hl.Session(
        objective,
        storage=storage_dir,
        executor="processes",
        device=["cuda:0", "cuda:1"],
        n_workers=2,
        progress=False,
    )
    rec = Recorder(s)
    s.start(2).wait(timeout=120)
    got = sorted((t.user_attrs["visible"], t.user_attrs["device"]) for t in s.trials)
    assert got == [("4", "cuda:0"), ("6", "cuda:0")]
    wait_for(lambda: len(rec.of(TrialStarted)) == 2)
    assert sorted(e.device for e in rec.of(TrialStarted)) == ["cuda:0", "cuda:1"]


def test_a_worker_killed_mid_trial_fails_only_its_trial(storage_dir):
    s = hl.Session(
        objectives.slow,
        storage=storage_dir,
        metric="loss",
        pruner="none",
        executor="processes",
        n_workers=2,
        progress=False,
    )
    s.study.set_user_attr("steps", 40)
    rec = Recorder(s)
    s.start(4)
    wait_for(lambda: sum(e.number == 0 for e in rec.of(MetricsReported)) >= 10, timeout=120)
    pid = s.trials[0].user_attrs["pid"]
    os.kill(pid, signal.SIGKILL)
    killed = time.time()
    assert s.wait(timeout=120)
    trials = s.trials
    assert trials[0].state.name == "FAIL"
    reason = trials[0].user_attrs["fail_reason"]
    assert reason.startswith("worker process died (killed by SIGKILL")
    assert [t.state.name for t in trials[1:]] == ["COMPLETE"] * 3  # the search went on
    fin = next(e for e in rec.of(TrialFinished) if e.number == 0)
    assert fin.state == "FAIL" and fin.reason == reason
    m = s.metrics(0)  # what the dead worker wrote more than 0.5 s before it died is kept
    due = [e.step for e in rec.of(MetricsReported) if e.number == 0 and e.time < killed - 0.5]
    assert set(due) <= set(m.index)
    later = [t.user_attrs["pid"] for t in trials[1:]]
    assert pid not in later  # a new process took the slot


def test_controls_reach_trials_in_worker_processes(storage_dir):
    s = hl.Session(
        objectives.slow,
        storage=storage_dir,
        metric="loss",
        pruner="none",
        executor="processes",
        n_workers=2,
        progress=False,
    )
    s.study.set_user_attr("steps", 1000)
    rec = Recorder(s)
    s.start(2)
    wait_for(lambda: {e.number for e in rec.of(MetricsReported)} == {0, 1}, timeout=120)
    s.pause()
    wait_for(lambda: len([e for e in rec.of(ControlApplied) if e.result == "applied"]) == 2)
    held = len(rec.of(MetricsReported))
    time.sleep(0.3)
    assert len(rec.of(MetricsReported)) <= held + 2  # held at their next report
    s.resume()
    wait_for(lambda: len(rec.of(MetricsReported)) > held + 4)
    assert s.prune(0) and s.stop_trial(1)
    assert s.wait(timeout=60)
    assert [t.state.name for t in s.trials] == ["PRUNED", "COMPLETE"]
    assert s.trials[0].user_attrs["end_reason"] == "pruned by user"
    applied = {(e.number, e.kind) for e in rec.of(ControlApplied) if e.result == "applied"}
    assert {(0, "prune"), (1, "stop"), (0, "pause"), (0, "resume")} <= applied


def test_objectives_that_cannot_travel_are_refused_at_start(storage_dir):
    lock = threading.Lock()

    def objective(trial):
        with lock:
            return 1.0

    s = hl.Session(objective, storage=storage_dir, executor="processes", progress=False)
    with pytest.raises(TypeError, match="cloudpickle cannot serialize it"):
        s.start(1)
    mem = hl.Session(objectives.slow, storage=":memory:", executor="processes", progress=False)
    with pytest.raises(ValueError, match="cannot see storage=':memory:'"):
        mem.start(1)


def test_a_worker_that_cannot_load_the_objective_fails_the_trial_with_the_reason(storage_dir):
    module = types.ModuleType("only_in_the_notebook")  # importable here, not in a new process
    exec("def objective(trial):\n    return 1.0\n", module.__dict__)
    sys.modules[module.__name__] = module
    try:
        s = hl.Session(module.objective, storage=storage_dir, executor="processes", progress=False)
        s.start(1).wait(timeout=120)
    finally:
        del sys.modules[module.__name__]
    t = s.trials[0]
    assert t.state.name == "FAIL"
    assert t.user_attrs["fail_reason"].startswith(
        "the worker process could not load the session: ModuleNotFoundError"
    )


NOTEBOOK = textwrap.dedent(  # a script with no `if __name__ == "__main__":` guard
    """
    import sys, time
    import hpo_lab as hl
    from tests.executors import objectives

    s = hl.Session(objectives.slow, name="orphans", storage=sys.argv[1], metric="loss",
                   pruner="none", executor="processes", n_workers=2, progress=False)
    s.study.set_user_attr("steps", 100)
    s.start(2)
    while s.metrics().trial.nunique() < 2:  # both trials under way in their processes
        time.sleep(0.05)
    print("running", flush=True)
    time.sleep(600)
    """
)


@pytest.mark.slow
def test_worker_processes_of_a_killed_notebook_finish_their_trial_and_exit(tmp_path):
    script = tmp_path / "notebook.py"
    script.write_text(NOTEBOOK)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout.readline().strip() == "running"
    finally:
        proc.kill()  # the notebook dies; its worker processes see their pipe close
        proc.wait()
    s = hl.Session.load("orphans", storage=tmp_path / "runs", progress=False)
    assert "RUNNING" in [t.state.name for t in s.trials]  # they go on without the notebook
    assert "FAIL" not in [t.state.name for t in s.trials]  # their workers live: not stale
    wait_for(lambda: all(t.state.name == "COMPLETE" for t in s.trials), timeout=60)
    assert sorted(s.metrics().groupby("trial").size()) == [200, 200]  # every value is there
    pids = [t.user_attrs["pid"] for t in s.trials]
    wait_for(lambda: not any(pid_alive(p) for p in pids), timeout=30)  # and then they exit
