"""Hypergradient traces travel the same path as metrics: stored, reloadable, streamed."""

import pytest

import hpo_lab as hl
from hpo_lab.events import MetricsReported
from hpo_lab.examples.hd_digits import hd_objective


def objective(trial):
    return hd_objective(trial, epochs=2)


def test_traces_of_an_outer_search_are_stored_and_streamed(tmp_path):
    s = hl.Session(
        objective,
        name="hd",
        metric="val_loss",
        pruner="none",
        sampler="random",
        seed=0,
        n_workers=2,
        storage=tmp_path / "r",
        progress=False,
    )
    streamed = []
    s.bus.subscribe(streamed.extend, interval=0.02)
    s.start(3).wait()
    assert [t.state.name for t in s.trials] == ["COMPLETE"] * 3
    for t in s.trials:
        m = s.metrics(t.number)
        lr = m["hyper/lr"].dropna()
        assert lr.iloc[0] == pytest.approx(t.params["lr0"], rel=1e-6)  # starts at lr0 (float32)
        assert lr.nunique() > 1  # ... and moves with the hypergradient
        assert m["hypergrad/lr"].notna().sum() == len(lr)
    seen = {k for e in streamed if isinstance(e, MetricsReported) for k in e.values}
    assert {"hyper/lr", "hypergrad/lr", "train_loss", "val_loss"} <= seen
    again = hl.Session.load("hd", storage=tmp_path / "r")
    assert {"hyper/lr", "hypergrad/lr"} <= set(again.metrics(0).columns)
