"""PostgreSQL as the shared storage of a Dask search: two LocalCluster workers and a worker added
by hand run one study; a worker killed mid-trial loses only that trial; nothing else is lost."""

from __future__ import annotations

import os
import signal

import pytest
import sqlalchemy as sa

import hpo_lab as hl
from hpo_lab.events import MetricsReported
from tests.conftest import wait_for
from tests.executors import objectives
from tests.executors.test_process import Recorder
from tests.integration.test_worker_cli import start_worker

pytest.importorskip("distributed")

#: Steps of 20 ms per trial: long enough that a trial seen three steps in is still running when
#: its worker is killed, even with reports reaching the notebook late on a loaded machine (at 10
#: steps, the whole trial could end first, and the kill hit an idle worker).
STEPS = 50


@pytest.mark.slow
def test_a_dask_search_on_postgresql_loses_no_trial_and_no_value(postgres_url, dask_client):
    s = hl.Session(
        objectives.slow, name="pg-dask", storage=postgres_url, metric="loss",
        pruner="none", executor=dask_client, n_workers=2, progress=False,
    )  # fmt: skip
    s.study.set_user_attr("steps", STEPS)
    rec = Recorder(s)
    by_hand = start_worker(
        "--storage", postgres_url, "--study", "pg-dask", "--trials", "3",
        "--objective", "tests.executors.objectives:slow",
    )  # fmt: skip
    s.start(8)
    victim: list[int] = []

    def a_session_trial_is_under_way() -> bool:  # (trial numbers interleave with the worker's)
        steps = [e.number for e in rec.of(MetricsReported) if e.number in s.running]
        early = [n for n in set(steps) if 3 <= steps.count(n) <= STEPS // 2]
        victim[:] = [n for n in early if n in s.running][:1]
        return bool(victim)

    wait_for(a_session_trial_is_under_way, timeout=60)
    os.kill(s.trials[victim[0]].user_attrs["pid"], signal.SIGKILL)  # a Dask worker dies
    assert s.wait(timeout=180)
    _, err = by_hand.communicate(timeout=120)
    assert by_hand.returncode == 0, err

    again = hl.Session.load("pg-dask", storage=postgres_url, progress=False)  # a new notebook
    states = [t.state.name for t in again.trials]
    assert len(states) == 11  # eight from the session, three from the worker added by hand
    failed = [t for t in again.trials if t.state.name == "FAIL"]
    assert [t.number for t in failed] == victim, states
    assert (
        failed[0]
        .user_attrs["fail_reason"]
        .startswith(("worker process lost while running it (worker@", "Dask worker died"))
    )
    assert states.count("COMPLETE") == 10
    workers = {t.system_attrs["hpo_lab:worker"] for t in again.trials}
    assert len(workers) >= 3 and all(w.startswith("worker@") for w in workers)

    m = again.metrics()
    assert m.groupby(["trial", "name", "step"]).size().max() == 1  # nothing written twice
    for t in again.trials:
        if t.state.name == "COMPLETE":  # every value of every completed trial is there
            mine = m[m.trial == t.number]
            assert sorted(mine[mine.name == "loss"].step) == list(range(STEPS))
            assert sorted(mine[mine.name == "hyper_lr"].step) == list(range(STEPS))
            assert dict(t.intermediate_values) == {
                int(r.step): pytest.approx(r.value) for r in mine[mine.name == "loss"].itertuples()
            }
    engine = sa.create_engine(postgres_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"studies", "trials", "hpo_lab_points", "hpo_lab_actions"} <= tables  # one database
