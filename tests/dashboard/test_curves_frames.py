"""How the learning-curves figure's updates go out: a frame that only changes traces shown
already, within the axes drawn (running curves grew, a trial ended or started while others run),
is an animation without redraw (plotly.js redraws just those traces); anything else (new traces,
new ranges, the legend) is one restyle that redraws the figure."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from hpo_lab.dashboard import Changes, DashboardModel, PanelContext
from hpo_lab.dashboard._curves_panel import CurvesPanel
from hpo_lab.events import MetricsReported, TrialFinished, TrialStarted

from .conftest import make_session


class Messages:
    """Records what a figure sends to its front end, by kind."""

    def __init__(self, figure) -> None:
        self.sent: list[tuple[str, dict]] = []
        for kind in ("restyle", "animate", "update", "relayout", "addTraces", "moveTraces"):
            original = getattr(figure, f"_send_{kind}_msg")
            setattr(figure, f"_send_{kind}_msg", self._record(kind, original))

    def _record(self, kind, original):
        def send(*args, **kwargs):
            self.sent.append((kind, kwargs or {"args": args}))
            return original(*args, **kwargs)

        return send

    def kinds(self) -> list[str]:
        out, self.sent = [k for k, _ in self.sent], []
        return out


def build(n_finished: int = 3, running: tuple[int, ...] = (3,), n_workers: int = 1):
    """A curves panel over ``n_finished`` finished trials (30 steps each, COMPLETE) and the
    ``running`` ones (5 steps so far), of a session that runs ``n_workers`` at once; returns
    the model, panel, recorder and flush calls."""
    model = DashboardModel("frames", ["minimize"], metric="loss")
    events = []
    for n in range(n_finished):
        events += [TrialStarted(n)]
        events += [MetricsReported(n, s, {"loss": 1.0 / (s + 1) + n % 3}) for s in range(30)]
        events += [TrialFinished(n, "COMPLETE", (0.5 + n % 3,))]
    for n in running:
        events += [TrialStarted(n)]
        events += [MetricsReported(n, s, {"loss": 2.0 - s / 10}) for s in range(5)]
    model.apply(events)
    session = make_session(None, n_workers=n_workers)
    flushes = []
    context = PanelContext(
        session,
        {},
        lock=threading.RLock(),
        get_model=lambda: model,
        get_selected=lambda: None,
        select=lambda n: None,
        control=lambda action, **kw: True,
        refresh=lambda panel: None,
        flush=flushes.append,
    )
    panel = CurvesPanel(context)
    panel.build()
    panel.apply(panel.compute(model))
    return model, panel, Messages(panel.figure), flushes, session


@pytest.fixture
def rig():
    model, panel, messages, _, session = build()
    yield model, panel, messages
    session.close()


@pytest.fixture
def busy():
    """Ten finished trials, two running: trials end and start while others run."""
    model, panel, messages, flushes, session = build(10, (10, 11))
    yield model, panel, messages, flushes
    panel.close()
    session.close()


def frame(model, panel, events) -> None:
    model.apply(events)
    panel.apply(panel.compute(model))


def test_growing_curves_are_animated_without_redraw(rig):
    model, panel, messages = rig
    frame(model, panel, [MetricsReported(3, s, {"loss": 2.0 - s / 10}) for s in range(5, 9)])
    assert messages.sent and [k for k, _ in messages.sent] == ["animate"]
    ((_, msg),) = messages.sent
    assert msg["animation_opts"]["frame"]["redraw"] is False
    fig = panel.figure
    running = panel.live.trace("run:3")
    sent_to = {fig.data[i].name for i in msg["trace_indexes"]}
    assert {"trial 3", "latest"} <= sent_to
    # one trace of the history subplot goes along, or plotly.js clears that subplot
    assert any(fig.data[i].xaxis == "x2" for i in msg["trace_indexes"])
    assert all(set(style) <= {"x", "y", "customdata", "marker"} for style in msg["styles_data"])
    # the kernel's copy of the figure follows, as after a restyle
    np.testing.assert_allclose(running.x, np.arange(9.0))
    assert running.y[-1] == pytest.approx(2.0 - 0.8)


def test_points_past_the_drawn_axes_redraw_the_figure(rig):
    model, panel, messages = rig
    frame(model, panel, [MetricsReported(3, 40, {"loss": 1.0})])  # step 40 > 29, the x axis end
    assert messages.kinds() == ["update"]  # the new range and the points: one redraw
    x0, x1 = panel.figure.layout.xaxis.range  # room ahead for the running curve
    assert x0 == 0 and x1 == pytest.approx(50.0)
    frame(model, panel, [MetricsReported(3, 41, {"loss": 1.0})])  # the axes hold it now
    assert messages.kinds() == ["animate"]


def test_a_trial_that_ends_or_starts_redraws_the_figure(rig):
    model, panel, messages = rig
    frame(model, panel, [TrialFinished(3, "COMPLETE", (1.6,))])
    assert "animate" not in messages.kinds() and panel.live.keys == []
    assert panel.figure.layout.xaxis.autorange is True  # nothing grows: fit the curves
    frame(model, panel, [TrialStarted(4), MetricsReported(4, 0, {"loss": 1.5})])
    kinds = messages.kinds()
    assert kinds and "animate" not in kinds
    assert "run:4" in panel.live.keys


def test_a_new_value_range_redraws_the_figure(rig):
    model, panel, messages = rig
    frame(model, panel, [MetricsReported(3, 6, {"loss": 50.0})])  # far above every curve
    kinds = messages.kinds()
    assert kinds and "animate" not in kinds


def test_webgl_curves_are_never_animated(rig):
    model, panel, messages = rig
    panel.curves.gl = True  # an animation would clear the WebGL traces of the subplot
    frame(model, panel, [MetricsReported(3, 6, {"loss": 1.3})])
    kinds = messages.kinds()
    assert kinds and "animate" not in kinds


def test_a_trial_that_ends_while_others_run_is_animated(busy):
    model, panel, messages, flushes = busy
    fig = panel.figure
    n_traces = len(fig.data)
    legend = [(t.name, t.visible) for t in fig.data if t.showlegend]
    frame(model, panel, [TrialFinished(10, "COMPLETE", (1.6,))])
    (kind,) = messages.kinds()
    assert kind == "animate"  # its curve joins its chunk, its trace is parked: no redraw
    assert len(fig.data) == n_traces and sorted(panel.live.keys) == ["heads", "run:11"]
    (parked,) = [t for t in fig.data if t.name == "" and t.visible is True]
    assert list(map(np.isnan, parked.x)) == [True]  # a NaN point: nothing drawn, still visible
    chunk = panel.curves.trace("COMPLETE:0")
    assert 10 in set(np.asarray(chunk.customdata)[~np.isnan(chunk.customdata)].astype(int))
    history = panel.history.trace("values")
    assert 10 in set(np.asarray(history.x).astype(int))  # within the history's room ahead
    # the legend has no counts: it has nothing to change, and nothing is asked for later
    assert [(t.name, t.visible) for t in fig.data if t.showlegend] == legend
    assert flushes == [] and not panel.wants(Changes())


def test_a_trial_that_starts_while_others_run_takes_a_parked_trace(busy):
    model, panel, messages, _ = busy
    fig = panel.figure
    frame(model, panel, [TrialFinished(10, "COMPLETE", (1.6,))])
    messages.kinds()
    n_traces = len(fig.data)
    frame(model, panel, [TrialStarted(12), MetricsReported(12, 0, {"loss": 1.5})])
    ((kind, msg),) = messages.sent
    assert kind == "animate" and len(fig.data) == n_traces
    mine = panel.live.trace("run:12")
    assert mine.name == "trial 12" and mine.visible is True and list(mine.x) == [0.0]
    styles = dict(zip(msg["trace_indexes"], msg["styles_data"]))
    sent = styles[next(i for i, t in enumerate(fig.data) if t is mine)]
    assert {"x", "y", "name", "hovertemplate", "line"} <= set(sent)  # its own colour and hover
    assert "Trial 12" in sent["hovertemplate"]


def test_a_new_trace_redraws_the_figure_and_brings_the_legend(busy):
    model, panel, messages, _ = busy
    frame(model, panel, [TrialFinished(10, "COMPLETE", (1.6,))])
    messages.kinds()
    frame(model, panel, [TrialFinished(11, "FAIL", None)])  # the first failed curve: new traces
    kinds = messages.kinds()
    assert kinds and "animate" not in kinds
    names = {t.name for t in panel.figure.data if t.showlegend and t.visible is not False}
    assert {"complete", "failed"} <= names  # the new entry goes with the redraw


def test_the_first_trials_to_start_take_traces_reserved_before_the_figure_is_shown():
    model, panel, messages, _, session = build(6, running=(), n_workers=4)
    try:
        fig = panel.figure
        reserved = [t for t in fig.data if t.name == "" and t.visible is True]
        assert len(reserved) == 4 + 1  # a curve per worker, and the latest points' markers
        assert all(np.isnan(t.x).all() for t in reserved)
        n_traces = len(fig.data)
        events = []
        for n in (6, 7, 8, 9):
            events += [TrialStarted(n), MetricsReported(n, 0, {"loss": 1.2})]
        frame(model, panel, events)
        kinds = messages.kinds()
        assert "addTraces" not in kinds and "moveTraces" not in kinds
        # their steps lie within the steps the finished curves autoranged to: that axis keeps
        # autoranging; trial numbers 6 to 9 lie past the history's, which gets room ahead
        assert panel.figure.layout.xaxis.range is None
        assert panel.figure.layout.xaxis2.range == (0.0, 11.25)
        assert len(fig.data) == n_traces
        mine = {id(panel.live.trace(f"run:{n}")) for n in (6, 7, 8, 9)}
        assert mine <= {id(t) for t in reserved} and id(panel.live.trace("heads")) in {
            id(t) for t in reserved
        }
        # drawn over the finished curves, under the latest points
        order = [id(t) for t in fig.data]
        chunk = order.index(id(panel.curves.trace("COMPLETE:0")))
        heads = order.index(id(panel.live.trace("heads")))
        assert all(chunk < order.index(i) < heads for i in mine)
        frame(model, panel, [MetricsReported(n, 1, {"loss": 1.1}) for n in (6, 7, 8, 9)])
        assert messages.kinds() == ["animate"]
        # a fifth trial at once gets a trace of its own
        frame(model, panel, [TrialStarted(10), MetricsReported(10, 0, {"loss": 1.2})])
        assert "addTraces" in messages.kinds() and len(fig.data) == n_traces + 1
    finally:
        session.close()
