"""The contract every executor must honour (see hpo_lab/executors/_base.py).

Add new executors to EXECUTORS; each test runs against all of them. Each entry names a factory
(given the test's ``request``, for fixtures such as a Dask cluster) and the storage kinds it is
tested on: ``"memory"`` (Optuna's InMemoryStorage, in-process executors only) or ``"folder"``
(a journal file and SQLite side tables that other processes open).
"""

from __future__ import annotations

import threading
import time

import optuna
import pytest

from hpo_lab.events import ControlApplied, MetricsReported, TrialFinished, TrialStarted
from hpo_lab.executors import (
    DaskExecutor,
    ExecutionContext,
    ProcessExecutor,
    ThreadExecutor,
    TrialTask,
)
from hpo_lab.storage import resolve_storage
from hpo_lab.trial import Prune, Stop, TrialSettings
from tests.conftest import wait_for
from tests.executors.objectives import conformance as objective

EXECUTORS = {
    "threads": (lambda request: ThreadExecutor(), ("memory", "folder")),
    "processes": (lambda request: ProcessExecutor(), ("folder",)),
    "dask": (lambda request: DaskExecutor(request.getfixturevalue("dask_client")), ("folder",)),
}


class Harness:
    def __init__(self, executor, folder=None, **attrs):
        spec = resolve_storage(":memory:" if folder is None else folder)
        self.study = optuna.create_study(storage=spec.open_optuna(), study_name="conformance")
        for k, v in attrs.items():
            self.study.set_user_attr(k, v)
        self.events = []
        self._lock = threading.Lock()
        self.executor = executor
        executor.start(
            ExecutionContext(
                self.study,
                objective,
                TrialSettings(metric="loss"),
                self.publish,
                study_name="conformance",
                storage=spec,
            )
        )

    def publish(self, e):
        with self._lock:
            self.events.append(e)

    def submit(self, n=1):
        futs = []
        for _ in range(n):
            t = self.study.ask()
            futs.append(self.executor.submit(TrialTask(t.number, t._trial_id, 0, "cpu")))
        return futs


@pytest.fixture(
    params=[(name, kind) for name, (_, kinds) in sorted(EXECUTORS.items()) for kind in kinds],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def make_harness(request, tmp_path):
    name, kind = request.param
    harnesses = []

    def make(**attrs):
        folder = None if kind == "memory" else tmp_path / f"runs{len(harnesses)}"
        h = Harness(EXECUTORS[name][0](request), folder, **attrs)
        harnesses.append(h)
        return h

    yield make
    for h in harnesses:
        h.executor.shutdown(wait=True)


class TestExecutorConformance:
    def test_submit_returns_at_once_and_completes(self, make_harness):
        h = make_harness(sleep=0.05)
        t0 = time.perf_counter()
        futs = h.submit(3)
        assert time.perf_counter() - t0 < 0.5
        outcomes = [f.result(timeout=30) for f in futs]
        assert [o.state for o in outcomes] == ["COMPLETE"] * 3
        assert all(t.state.name == "COMPLETE" for t in h.study.trials)
        assert [o.values[0] for o in outcomes] == [t.params["x"] for t in h.study.trials]

    def test_events_started_metrics_finished_in_order(self, make_harness):
        h = make_harness()
        h.submit(1)[0].result(timeout=30)
        kinds = [type(e).__name__ for e in h.events if type(e).__name__ != "ParamsSuggested"]
        assert kinds == [
            "TrialStarted",
            "MetricsReported",
            "MetricsReported",
            "MetricsReported",
            "TrialFinished",
        ]
        assert [e.step for e in h.events if isinstance(e, MetricsReported)] == [0, 1, 2]

    @pytest.mark.parametrize(
        "mode, reason",
        [("raise", "ValueError: objective broke"), ("nan", "non-finite"), ("oom", "out of memory")],
    )
    def test_failures_are_outcomes_not_exceptions(self, make_harness, mode, reason):
        h = make_harness(mode=mode)
        out = h.submit(1)[0].result(timeout=30)
        assert out.state == "FAIL" and reason in out.reason
        ft = h.study.trials[0]
        assert ft.state.name == "FAIL" and reason in ft.user_attrs["fail_reason"]
        assert len(ft.intermediate_values) == 3  # what was reported stays
        fin = [e for e in h.events if isinstance(e, TrialFinished)]
        assert fin[0].state == "FAIL" and reason in fin[0].reason
        if mode == "raise":
            assert "Traceback" in ft.user_attrs["traceback"]

    def test_send_prune_and_stop_reach_running_trials(self, make_harness):
        h = make_harness(steps=1000, sleep=0.01)
        f1, f2 = h.submit(2)
        wait_for(lambda: sum(isinstance(e, MetricsReported) for e in h.events) >= 4)
        assert sorted(h.executor.running()) == [0, 1]
        assert h.executor.send(0, Prune(source="test"))
        assert h.executor.send(1, Stop())
        o1, o2 = f1.result(timeout=30), f2.result(timeout=30)
        assert o1.state == "PRUNED" and o1.reason == "pruned by user"
        assert o2.state == "COMPLETE" and o2.reason == "stopped by user"
        assert (
            o2.values[0]
            == h.study.trials[1].intermediate_values[max(h.study.trials[1].intermediate_values)]
        )  # its last reported value
        applied = {(e.number, e.kind) for e in h.events if isinstance(e, ControlApplied)}
        assert applied == {(0, "prune"), (1, "stop")}
        assert h.executor.running() == []
        assert not h.executor.send(0, Prune())  # not running any more

    def test_started_event_carries_device_and_worker(self, make_harness):
        h = make_harness()
        h.submit(1)[0].result(timeout=30)
        started = next(e for e in h.events if isinstance(e, TrialStarted))
        assert started.device == "cpu" and started.worker

    def test_shutdown_waits_for_running_trials(self, make_harness):
        h = make_harness(steps=5, sleep=0.05)
        fut = h.submit(1)[0]
        h.executor.shutdown(wait=True)
        assert fut.done() and fut.result().state == "COMPLETE"
        with pytest.raises(RuntimeError):
            h.submit(1)
