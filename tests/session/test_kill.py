"""SIGKILL the process mid-search, reload in another: completed trials and every metric reported
more than 0.5 s before the kill are there; trials that were running are FAIL ("stale: process
died"); new trials continue."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import hpo_lab as hl
from tests.conftest import REPO

CHILD = textwrap.dedent(
    """
    import sys, threading, time
    import hpo_lab as hl
    from hpo_lab.events import TrialFinished

    LOCK = threading.Lock()

    def say(line):
        with LOCK:  # whole lines only: two trial threads print at once
            sys.stdout.write(line + chr(10))
            sys.stdout.flush()

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        steps = 15 if trial.number < 3 else 100_000
        for step in range(steps):
            trial.report(step, loss=x + step, acc=step * 0.5)
            say(f"R {trial.number} {step} {time.time()!r}")
            time.sleep(0.005)
        return x

    s = hl.Session(objective, name="killme", storage=sys.argv[1], metric="loss",
                   pruner="none", n_workers=2, progress=False)

    def on_events(batch):
        for e in batch:
            if isinstance(e, TrialFinished):
                say(f"FIN {e.number} {e.state}")

    s.bus.subscribe(on_events, interval=0.01)
    s.start(50)
    s.wait()
    """
)


def quick(trial):
    return trial.suggest_float("x", 0, 1)


@pytest.mark.slow
def test_sigkill_then_load(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "runs")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    reported, finished = [], set()
    t_first_long = None
    deadline = time.time() + 120
    for line in proc.stdout:
        parts = line.split()
        if parts[0] == "R":
            reported.append((int(parts[1]), int(parts[2]), float(parts[3])))
            if int(parts[1]) >= 3 and t_first_long is None:
                t_first_long = time.time()
        elif parts[0] == "FIN":
            finished.add(int(parts[1]))
        if len(finished) >= 3 and t_first_long and time.time() - t_first_long > 2.0:
            break
        assert time.time() < deadline, "the child did not get going"
    kill_time = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    s = hl.Session.load("killme", storage=tmp_path / "runs", objective=quick, progress=False)
    states = {t.number: t.state.name for t in s.trials}
    assert {n: states[n] for n in (0, 1, 2)} == {0: "COMPLETE", 1: "COMPLETE", 2: "COMPLETE"}
    running_then = [n for n, st in states.items() if n >= 3]
    assert running_then, "some trials were running when the process died"
    for n in running_then:
        assert states[n] == "FAIL"
        assert s.trials[n].user_attrs["fail_reason"] == "stale: process died"
    m = s.metrics()
    stored = set(zip(m[m.name == "loss"].trial, m[m.name == "loss"].step.astype(int)))
    due = [(n, step) for n, step, t in reported if t < kill_time - 0.5]
    assert len(due) > 100
    missing = [k for k in due if k not in stored]
    assert not missing, f"{len(missing)} values reported > 0.5 s before the kill are lost"
    s.start(2).wait()
    assert [t.state.name for t in s.trials[-2:]] == ["COMPLETE", "COMPLETE"]
