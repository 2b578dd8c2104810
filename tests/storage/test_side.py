"""Conformance tests every side-store database must pass (SQLite file and memory here;
PostgreSQL joins them where a server is available)."""

import math
import threading

import numpy as np
import pytest

from hpo_lab.storage import SideStore


@pytest.fixture(params=["file", "memory"])
def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'side.db'}" if request.param == "file" else "sqlite://"
    s = SideStore(url)
    yield s
    s.close()


class TestSideStore:
    def test_points_roundtrip_in_order(self, store):
        rows = [
            (t, n, float(s), s * 0.5 + t, 100.0 + s)
            for t in range(3)
            for n in ("a", "b")
            for s in range(4)
        ]
        assert store.append_points("st", rows) == len(rows)
        pts = store.read_points("st")
        assert len(pts) == len(rows)
        assert list(
            zip(
                pts.trial.tolist(),
                pts.name.tolist(),
                pts.step.tolist(),
                pts.value.tolist(),
                pts.time.tolist(),
            )
        ) == [(t, n, s, v, w) for t, n, s, v, w in rows]
        assert np.all(np.diff(pts.id) > 0)

    def test_filters_and_tail(self, store):
        store.append_points(
            "st", [(0, "a", 0, 1.0, 1.0), (1, "a", 0, 2.0, 1.0), (1, "b", 0, 3.0, 1.0)]
        )
        assert store.read_points("st", trials=[1]).value.tolist() == [2.0, 3.0]
        assert store.read_points("st", names=["b"]).value.tolist() == [3.0]
        last = store.read_points("st").id[-1]
        store.append_points("st", [(2, "a", 5, 4.0, 2.0)])
        tail = store.read_points("st", after_id=int(last))
        assert tail.trial.tolist() == [2] and tail.step.tolist() == [5.0]

    def test_studies_are_separate(self, store):
        store.append_points("one", [(0, "a", 0, 1.0, 1.0)])
        store.append_points("two", [(0, "a", 0, 2.0, 1.0)])
        assert store.read_points("one").value.tolist() == [1.0]
        assert store.series_names("two") == ["a"]
        store.delete_study("one")
        assert len(store.read_points("one")) == 0
        assert store.read_points("two").value.tolist() == [2.0]

    def test_nan_and_inf_survive(self, store):
        store.append_points("st", [(0, "a", 0, math.nan, 1.0), (0, "a", 1, math.inf, 1.0)])
        v = store.read_points("st").value
        assert math.isnan(v[0]) and v[1] == math.inf

    def test_last_steps(self, store):
        store.append_points(
            "st", [(0, "a", 3, 1.0, 1.0), (0, "b", 7, 1.0, 1.0), (2, "a", 1, 1.0, 1.0)]
        )
        assert store.last_steps("st") == {0: 7.0, 2: 1.0}

    def test_concurrent_writers_lose_nothing(self, store):
        def work(k):
            for i in range(50):
                store.append_points("st", [(k, f"m{j}", i, float(i), 1.0) for j in range(3)])

        threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(store.read_points("st")) == 6 * 50 * 3

    def test_action_log(self, store):
        a = store.append_action(
            "st", kind="prune", source="dashboard", payload={"x": 1}, result="requested", trial=3
        )
        store.append_action("st", kind="pause", source="code", payload={}, result="requested")
        store.update_action_result(a, "applied")
        log = store.read_actions("st")
        assert [r["kind"] for r in log] == ["prune", "pause"]
        assert log[0]["payload"] == {"x": 1} and log[0]["result"] == "applied"
        assert log[0]["trial"] == 3 and log[1]["trial"] is None

    def test_workers_and_heartbeats(self, store):
        store.upsert_worker("w1", "host", 123, 10.0)
        store.heartbeat("w1", when=50.0)
        w = store.read_workers()["w1"]
        assert (w["host"], w["pid"], w["heartbeat"]) == ("host", 123, 50.0)


def test_two_store_objects_share_one_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'side.db'}"
    a, b = SideStore(url), SideStore(url)
    a.append_points("st", [(0, "x", 0, 1.0, 1.0)])
    b.append_points("st", [(0, "x", 1, 2.0, 1.0)])  # the series id is shared, not duplicated
    assert a.read_points("st").value.tolist() == [1.0, 2.0]
    assert a.series_names("st") == ["x"]
