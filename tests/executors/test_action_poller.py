"""Controls for trials of other hpo_lab workers: posted to the action log, read at a bounded
rate."""

from __future__ import annotations

import time

import pytest

import hpo_lab as hl
from hpo_lab.executors._action_poller import ActionPoller, trial_control
from hpo_lab.storage._liveness import WORKER_ATTR
from hpo_lab.trial import Prune, Stop
from tests.conftest import wait_for


def _running_elsewhere(session: hl.Session, owner: str | None) -> int:
    """A RUNNING trial of ``session`` that another process runs (or plain Optuna, for None)."""
    t = session.study.ask()
    if owner is not None:
        session.study._storage.set_trial_system_attr(t._trial_id, WORKER_ATTR, owner)
    return t.number


def test_a_session_posts_controls_for_other_workers_trials_and_a_poller_reads_them(storage_dir):
    s = hl.Session(lambda t: 0.0, name="posted", storage=storage_dir, progress=False)
    got = []
    poller = ActionPoller(s.store, "posted", got.append, interval=0.05)
    old = _running_elsewhere(s, "worker@far:1:a")
    assert s.prune(old) is True
    n = _running_elsewhere(s, "worker@far:1:a")
    assert s.stop_trial(n) is True
    wait_for(lambda: len(got) == 2)
    assert [(a["kind"], a["trial"], a["result"]) for a in got] == [
        ("prune", old, "posted for worker@far:1:a"),
        ("stop_trial", n, "posted for worker@far:1:a"),
    ]
    assert [trial_control(a) for a in got] == [(old, Prune()), (n, Stop())]
    plain = _running_elsewhere(s, None)
    with pytest.raises(ValueError, match="running outside hpo_lab"):
        s.prune(plain)
    poller.stop()


def test_only_actions_made_after_the_poller_are_handed_over(storage_dir):
    s = hl.Session(lambda t: 0.0, name="late", storage=storage_dir, progress=False)
    s.pause()
    got = []
    poller = ActionPoller(s.store, "late", got.append, interval=60)
    assert poller.poll() == 0
    s.resume()
    assert poller.poll() == 1 and got[0]["kind"] == "resume"
    assert isinstance(got[0]["payload"], dict)  # decoded
    assert trial_control(got[0]) is None  # a session-wide control, not one trial's
    poller.stop()


def test_polling_is_bounded_and_pauses_while_inactive(storage_dir):
    store = hl.Session(lambda t: 0.0, name="rate", storage=storage_dir, progress=False).store
    active = [True]
    poller = ActionPoller(store, "rate", lambda a: None, interval=0.1, active=lambda: active[0])
    time.sleep(1.0)
    assert 5 <= poller.polls <= 11  # one query per interval, however many reports happen
    active[0] = False
    before = poller.polls
    time.sleep(0.5)
    assert poller.polls == before
    poller.stop()
    with pytest.raises(ValueError, match="interval must be a positive number"):
        ActionPoller(store, "rate", lambda a: None, interval=0)


def test_failing_handlers_do_not_stop_the_poller(storage_dir, caplog):
    s = hl.Session(lambda t: 0.0, name="boom", storage=storage_dir, progress=False)
    seen = []

    def handler(action):
        seen.append(action["kind"])
        if action["kind"] == "pause":
            raise RuntimeError("handler broke")

    poller = ActionPoller(s.store, "boom", handler, interval=60)
    s.pause()
    s.resume()
    assert poller.poll() == 2 and seen == ["pause", "resume"]
    assert "could not apply action" in caplog.text
    poller.stop()
