import os
import subprocess
import sys
import time

import optuna
from optuna.trial import TrialState

from hpo_lab.storage import SideStore, fail_stale_trials, this_worker
from hpo_lab.storage._liveness import STALE_REASON, WORKER_ATTR, is_stale, pid_alive


def test_pid_alive_sees_dead_and_zombie_processes():
    assert pid_alive(os.getpid())
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    time.sleep(0.5)  # exited but not reaped: a zombie
    assert not pid_alive(p.pid)
    p.wait()
    assert not pid_alive(p.pid)


def test_is_stale_rules():
    host = "h"
    alive = {"host": host, "pid": os.getpid(), "heartbeat": 100.0}
    assert not is_stale(alive, 0.0, now=120.0, grace=60, host=host)
    assert is_stale(alive, 0.0, now=200.0, grace=60, host=host)  # silent too long (pid reused)
    remote = {"host": "other", "pid": 1, "heartbeat": 100.0}
    assert not is_stale(remote, 0.0, now=150.0, grace=60, host=host)
    assert is_stale(remote, 0.0, now=161.0, grace=60, host=host)
    assert is_stale(None, 0.0, now=100.0, grace=60, host=host)
    assert not is_stale(None, 90.0, now=100.0, grace=60, host=host)


def test_trials_of_a_dead_process_fail_and_others_stay(tmp_path):
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage)
    store = SideStore("sqlite://")
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    store.upsert_worker("dead", os.uname().nodename, p.pid, time.time())
    mine = this_worker().worker_id
    store.upsert_worker(mine, os.uname().nodename, os.getpid(), time.time())
    t_dead, t_mine, _t_plain = study.ask(), study.ask(), study.ask()
    storage.set_trial_system_attr(t_dead._trial_id, WORKER_ATTR, "dead")
    storage.set_trial_system_attr(t_mine._trial_id, WORKER_ATTR, mine)
    seen = []
    failed = fail_stale_trials(study, store, on_failed=seen.append)
    assert failed == [t_dead.number]
    states = {t.number: t.state for t in study.trials}
    assert states == {0: TrialState.FAIL, 1: TrialState.RUNNING, 2: TrialState.RUNNING}
    assert study.trials[0].user_attrs["fail_reason"] == STALE_REASON
    assert seen[0].number == 0
