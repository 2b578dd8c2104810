"""An executor whose workers persist their own metrics: the session must not write them again."""

from __future__ import annotations

import hpo_lab as hl
from hpo_lab.executors import ThreadExecutor
from hpo_lab.storage import MetricWriter, SideStore


class _Persisting(ThreadExecutor):
    """Threads that claim to persist metrics (and do not): what the session writes shows."""

    persists_metrics = True


def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    for step in range(4):
        trial.report(step, loss=x + step)
    return x


def test_the_session_writes_no_metric_when_its_executor_persists_them(storage_dir):
    seen = []
    s = hl.Session(objective, storage=storage_dir, executor=_Persisting(), progress=False)
    s.bus.subscribe(seen.extend, interval=0.01)
    s.start(2).wait()
    s.bus.flush()
    assert sum(type(e).__name__ == "MetricsReported" for e in seen) == 8  # the events flow
    assert s.metrics().empty  # but the session wrote none of them
    t = hl.Session(objective, storage=storage_dir / "b", progress=False)
    t.start(2).wait()
    assert len(t.metrics()) == 8  # the default executor's values are written by the session


def test_a_disabled_writer_subscribes_to_nothing():
    bus = hl.events.EventBus()
    w = MetricWriter(bus, SideStore("sqlite://"), "s", enabled=False)
    bus.publish(hl.MetricsReported(0, 0, {"loss": 1.0}))
    w.flush()
    w.close()
    assert w.written == 0 and w.backlog == 0 and bus._subs == ()
