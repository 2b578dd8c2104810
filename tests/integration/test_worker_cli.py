"""``hpo-lab worker``: workers added by hand run a session's trials from shared storage, write
everything they report, and obey the session's controls through the action log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import hpo_lab as hl
from hpo_lab.worker import WorkerError, load_objective, publish_objective, worker_spec
from tests.conftest import REPO, wait_for
from tests.executors import objectives


def start_worker(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "hpo_lab.cli", "worker", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def running_trial(s: hl.Session, number: int) -> bool:
    """Trial ``number`` runs on a worker and has reported at least twice."""
    trials = s.trials
    return (
        len(trials) > number
        and trials[number].state.name == "RUNNING"
        and trials[number].system_attrs.get("hpo_lab:worker", "").startswith("worker@")
        and len(s.metrics(number)) >= 4
    )


@pytest.mark.slow
def test_a_worker_runs_the_published_objective_and_obeys_the_session(storage_dir):
    shift = 10.0

    def objective(trial):  # a notebook cell's closure: published by value
        return objectives.slow(trial) + shift

    s = hl.Session(
        objective, name="by-hand", storage=storage_dir, metric="loss", pruner="none",
        progress=False,
    )  # fmt: skip
    s.study.set_user_attr("steps", 100_000)
    publish_objective(s)
    proc = start_worker("--storage", str(storage_dir), "--study", "by-hand", "--poll", "0.2")
    try:
        wait_for(lambda: running_trial(s, 0), timeout=60)
        assert s.prune(0)  # no channel to it: through the action log
        wait_for(lambda: s.trials[0].state.name == "PRUNED", timeout=10)
        assert s.trials[0].user_attrs["end_reason"] == "pruned by user"

        wait_for(lambda: running_trial(s, 1), timeout=30)
        assert s.stop_trial(1)
        wait_for(lambda: s.trials[1].state.name == "COMPLETE", timeout=10)
        assert s.trials[1].user_attrs["end_reason"] == "stopped by user"
        last = s.metrics(1)["loss"].iloc[-1]  # stored before the trial ended
        assert s.trials[1].value == pytest.approx(last)  # its last reported value

        wait_for(lambda: running_trial(s, 2), timeout=30)
        s.pause()
        time.sleep(1.0)  # the worker reads the log every 0.2 s and holds at the next report
        held = len(s.metrics(2))
        time.sleep(0.5)
        assert len(s.metrics(2)) == held
        s.resume()
        wait_for(lambda: len(s.metrics(2)) > held + 4, timeout=10)

        s.stop(cancel=True)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert [t.state.name for t in s.trials] == ["PRUNED", "COMPLETE", "PRUNED"]
    assert s.trials[2].user_attrs["end_reason"] == "cancelled: session stopped"
    lines = out.splitlines()
    assert lines[0].startswith("hpo-lab worker worker@") and "'by-hand'" in lines[0]
    assert lines[1:4] == [
        "trial 0 PRUNED: pruned by user",
        f"trial 1 COMPLETE: ({s.trials[1].value!r},)",
        "trial 2 PRUNED: cancelled: session stopped",
    ]
    delivered = [a["result"] for a in s.store.read_actions("by-hand") if a["trial"] is not None]
    assert len(delivered) == 2 and all(r.startswith("delivered to worker@") for r in delivered)


def test_a_worker_with_an_importable_objective_and_a_trial_budget(storage_dir):
    s = hl.Session(objectives.conformance, name="cli", storage=storage_dir, metric="loss",
                   progress=False)  # fmt: skip
    s.study.set_user_attr("steps", 3)
    proc = start_worker(
        "--storage", str(storage_dir), "--study", "cli", "--trials", "3",
        "--objective", "tests.executors.objectives:conformance",
    )  # fmt: skip
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert [t.state.name for t in s.trials] == ["COMPLETE"] * 3
    assert len(s.metrics()) == 3 * 3 * 2  # loss and extra, three steps each, written once
    assert sum(line.startswith("trial ") for line in out.splitlines()) == 3


def test_sigterm_ends_the_running_trial_and_the_worker(storage_dir):
    s = hl.Session(objectives.slow, name="term", storage=storage_dir, metric="loss",
                   pruner="none", progress=False)  # fmt: skip
    s.study.set_user_attr("steps", 100_000)
    proc = start_worker(
        "--storage", str(storage_dir), "--study", "term",
        "--objective", "tests.executors.objectives:slow",
    )  # fmt: skip
    try:
        wait_for(lambda: running_trial(s, 0), timeout=60)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0
    t = s.trials[0]
    assert t.state.name == "PRUNED" and t.user_attrs["end_reason"] == "worker stopped (SIGTERM)"


def test_what_a_worker_refuses(storage_dir, tmp_path):
    hl.Session(objectives.slow, name="here", storage=storage_dir, progress=False)
    with pytest.raises(WorkerError, match=r"no session named 'nope' .* sessions: 'here'"):
        worker_spec(storage_dir, "nope")
    with pytest.raises(WorkerError, match="has published no objective"):
        worker_spec(storage_dir, "here")
    with pytest.raises(WorkerError, match="must be 'module:function'"):
        load_objective("no_colon")
    with pytest.raises(WorkerError, match="cannot import 'no_such_module_here'"):
        load_objective("no_such_module_here:f")
    script = tmp_path / "obj.py"
    script.write_text("def objective(trial):\n    return 1.0\n")
    assert load_objective(f"{script}:objective")(None) == 1.0
    with pytest.raises(WorkerError, match="has no function 'other'"):
        load_objective(f"{script}:other")
    proc = start_worker("--storage", str(storage_dir), "--study", "here", "--trials", "0")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "--trials must be >= 1" in err
