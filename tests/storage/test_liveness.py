import os
import subprocess
import sys
import time

import optuna
from optuna.trial import TrialState

from hpo_lab.storage import SideStore, fail_stale_trials, this_worker
from hpo_lab.storage._liveness import (
    STALE_REASON,
    WORKER_ATTR,
    become_worker_process,
    is_stale,
    pid_alive,
    stale_reason,
    worker_kind,
)


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


def test_a_dead_worker_process_is_named_in_the_reason():
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage)
    store = SideStore("sqlite://")
    host = os.uname().nodename
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    now = time.time()
    store.upsert_worker("worker@h:1:a", host, p.pid, now)  # a worker process, dead on this host
    store.upsert_worker("worker@far:2:b", "far-away", 2, now - 600)  # silent on another host
    store.heartbeat("worker@far:2:b", when=now - 600)
    store.upsert_worker("notebook", host, p.pid, now)  # a session's process
    owners = ["worker@h:1:a", "worker@far:2:b", "notebook"]
    for owner in owners:
        storage.set_trial_system_attr(study.ask()._trial_id, WORKER_ATTR, owner)
    assert fail_stale_trials(study, store) == [0, 1, 2]
    reasons = [t.user_attrs["fail_reason"] for t in study.trials]
    assert reasons[0] == "stale: worker process died (worker@h:1:a)"
    assert reasons[1].startswith("stale: worker process lost (worker@far:2:b, no heartbeat for 6")
    assert reasons[2] == STALE_REASON


def test_become_worker_process_gives_a_worker_id(monkeypatch):
    from hpo_lab.storage import _liveness

    before = this_worker()
    assert worker_kind(before.worker_id) == "session"
    monkeypatch.setattr(_liveness, "_kind", "session")
    try:
        ident = become_worker_process()
        assert ident.worker_id.startswith("worker@") and ident.kind == "worker"
        assert this_worker() is ident and worker_kind(ident.worker_id) == "worker"
        assert stale_reason(ident.worker_id, None, now=0.0, host="h").startswith(
            "stale: worker process died"
        )
    finally:
        _liveness._kind = "session"
        _liveness._identity = before  # this test process keeps its identity
    assert this_worker() is before
