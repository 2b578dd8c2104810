"""Session: start, wait, pause/resume/stop, budget, results, reload."""

from __future__ import annotations

import threading
import time

import optuna
import pandas as pd
import pytest

import hpo_lab as hl
from hpo_lab.events import ControlApplied, SessionStateChanged, TrialFinished
from tests.conftest import wait_for


def quadratic(trial):
    x = trial.suggest_float("x", -5, 5)
    for step in range(5):
        trial.report(step, loss=(x - 1) ** 2 + 1 / (step + 1), acc=1 / (1 + abs(x)))
    return (x - 1) ** 2


def slow(trial):
    x = trial.suggest_float("x", 0, 1)
    for step in range(10_000):
        trial.report(step, loss=x + 1 / (step + 1))
        time.sleep(0.01)
    return x


def make(objective=quadratic, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("storage", "runs")
    kw.setdefault("sampler", "random")
    kw.setdefault("seed", 0)
    kw.setdefault("pruner", "none")
    return hl.Session(objective, **kw)


def test_start_returns_at_once_and_wait_finishes():
    s = make(slow, name="s", n_workers=2, metric="loss", pruner="none")
    t0 = time.perf_counter()
    assert s.start(n_trials=4) is s
    assert time.perf_counter() - t0 < 1.0
    assert s.state == "running"
    wait_for(lambda: len(s.running) == 2)
    s.stop(cancel=True)
    assert s.wait(timeout=30)
    assert s.state == "stopped"
    assert len(s.trials) == 2  # no new trials after stop
    assert {t.state.name for t in s.trials} == {"PRUNED"}
    assert all(t.user_attrs["end_reason"] == "cancelled: session stopped" for t in s.trials)


def test_budget_metrics_and_best():
    s = make(name="q", metric="loss", n_workers=3)
    s.start(n_trials=12).wait()
    assert s.state == "finished"
    assert len(s.trials) == 12 and all(t.state.name == "COMPLETE" for t in s.trials)
    best = min(s.trials, key=lambda t: t.value)
    assert s.best_trial.number == best.number and s.best_value == best.value
    assert s.best_params == best.params
    m = s.metrics(best.number)
    assert list(m.columns) == ["acc", "loss"] and list(m.index) == [0, 1, 2, 3, 4]
    assert m["loss"].iloc[-1] == pytest.approx(best.value + 0.2)
    long = s.metrics()
    assert set(long.columns) == {"trial", "name", "step", "value", "time"}
    assert len(long) == 12 * 5 * 2
    df = s.trials_dataframe()
    assert (df["last_step"] == 4).all() and len(df) == 12


def test_pruner_by_name_prunes_and_reasons_are_kept():
    def obj(trial):
        x = trial.suggest_float("x", 0, 10)
        for step in range(10):
            trial.report(step, loss=x)
        return x

    s = make(obj, name="p", metric="loss", pruner="median", seed=1)
    s.start(20).wait()
    pruned = [t for t in s.trials if t.state.name == "PRUNED"]
    assert pruned, "the median pruner should prune some of 20 trials of a constant loss"
    # the pruner's decisions need no reason: Optuna's record is the reason
    assert all("end_reason" not in t.user_attrs for t in pruned)
    assert all(t.value == t.intermediate_values[max(t.intermediate_values)] for t in pruned)


def test_pause_holds_running_trials_and_resume_continues():
    s = make(slow, name="pr", n_workers=2, metric="loss", pruner="none")
    s.start(n_trials=2)
    wait_for(lambda: len(s.running) == 2 and len(s.metrics()) > 4)
    s.pause()
    assert s.state == "paused"
    time.sleep(0.3)  # let both trials reach a report and stop there
    n1 = len(s.metrics())
    time.sleep(0.5)
    n2 = len(s.metrics())
    assert n2 == n1, "held trials must not report while paused"
    s.resume()
    wait_for(lambda: len(s.metrics()) > n2 + 4)
    s.stop(cancel=True)
    s.wait(30)
    kinds = [a for a in s.actions()["kind"]]
    assert kinds[:3] == ["start", "pause", "resume"] and kinds[-1] == "stop"


def test_pause_before_the_next_trial_starts_nothing_new():
    s = make(name="pn", n_workers=1)
    s.pause()
    s.start(n_trials=3)
    time.sleep(0.3)
    assert len(s.trials) == 0 and s.state == "paused"
    s.resume()
    assert s.wait(30) and len(s.trials) == 3


def test_add_trials_while_running_and_after():
    s = make(slow, name="add", metric="loss", pruner="none")
    s.start(n_trials=1)
    s.add_trials(1)
    wait_for(lambda: s.running == [0])
    s.stop_trial(0)
    wait_for(lambda: s.running == [1])
    s.stop_trial(1)
    assert s.wait(30) and len(s.trials) == 2
    s2 = make(name="add2")
    s2.start(2).wait()
    s2.add_trials(3)  # after the run ended: a new run
    assert s2.wait(30) and len(s2.trials) == 5


def test_set_workers_live():
    s = make(slow, name="w", metric="loss", pruner="none", n_workers=1)
    s.start(n_trials=3)
    wait_for(lambda: len(s.running) == 1)
    s.set_workers(3)
    wait_for(lambda: len(s.running) == 3)
    assert s.n_workers == 3
    s.stop(cancel=True)
    s.wait(30)


def test_prune_and_stop_trial_from_code():
    s = make(slow, name="ctl", metric="loss", pruner="none", n_workers=2)
    s.start(n_trials=2)
    wait_for(lambda: len(s.running) == 2 and len(s.metrics()) >= 6)
    a, b = s.running
    assert s.prune(a) is True
    assert s.stop_trial(b) is True
    assert s.wait(30)
    ta, tb = s.trials[a], s.trials[b]
    assert ta.state.name == "PRUNED" and ta.user_attrs["end_reason"] == "pruned by user"
    assert tb.state.name == "COMPLETE"
    assert tb.value == tb.intermediate_values[max(tb.intermediate_values)]
    with pytest.raises(ValueError, match="COMPLETE, not RUNNING"):
        s.prune(b)
    with pytest.raises(ValueError, match="no trial 99"):
        s.prune(99)
    with pytest.raises(TypeError, match="trial number must be an int"):
        s.prune("0")
    log = s.actions()
    assert list(log["kind"]) == ["start", "prune", "stop_trial"]
    assert list(log["trial"].iloc[1:]) == [a, b]


def test_adding_trials_after_the_run_records_who_asked():
    s = make(name="again")
    s.start(2, source="notebook").wait()
    s.add_trials(1, source="dashboard")  # the run has ended: this starts a new one
    assert s.wait(30)
    log = s.actions()
    assert list(zip(log["kind"], log["source"])) == [("start", "notebook"), ("start", "dashboard")]


def test_events_stream_to_subscribers():
    s = make(name="ev", n_workers=2)
    seen = []
    sub = s.bus.subscribe(seen.extend, interval=0.01)
    s.start(4).wait()
    sub.flush()
    finished = [e for e in seen if isinstance(e, TrialFinished)]
    assert sorted(e.number for e in finished) == [0, 1, 2, 3]
    states = [e.state for e in seen if isinstance(e, SessionStateChanged)]
    assert states == ["running", "finished"]
    assert any(isinstance(e, ControlApplied) and e.kind == "start" for e in seen)
    sub.close()


def test_load_in_a_new_session_object_sees_everything(storage_dir):
    s = make(name="reload", metric="loss", storage=storage_dir, directions=None)
    s.start(5).wait()
    s.close()
    loaded = hl.Session.load("reload", storage=storage_dir)
    assert loaded.metric == "loss" and loaded.directions == ["minimize"]
    assert len(loaded.trials) == 5
    pd.testing.assert_frame_equal(loaded.metrics(), s.metrics())
    with pytest.raises(RuntimeError, match="no objective"):
        loaded.start(1)
    again = hl.Session.load("reload", storage=storage_dir, objective=quadratic, progress=False)
    again.start(2).wait()
    assert len(again.trials) == 7


def test_same_name_resumes_the_same_study():
    make(name="same").start(2).wait()
    s = make(name="same")
    s.start(1).wait()
    assert len(s.trials) == 3


def test_plain_optuna_reads_the_study(storage_dir):
    s = make(name="compat", metric="loss", storage=storage_dir)
    s.start(3).wait()
    storage = optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(storage_dir / "journal.log"))
    )
    study = optuna.load_study(study_name="compat", storage=storage)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    assert study.trials[0].intermediate_values == s.trials[0].intermediate_values
    assert len(study.trials[0].intermediate_values) == 5
    assert study.trials[0].params == s.trials[0].params


