"""Replaying an action log reproduces an interactive session; silent trials are flagged."""

import threading
import time

import pytest

import hpo_lab as hl
from hpo_lab.events import TrialUnresponsive
from tests.conftest import wait_for
from tests.session.test_fork import forkable


def seeded(name, storage):
    return hl.Session(
        forkable,
        name=name,
        metric="loss",
        pruner="none",
        sampler="random",
        seed=7,
        storage=storage,
        progress=False,
        keep_checkpoints=10,
    )


def test_replay_reproduces_an_interactive_session(tmp_path):
    src = seeded("src", tmp_path / "a")
    src.start(3).wait()
    src.constrain("lr", low=0.01, high=0.1)
    src.start(2).wait()
    src.fork(1, {"width": 8}, step=4)
    src.wait()
    src.constrain("act", choices=["tanh"])
    src.relax("lr")
    src.start(2).wait()

    dst = seeded("dst", tmp_path / "b")
    rep = src.replay_actions(dst)
    assert rep.wait(60)
    assert dst.wait(60)
    assert [r[0] for r in rep.results] == [
        "start",
        "constrain",
        "start",
        "fork",
        "constrain",
        "relax",
        "start",
    ]
    assert all(r[2].startswith("applied") for r in rep.results), rep.results
    assert [t.params for t in dst.trials] == [t.params for t in src.trials]
    assert [t.state.name for t in dst.trials] == [t.state.name for t in src.trials]
    assert dst.trials[5].user_attrs["parent"] == 1 and dst.trials[5].user_attrs["fork_step"] == 4
    assert dst.constraints.describe() == src.constraints.describe()
    kinds = list(dst.actions().kind)
    assert kinds == list(src.actions().kind)
    assert set(dst.actions().source) == {"replay", "code"}


def test_replay_waits_for_a_trial_to_reach_the_step():
    gate = threading.Event()

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        for step in range(1000):
            trial.report(step, loss=x)
            time.sleep(0.002)
            if step >= 30 and gate.is_set():
                break
        return x

    src = hl.Session(
        obj,
        name="s1",
        metric="loss",
        pruner="none",
        storage=":memory:",
        progress=False,
        seed=1,
        sampler="random",
    )
    src.start(1)
    wait_for(lambda: (src._live.last_step(0) or 0) >= 20)
    src.prune(0)
    src.wait(30)
    at_step = src.actions().iloc[1].payload["_at"]["step"]
    dst = hl.Session(
        obj,
        name="s2",
        metric="loss",
        pruner="none",
        storage=":memory:",
        progress=False,
        seed=1,
        sampler="random",
    )
    rep = src.replay_actions(dst)
    assert rep.wait(30) and dst.wait(30)
    assert dst.trials[0].state.name == "PRUNED"
    assert max(dst.trials[0].intermediate_values) >= at_step


def test_replay_argument_errors():
    s = hl.Session(forkable, name="r", storage=":memory:", progress=False)
    with pytest.raises(TypeError, match="must be a Session"):
        s.replay_actions("other")
    with pytest.raises(ValueError, match="another session"):
        s.replay_actions(s)


def test_a_silent_trial_is_flagged_unresponsive_and_prune_waits_for_it():
    gate = threading.Event()

    def sleepy(trial):
        trial.report(0, loss=1.0)
        gate.wait(10)  # a long evaluation: no report for a while
        trial.report(1, loss=0.5)
        return 0.5

    s = hl.Session(
        sleepy,
        name="quiet",
        metric="loss",
        pruner="none",
        storage=":memory:",
        progress=False,
        unresponsive_after=0.3,
    )
    events = []
    s.bus.subscribe(events.extend, interval=0.02)
    s.start(1)
    wait_for(lambda: 0 in s.unresponsive(), timeout=5)
    wait_for(lambda: any(isinstance(e, TrialUnresponsive) for e in events), timeout=5)
    assert s.prune(0) is True  # delivered to the mailbox; applied at its next report
    assert s.trials[0].state.name == "RUNNING"
    gate.set()
    s.wait(10)
    assert s.trials[0].state.name == "PRUNED"
    assert 0 not in s.unresponsive()


def test_held_trials_are_not_unresponsive():
    def chatty(trial):
        for step in range(200):
            trial.report(step, loss=1.0)
            time.sleep(0.01)
        return 1.0

    s = hl.Session(
        chatty,
        name="held",
        metric="loss",
        pruner="none",
        storage=":memory:",
        progress=False,
        unresponsive_after=0.2,
    )
    s.start(1)
    wait_for(lambda: (s._live.last_step(0) or 0) > 2)
    s.pause()
    time.sleep(0.6)
    assert s.unresponsive() == {}
    s.stop(cancel=True)
    s.resume()
    s.wait(10)
