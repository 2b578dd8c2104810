"""The pure view functions: what each view would draw for a known model (no rendering)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hpo_lab.dashboard import DashboardModel, curves_data, history_data, params_data
from hpo_lab.dashboard import _style as st
from hpo_lab.dashboard._rows import table_columns, table_rows
from hpo_lab.events import MetricsReported, TrialFinished

from .conftest import curve_events


def test_curves_group_finished_trials_and_give_running_ones_a_trace(model) -> None:
    data = curves_data(model, "loss", chunk=2)
    keys = [t.key for t in data.traces]
    assert data.series == "loss" and data.series_names == ("loss", "acc")
    assert data.counts == {"COMPLETE": 3, "PRUNED": 2, "FAIL": 1, "RUNNING": 2}
    # complete 0, 1 | 3 ; pruned 2 | 5 ; failed 4 (chunks of 2 by trial number)
    assert [k for k in keys if ":" in k and not k.startswith(("run", "legend"))] == [
        "PRUNED:1",
        "PRUNED:2",
        "FAIL:2",
        "COMPLETE:0",
        "COMPLETE:1",
    ]
    assert [t.key for t in data.live] == ["run:6", "run:7", "heads"]  # on their own subplot
    assert {"fail-marks", "best"} <= set(keys)
    assert [k for k in keys if k.startswith("legend")] == [
        "legend:RUNNING",
        "legend:COMPLETE",
        "legend:PRUNED",
        "legend:FAIL",
        "legend:best",
    ]
    layers = [t.layer for t in data.traces]
    assert layers == sorted(layers)  # specs come bottom to top

    by_key = {t.key: t for t in data.traces + data.live}
    chunk = by_key["COMPLETE:0"]
    x, y = chunk.props["x"], chunk.props["y"]
    assert len(x) == 2 * 10 + 2 and np.isnan(x[10]) and np.isnan(y[-1])  # NaN between curves
    assert chunk.props["customdata"].dtype == np.float64  # 1-D numbers: sent in binary
    assert chunk.numbers[0] == 0 and chunk.numbers[11] == 1 and np.isnan(chunk.numbers[10])
    assert by_key["best"].numbers == 0 and by_key["best"].props["y"][-1] == pytest.approx(0.1)
    assert by_key["heads"].props["x"].tolist() == [3.0, 3.0]  # latest step of each runner
    assert by_key["fail-marks"].props["x"].tolist() == [9.0]
    assert "lr = 0.0001" in by_key["run:7"].props["hovertemplate"]  # params in running hover
    assert by_key["legend:COMPLETE"].props["name"] == "complete"
    # chunks (curves of 10 points and a NaN after each) and the best, not the running ones
    assert data.n_points == 6 * 11 + 10
    assert data.message is None


def test_curves_of_another_series_the_selection_and_log_scale(model) -> None:
    data = curves_data(model, "acc", selected=4, log_y=True)
    by_key = {t.key: t for t in data.traces}
    assert data.series == "acc" and data.log_y
    assert by_key["selected"].numbers == 4 and "failed" in by_key["selected"].props["hovertemplate"]
    assert "legend:selected" in by_key
    assert curves_data(model, "nothing").message == "No trial reported 'nothing'"
    empty = curves_data(DashboardModel("e", ["minimize"]))
    assert empty.series is None and empty.traces == () and "No values reported" in empty.message


def test_curves_are_downsampled_and_the_cache_changes_nothing(model) -> None:
    model.apply(curve_events(6, 5_000, t0=100.0))
    data = curves_data(model, "loss", max_points=50)
    run = next(t for t in data.live if t.key == "run:6")
    assert len(run.props["x"]) <= 50 and run.props["x"][-1] == 4_999
    cache: dict = {}
    first = curves_data(model, "loss", chunk=2, cache=cache)
    again = curves_data(model, "loss", chunk=2, cache=cache)
    plain = curves_data(model, "loss", chunk=2)
    for a, b, c in zip(
        first.traces + first.live, again.traces + again.live, plain.traces + plain.live
    ):
        assert a.key == b.key == c.key and a.token == b.token == c.token
    assert again.traces[0] is first.traces[0]  # the finished trials' traces: reused, not rebuilt
    model.apply(curve_events(6, 5_001, t0=10_000.0)[-1:])  # a running trial reports
    assert curves_data(model, "loss", chunk=2, cache=cache).traces[0] is first.traces[0]
    with pytest.raises(ValueError, match="max_points"):
        curves_data(model, max_points=2)
    with pytest.raises(ValueError, match="chunk must be a positive int"):
        curves_data(model, chunk=0)


def test_many_finished_curves_share_a_points_budget() -> None:
    m = DashboardModel("many", ["minimize"], metric="loss")
    events: list = []
    for n in range(100):
        events += curve_events(n, 300, t0=float(n))
        events.append(TrialFinished(n, "COMPLETE", (1.0 / (n + 1),)))
    m.apply(events)
    data = curves_data(m, "loss", max_points=200, budget=1_000, chunk=50)
    chunks = [t for t in data.traces if t.key.startswith("COMPLETE:")]
    lengths = {len(t.props["x"]) for t in chunks}
    assert lengths == {50 * (8 + 1)}  # 1,000 points for 100 curves: 8 each (and a gap)
    best = next(t for t in data.traces if t.key == "best")
    assert 100 < len(best.props["x"]) <= 200  # the best (and selected, running) keep max_points
    roomy = curves_data(m, "loss", budget=100_000, chunk=50).traces[0].props["x"].size
    assert roomy == 50 * (152 + 1)  # with room, each finished curve gets max_points too
    with pytest.raises(ValueError, match="budget must be an int of at least 100"):
        curves_data(m, budget=10)


def test_chunk_tokens_change_only_with_their_trials(model) -> None:
    def tokens():
        data = curves_data(model, "loss", chunk=2)
        return {t.key: t.token for t in data.traces + data.live}

    before = tokens()
    model.apply([*curve_events(7, 6, t0=200.0), TrialFinished(7, "COMPLETE", (0.05,))])
    after = tokens()
    assert "run:7" in before and "run:7" not in after
    assert after["COMPLETE:0"] == before["COMPLETE:0"]
    assert "COMPLETE:3" in after  # trial 7's new chunk
    assert after["run:6"] == before["run:6"]  # the other runner did not change


def test_history_has_best_so_far(model) -> None:
    data = history_data(model, selected=3)
    assert data.numbers.tolist() == [0, 1, 3]
    assert data.values.tolist() == [0.1, 0.3, 0.2]
    assert data.best_so_far.tolist() == [0.1, 0.1, 0.1]
    assert data.best == (0, 0.1)
    keys = [t.key for t in data.traces]
    assert keys == ["values", "best-so-far", "best", "selected"]
    line = next(t for t in data.traces if t.key == "best-so-far")
    assert line.props["x"][-1] == 7.0  # the line runs to the latest trial
    assert history_data(model, selected=2).traces[-1].key == "best"  # pruned: no point to ring
    assert history_data(DashboardModel("e", ["maximize"])).message == "No complete trial yet"


def test_history_leaves_infeasible_trials_out_of_the_best(model) -> None:
    plain = next(t for t in history_data(model).traces if t.key == "values")
    assert isinstance(plain.props["marker"]["color"], str)  # one colour while all are feasible
    model.set_infeasible({0})  # values 0.1 (trial 0), 0.3 (1), 0.2 (3)
    data = history_data(model)
    assert data.best == (3, 0.2)
    assert data.best_so_far.tolist() == [math.inf, 0.3, 0.2]
    line = next(t for t in data.traces if t.key == "best-so-far")
    assert line.props["x"].tolist() == [1.0, 3.0, 7.0]  # from the first feasible trial
    assert line.props["y"].tolist() == [0.3, 0.2, 0.2]
    values = next(t for t in data.traces if t.key == "values")
    ok, bad = st.STATE_COLORS["COMPLETE"], st.STATE_COLORS["FAIL"]
    assert values.props["marker"]["color"] == [bad, ok, ok]
    assert values.token != plain.token  # the figure redraws the colours
    model.set_infeasible({0, 1, 3})
    data = history_data(model)
    assert data.best is None and [t.key for t in data.traces] == ["values"]


def test_params_axes_per_kind(model) -> None:
    data = params_data(model, selected=1)
    assert data.numbers.tolist() == [0, 1, 3] and data.selected == 1 and data.best == 0
    lr, opt = data.axes
    assert (lr.name, lr.kind, lr.categories) == ("lr", "float", None)
    assert lr.values.tolist() == [0.1, 0.01, 0.0001]
    assert (opt.kind, opt.categories, opt.values.tolist()) == (
        "categorical",
        ("sgd", "adam"),
        [0.0, 1.0, 1.0],
    )
    assert params_data(model, selected=2).selected is None  # not complete: not shown
    assert params_data(DashboardModel("e", ["minimize"])).message == "No parameters suggested yet"


def test_table_columns_and_rows(model) -> None:
    keys = [c["key"] for c in table_columns(model)]
    assert keys == ["number", "state", "value", "p:lr", "p:opt", "last_step", "duration"]
    assert next(c for c in table_columns(model) if c["key"] == "p:opt")["type"] == "str"
    rows = {r["number"]: r for r in table_rows(model, [0, 4, 6, 999], now=50.0)}
    assert sorted(rows) == [0, 4, 6]
    assert rows[0]["value"] == 0.1 and rows[0]["p:lr"] == 0.1 and rows[0]["last_step"] == 9
    assert rows[4]["value"] is None and rows[4]["state"] == "FAIL"
    assert rows[6]["state"] == "RUNNING" and rows[6]["duration"] == 44.0
    assert all(math.isfinite(r["duration"]) for r in rows.values())


def test_a_diverging_trial_does_not_flatten_the_axes() -> None:
    """One trial whose loss explodes to 1e27 is left out of both value axes; without it the
    axes fit every curve (plotly's autorange)."""
    from hpo_lab.events import TrialStarted

    def build(diverge: bool) -> DashboardModel:
        m = DashboardModel("diverge", ["minimize"], metric="loss")
        events: list = []
        for n in range(8):
            events += [TrialStarted(n), *curve_events(n, 10, scale=1.0 + 0.1 * n)]
            value = 1.0 / 10 * (1.0 + 0.1 * n)
            events.append(TrialFinished(n, "COMPLETE", (value,)))
        if diverge:
            blowup = [1e3**s for s in range(10)]  # up to 1e27
            events += [TrialStarted(8)]
            events += [MetricsReported(8, s, {"loss": v}) for s, v in enumerate(blowup)]
            events.append(TrialFinished(8, "COMPLETE", (blowup[-1],)))
        m.apply(events)
        return m

    calm = build(False)
    assert curves_data(calm).y_range is None
    assert history_data(calm).y_range is None

    wild = build(True)
    lo, hi = curves_data(wild).y_range
    highest_calm = max(1.0 + 0.1 * n for n in range(8))  # step 0 of the last calm trial
    assert hi >= highest_calm and hi < 2 * highest_calm
    assert lo <= 0.1 and lo > -0.5
    lo, hi = history_data(wild).y_range
    assert 0.17 <= hi < 1.0 and lo <= 0.1

    # On a log axis the range is in decades and leaves the blow-up out too.
    lo, hi = curves_data(wild, log_y=True).y_range
    assert hi < 1.0 and lo < math.log10(0.1)