def test_session_adopts_a_study_made_by_plain_optuna(storage_dir):
    storage = hl.Session(quadratic, name="tmp", storage=storage_dir, progress=False).study._storage
    study = optuna.create_study(study_name="plain", storage=storage, direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    s = hl.Session.load("plain", storage=storage_dir, objective=quadratic, progress=False)
    assert s.directions == ["maximize"] and len(s.trials) == 3
    assert s.metrics().empty


def test_repr_and_html():
    s = make(name="r", metric="loss")
    assert "name='r'" in repr(s) and "trials=0" in repr(s)
    s.start(2).wait()
    r = repr(s)
    assert "2 complete" in r and "best=" in r and "state='finished'" in r
    h = s._repr_html_()
    assert "<table>" in h and "best params" in h and "x=" in h


def test_multi_objective_with_named_objectives():
    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.report(0, err=1 - x, size=x)
        return {"size": x * 100, "err": 1 - x}

    s = make(obj, name="mo", directions={"err": "minimize", "size": "minimize"}, sampler="nsga2")
    s.start(8).wait()
    assert all(t.state.name == "COMPLETE" for t in s.trials)
    t = s.trials[0]
    assert t.values == [1 - t.params["x"], t.params["x"] * 100]
    assert s.study.metric_names == ["err", "size"]
    assert 1 <= len(s.best_trials) <= 8
    with pytest.raises(ValueError, match="best_trials"):
        _ = s.best_trial
    assert hl.Session.load("mo", storage="runs").objective_names == ["err", "size"]


@pytest.mark.parametrize("sampler", ["random", "qmc", "tpe", "gp", "cmaes"])
def test_every_single_objective_sampler_by_name(sampler):
    def obj(trial):
        return (trial.suggest_float("x", -3, 3) - 1) ** 2 + trial.suggest_float("y", -3, 3) ** 2

    s = make(obj, name=sampler, sampler=sampler, n_workers=2)
    s.start(6 if sampler == "gp" else 10).wait()
    assert all(t.state.name == "COMPLETE" for t in s.trials)


@pytest.mark.parametrize(
    "pruner", ["none", "median", "percentile", "sha", "asha", "hyperband", "wilcoxon"]
)
def test_every_pruner_by_name(pruner):
    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        for step in range(6):
            trial.report(step, loss=x * (step + 1))
        return x

    s = make(obj, name=pruner, metric="loss", pruner=pruner)
    s.start(8).wait()
    assert {t.state.name for t in s.trials} <= {"COMPLETE", "PRUNED"}


def test_wait_interrupted_leaves_trials_running():
    import _thread
    import signal

    # interrupt_main() does nothing where SIGINT is ignored: a notebook's kernel has Python's
    # own handler, and so must this test, whatever ran before it in the process.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        s = make(slow, name="ki", metric="loss", pruner="none")
        s.start(1)
        wait_for(lambda: len(s.running) == 1)
        threading.Timer(0.2, _thread.interrupt_main).start()
        with pytest.raises(KeyboardInterrupt):
            s.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    n = len(s.metrics())
    time.sleep(0.3)
    assert s.running == [0] and len(s.metrics()) > n  # still running, still reporting
    s.stop(cancel=True)
    s.wait(30)


def test_close_cancels_and_writes_everything():
    s = make(slow, name="close", metric="loss", pruner="none")
    s.start(1)
    wait_for(lambda: len(s.metrics()) > 3)
    s.close()
    assert s.trials[0].state.name == "PRUNED"
    assert len(s.metrics()) == len(s.trials[0].intermediate_values)


def _session_threads(s) -> dict[str, threading.Thread]:
    """The delivery threads of ``s``'s event stream, by name."""
    return {sub._thread.name: sub._thread for sub in s.bus._subs}


def test_close_stops_the_sessions_threads_and_keeps_its_results_readable():
    s = make(name="closing", metric="loss")
    s.start(3).wait()
    threads = _session_threads(s)
    assert {"hpo_lab-sub-writer", "hpo_lab-sub-live"} <= set(threads)
    assert all(t.is_alive() for t in threads.values())
    metrics = s.metrics()
    s.close()
    assert s.closed
    assert _session_threads(s) == {}
    assert not any(t.is_alive() for t in threads.values())
    pd.testing.assert_frame_equal(s.metrics(), metrics)  # still readable
    assert len(s.trials) == 3 and s.best_params is not None
    with pytest.raises(RuntimeError, match=r"closed.*hl\.Session\.load\('closing'"):
        s.start(1)
    with pytest.raises(RuntimeError, match="closed"):
        s.add_trials(1)
    with pytest.raises(RuntimeError, match="closed"):
        s.fork(0, {"x": 0.5})
    assert len(s.trials) == 3  # nothing was started
    s.close()  # twice is fine
    again = hl.Session.load("closing", storage="runs", objective=quadratic, progress=False)
    again.start(1).wait()
    assert len(again.trials) == 4
    again.close()


def test_close_shuts_down_the_executor_it_made_not_one_passed_in():
    from hpo_lab.executors import ProcessExecutor
    from tests.executors import objectives

    made = make(objectives.slow, name="made", metric="loss", executor="processes")
    made.start(1).wait(60)
    (proc,) = [w.process for w in made._executor._workers]
    made.close()
    proc.join(timeout=30)
    assert not proc.is_alive()

    mine = ProcessExecutor()
    given = make(objectives.slow, name="given", metric="loss", executor=mine)
    given.start(1).wait(60)
    (proc,) = [w.process for w in mine._workers]
    given.close()
    time.sleep(0.5)
    assert proc.is_alive()  # its owner decides
    mine.shutdown()
    proc.join(timeout=30)
    assert not proc.is_alive()


def test_close_with_a_trial_that_outlives_the_timeout_still_records_its_reports():
    release = threading.Event()

    def stuck(trial):
        trial.report(0, loss=1.0)
        release.wait(30)  # ignores the cancel until released: no report in between
        trial.report(1, loss=0.5)
        return 0.5

    s = make(stuck, name="stuck", metric="loss")
    s.start(1)
    wait_for(lambda: len(s.metrics()) == 1)
    s.close(timeout=0.3)
    assert s.closed and s.running == [0]
    assert _session_threads(s)["hpo_lab-sub-writer"].is_alive()  # still writing for the trial
    release.set()
    wait_for(lambda: not s.running, timeout=30)
    wait_for(lambda: len(s.metrics()) == 2)  # the late report is recorded
    assert s.trials[0].state.name == "PRUNED"  # the cancel took effect at that report
    writer = _session_threads(s)["hpo_lab-sub-writer"]
    s.close()  # now that it ended: the threads stop
    assert _session_threads(s) == {} and not writer.is_alive()
    assert list(s.actions().kind) == ["start", "stop", "close"]


@pytest.mark.filterwarnings("error::optuna.exceptions.ExperimentalWarning")
def test_named_objectives_raise_no_experimental_warning():
    s = hl.Session(
        lambda t: {"a": t.suggest_float("x", 0, 1), "b": 1.0},
        directions={"a": "minimize", "b": "maximize"},
        storage=":memory:",
        progress=False,
    )
    assert s.study.metric_names == ["a", "b"]
