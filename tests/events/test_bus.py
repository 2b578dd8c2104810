import threading
import time

import pytest

from hpo_lab.events import EventBus, MetricsReported, SessionStateChanged
from tests.conftest import wait_for


def test_events_arrive_in_order_in_batches():
    bus = EventBus()
    batches = []
    sub = bus.subscribe(batches.append, interval=0.05, name="t")
    for i in range(100):
        bus.publish(MetricsReported(0, i, {"x": float(i)}))
    wait_for(lambda: sum(len(b) for b in batches) == 100)
    sub.close()
    steps = [e.step for b in batches for e in b]
    assert steps == list(range(100))
    assert len(batches) < 100  # coalesced


def test_events_from_many_threads_are_all_delivered():
    bus = EventBus()
    seen = []
    sub = bus.subscribe(seen.extend, interval=0.01)

    def work(k):
        for i in range(500):
            bus.publish(MetricsReported(k, i, {"x": 1.0}))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sub.flush()
    sub.close()
    assert len(seen) == 8 * 500
    for k in range(8):  # each publisher's events stay in order
        assert [e.step for e in seen if e.number == k] == list(range(500))


def test_slow_subscriber_does_not_slow_publishers_or_others():
    bus = EventBus()
    fast = []
    gate = threading.Event()

    def slow(batch):
        gate.wait(5)

    s1 = bus.subscribe(slow, interval=0.01, name="slow")
    s2 = bus.subscribe(fast.extend, interval=0.01, name="fast")
    t0 = time.perf_counter()
    for i in range(10_000):
        bus.publish(MetricsReported(0, i, {"x": 1.0}))
    publish_time = time.perf_counter() - t0
    wait_for(lambda: len(fast) == 10_000)
    assert publish_time < 1.0  # publishing never waits for the slow subscriber
    gate.set()
    s1.close()
    s2.close()


def test_failing_subscriber_is_logged_and_keeps_receiving(caplog):
    bus = EventBus()
    calls = []

    def bad(batch):
        calls.append(len(batch))
        raise RuntimeError("broken subscriber")

    sub = bus.subscribe(bad, interval=0.01)
    bus.publish(SessionStateChanged("running"))
    sub.flush()
    bus.publish(SessionStateChanged("finished"))
    sub.flush()
    sub.close()
    assert calls == [1, 1]
    assert "broken subscriber" in caplog.text


def test_close_from_inside_the_callback_does_not_deadlock():
    bus = EventBus()
    subs = []

    def cb(batch):
        subs[0].close()

    subs.append(bus.subscribe(cb, interval=0.01))
    bus.publish(SessionStateChanged("running"))
    done = threading.Event()
    threading.Thread(target=lambda: (bus.flush(), done.set()), daemon=True).start()
    assert done.wait(5)
    bus.publish(SessionStateChanged("finished"))  # no longer subscribed: nothing queued
    assert subs[0].pending == 0


def test_subscribe_rejects_bad_arguments():
    bus = EventBus()
    with pytest.raises(TypeError, match="callback"):
        bus.subscribe(42)
    with pytest.raises(ValueError, match="interval"):
        bus.subscribe(print, interval=0)
