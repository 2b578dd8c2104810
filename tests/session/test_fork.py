"""Fork: a child starts from the parent's checkpoint, with changed parameters and its lineage."""

import threading

import pytest
import torch

import hpo_lab as hl
from tests.conftest import wait_for

LOADED = {}
GATE = threading.Event()


def forkable(trial):
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    trial.suggest_int("width", 2, 8)
    trial.suggest_categorical("act", ["relu", "tanh"])
    torch.manual_seed(trial.number)
    model = torch.nn.Linear(4, 1)
    start = 0
    state = trial.load_checkpoint()
    if state is not None:
        LOADED[trial.number] = {k: v.clone() for k, v in state["model"].items()}
        model.load_state_dict(state["model"])
        start = state["epoch"] + 1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = torch.ones(8, 4), torch.zeros(8, 1)
    for epoch in range(start, 8):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        trial.report(epoch, loss=loss)
        trial.save_checkpoint({"model": model.state_dict(), "epoch": epoch})
        if trial.user_attrs.get("slow"):
            GATE.wait(0.05)
    with torch.no_grad():  # forked from the last epoch: nothing left to train
        return float(((model(x) - y) ** 2).mean())


def make(**kw):
    kw.setdefault("storage", "runs")
    return hl.Session(
        forkable,
        name=kw.pop("name", "fork"),
        metric="loss",
        pruner="none",
        progress=False,
        sampler="random",
        seed=0,
        keep_checkpoints=10,
        **kw,
    )


def test_child_starts_from_the_parents_checkpoint_at_the_fork_step():
    s = make()
    s.start(1).wait()
    parent = s.trials[0]
    child = s.fork(0, {"lr": 0.5}, step=3)
    assert s.wait(30)
    c = s.trials[child]
    assert c.state.name == "COMPLETE"
    assert c.params == {**parent.params, "lr": 0.5}
    assert c.user_attrs["parent"] == 0 and c.user_attrs["fork_step"] == 3
    expected = s.checkpoints.load(c.user_attrs["checkpoint"])["model"]
    assert set(LOADED[child]) == {"weight", "bias"}
    for k in expected:
        assert torch.equal(LOADED[child][k], expected[k])
    # the child continues from the fork step: its curve starts at step 4
    assert min(s.metrics(child).index) == 4 and max(s.metrics(child).index) == 7
    assert s.checkpoints.find(0, 3).pinned  # kept whatever the retention
    log = s.actions()
    row = log[log.kind == "fork"].iloc[0]
    assert (
        row.trial == 0 and row.payload["child"] == child and row.payload["overrides"] == {"lr": 0.5}
    )


def test_fork_latest_checkpoint_of_a_running_trial_and_stop_the_parent():
    s = make(name="fork2", n_workers=2)
    s.study.enqueue_trial({"lr": 0.01, "width": 3, "act": "relu"}, user_attrs={"slow": True})
    s.start(1)
    wait_for(lambda: len(s.checkpoints.list(0)) >= 2)
    child = s.fork(0, {"act": "tanh"}, stop_parent=True)
    assert s.wait(30)
    p, c = s.trials[0], s.trials[child]
    assert p.state.name == "COMPLETE" and p.user_attrs["end_reason"] == "stopped by user"
    assert c.params["act"] == "tanh" and c.state.name == "COMPLETE"
    assert c.user_attrs["fork_step"] >= 1


def test_fork_runs_beyond_the_budget_and_restarts_a_finished_session():
    s = make(name="fork3")
    s.start(2).wait()
    assert s.state == "finished"
    kids = [s.fork(0, {"width": 5}), s.fork(1, {"width": 6}, step=2)]
    assert s.wait(30)
    assert [s.trials[k].state.name for k in kids] == ["COMPLETE", "COMPLETE"]
    assert len(s.trials) == 4


@pytest.mark.parametrize(
    "overrides, exc, match",
    [
        ({"momentum": 0.9}, ValueError, r"no parameter 'momentum'; its parameters are \['act'"),
        ({"lr": 5.0}, ValueError, r"overrides\['lr'\]=5.0 is outside its range \[0.001, 1\]"),
        ({"width": 2.5}, TypeError, "must be an integer"),
        ({"width": "4"}, TypeError, "must be a number"),
        ({"act": "gelu"}, ValueError, "is not one of its choices"),
        ([("lr", 0.1)], TypeError, "overrides must be a dict"),
    ],
)
def test_bad_overrides(overrides, exc, match):
    s = make(name="bad")
    s.start(1).wait()
    with pytest.raises(exc, match=match):
        s.fork(0, overrides)
    assert len(s.trials) == 1  # nothing was created


def test_fork_errors_without_checkpoint_or_step():
    def no_ckpt(trial):
        return trial.suggest_float("x", 0, 1)

    s = hl.Session(no_ckpt, name="nock", storage="runs", progress=False)
    s.start(1).wait()
    with pytest.raises(ValueError, match=r"trial 0 has no checkpoint; call trial\.save_checkpoint"):
        s.fork(0, {"x": 0.5})
    s2 = make(name="step")
    s2.start(1).wait()
    with pytest.raises(ValueError, match=r"no checkpoint at step 42; kept steps: \[0, 1"):
        s2.fork(0, step=42)
    with pytest.raises(ValueError, match="no trial 9"):
        s2.fork(9)


def test_fork_of_a_trial_being_pruned_ends_in_a_defined_state():
    s = make(name="race", n_workers=2)
    s.study.enqueue_trial({"lr": 0.01, "width": 3, "act": "relu"}, user_attrs={"slow": True})
    s.start(1)
    wait_for(lambda: len(s.checkpoints.list(0)) >= 1)
    s.prune(0)
    child = s.fork(0, {"lr": 0.02})  # the parent may end first: its checkpoint is still there
    assert s.wait(30)
    assert s.trials[0].state.name == "PRUNED"
    assert s.trials[child].state.name == "COMPLETE"
    assert s.trials[child].user_attrs["parent"] == 0


def test_trial_side_lineage_properties():
    seen = {}

    def obj(trial):
        seen[trial.number] = (trial.parent, trial.fork_step)
        return forkable(trial)

    s = hl.Session(obj, name="lin", storage="runs", metric="loss", pruner="none", progress=False)
    s.start(1).wait()
    c = s.fork(0, step=5)
    s.wait(30)
    assert seen == {0: (None, None), c: (0, 5)}


def test_save_checkpoint_needs_a_step():
    def early(trial):
        trial.save_checkpoint({"x": torch.ones(1)})

    s = hl.Session(early, name="early", storage="runs", progress=False)
    s.start(1).wait()
    assert "save_checkpoint needs step=" in s.trials[0].user_attrs["fail_reason"]
