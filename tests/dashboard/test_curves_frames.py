"""How the learning-curves figure's updates go out: a frame in which only running curves grew is
an animation without redraw (plotly.js redraws just those traces); anything else is one restyle
that redraws the figure."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from hpo_lab.dashboard import DashboardModel, PanelContext
from hpo_lab.dashboard._curves_panel import CurvesPanel
from hpo_lab.events import MetricsReported, TrialFinished, TrialStarted

from .conftest import make_session


class Messages:
    """Records what a figure sends to its front end, by kind."""

    def __init__(self, figure) -> None:
        self.sent: list[tuple[str, dict]] = []
        for kind in ("restyle", "animate", "update", "relayout"):
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


@pytest.fixture
def rig():
    model = DashboardModel("frames", ["minimize"], metric="loss")
    events = []
    for n in range(3):  # finished trials: 30 steps each
        events += [TrialStarted(n)]
        events += [MetricsReported(n, s, {"loss": 1.0 / (s + 1) + n}) for s in range(30)]
        events += [TrialFinished(n, "COMPLETE", (0.5 + n,))]
    events += [TrialStarted(3)] + [MetricsReported(3, s, {"loss": 2.0 - s / 10}) for s in range(5)]
    model.apply(events)
    session = make_session(None)
    context = PanelContext(
        session,
        {},
        lock=threading.RLock(),
        get_model=lambda: model,
        get_selected=lambda: None,
        select=lambda n: None,
        control=lambda action, **kw: True,
        refresh=lambda panel: None,
    )
    panel = CurvesPanel(context)
    panel.build()
    panel.apply(panel.compute(model))
    yield model, panel, Messages(panel.figure)
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
    assert all(set(style) <= {"x", "y", "customdata"} for style in msg["styles_data"])
    # the kernel's copy of the figure follows, as after a restyle
    np.testing.assert_allclose(running.x, np.arange(9.0))
    assert running.y[-1] == pytest.approx(2.0 - 0.8)


def test_points_past_the_drawn_axes_redraw_the_figure(rig):
    model, panel, messages = rig
    frame(model, panel, [MetricsReported(3, 40, {"loss": 1.0})])  # step 40 > 29, the x axis end
    assert "animate" not in messages.kinds()
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
