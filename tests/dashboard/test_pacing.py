"""Frame pacing: a figure's next update waits for its front end's acknowledgement of the last,
unless the kernel's main thread (which receives acknowledgements) is busy."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from hpo_lab.dashboard import _pacing
from hpo_lab.dashboard._figure import LiveFigure
from hpo_lab.dashboard._pacing import MAX_INTERVAL, MIN_INTERVAL, PROBE_GRACE, FramePacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loop:
    """A kernel event loop that runs its callbacks only when told to (the main thread)."""

    def __init__(self) -> None:
        self.callbacks: list = []

    def add_callback(self, fn) -> None:
        self.callbacks.append(fn)

    def run(self) -> None:
        while self.callbacks:
            self.callbacks.pop(0)()


class Figure:
    """What the pacer uses of a LiveFigure: edit ids, acknowledgements, its comm."""

    def __init__(self, loop: Loop | None) -> None:
        self._last_layout_edit_id = 0
        self._acked: list = []
        self.comm = None if loop is None else SimpleNamespace(kernel=SimpleNamespace(io_loop=loop))

    def send(self) -> int:
        self._last_layout_edit_id += 1
        return self._last_layout_edit_id

    def on_acknowledged(self, callback) -> None:
        self._acked.append(callback)

    def ack(self, edit_id: int) -> None:
        for callback in self._acked:
            callback(edit_id)


@pytest.fixture
def rig():
    clock, loop = Clock(), Loop()
    figure = Figure(loop)
    ready_calls: list[float] = []
    pacer = FramePacer(figure, on_ready=lambda: ready_calls.append(clock.now), clock=clock)
    return SimpleNamespace(clock=clock, loop=loop, figure=figure, pacer=pacer, ready=ready_calls)


def send(rig) -> int:
    edit_id = rig.figure.send()
    rig.pacer.sent()
    return edit_id


def test_without_a_kernel_every_update_may_go():
    pacer = FramePacer(Figure(loop=None))
    pacer.sent()
    assert pacer.ready() and pacer.in_flight == 0


def test_waits_for_the_acknowledgement_then_calls_back(rig):
    edit_id = send(rig)
    assert not rig.pacer.ready() and rig.pacer.in_flight == 1
    rig.clock.now += 0.3
    rig.figure.ack(edit_id)
    assert rig.pacer.ready() and rig.pacer.in_flight == 0
    assert rig.ready == [rig.clock.now]
    assert rig.pacer.latency == pytest.approx(0.7 * MIN_INTERVAL + 0.3 * 0.3)


def test_a_later_acknowledgement_covers_earlier_updates(rig):
    first = send(rig)
    rig.clock.now += MAX_INTERVAL  # overdue: a second update went out unacknowledged
    assert rig.pacer.ready()
    second = send(rig)
    assert rig.pacer.in_flight == 2
    rig.figure.ack(second)
    assert rig.pacer.in_flight == 0 and len(rig.ready) == 1
    rig.figure.ack(first)  # late, and covered already: nothing happens
    assert len(rig.ready) == 1


def test_acknowledgements_of_other_edits_are_ignored(rig):
    edit_id = send(rig)
    rig.figure.ack(edit_id - 1)  # an edit sent before the pacer's, by someone else
    assert rig.pacer.in_flight == 1 and rig.ready == []


@pytest.fixture
def live(monkeypatch):
    """A real LiveFigure behind a pacer, as if a kernel were attached."""
    loop = Loop()
    monkeypatch.setattr(FramePacer, "_kernel", property(lambda self: SimpleNamespace(io_loop=loop)))
    figure = LiveFigure(data=[{"type": "scatter", "y": [1.0, 2.0]}])
    done: list[bool] = []
    return figure, FramePacer(figure, on_ready=lambda: done.append(True)), done


def test_a_delta_without_an_edit_id_acknowledges_nothing(live):
    figure, pacer, done = live
    figure.plotly_restyle({"name": ["a"]}, [0])
    pacer.sent()
    figure._js2py_widget_layoutDelta = {"layout_delta": {}}  # no id
    assert pacer.in_flight == 1 and done == []


def test_plotlys_own_trait_name_also_acknowledges(live):
    figure, pacer, done = live
    figure.plotly_restyle({"name": ["a"]}, [0])
    pacer.sent()
    figure._js2py_layoutDelta = {"layout_delta": {}, "layout_edit_id": figure._last_layout_edit_id}
    assert pacer.in_flight == 0 and done


def test_a_slow_browser_is_waited_for_while_the_main_thread_is_free(rig):
    send(rig)
    rig.clock.now += 5 * rig.pacer.interval
    assert not rig.pacer.ready()  # overdue: a probe of the main thread is posted
    assert len(rig.loop.callbacks) == 1
    rig.loop.run()  # the main thread is free: the browser is behind, keep waiting
    rig.clock.now += PROBE_GRACE * 2
    assert not rig.pacer.ready()
    rig.loop.run()
    rig.clock.now = rig.pacer._last_sent_at + MAX_INTERVAL
    assert rig.pacer.ready()  # a front end that went away does not stop the dashboard


def test_a_busy_main_thread_gets_updates_at_the_last_pace(rig):
    rig.pacer.latency = 0.4
    sent_at = []
    for _ in range(3):
        send(rig)
        sent_at.append(rig.clock.now)
        while not rig.pacer.ready():  # the main thread never runs the probe
            rig.clock.now += 0.01
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert all(0.5 <= g <= 0.5 + PROBE_GRACE + 0.02 for g in gaps), gaps
    assert len(rig.loop.callbacks) == 1  # one probe pending, not one per check
    rig.loop.run()
    rig.figure.ack(rig.figure._last_layout_edit_id)  # the cell ended: acknowledgements arrive
    assert rig.pacer.in_flight == 0 and rig.ready


def test_a_closed_event_loop_counts_as_busy(rig):
    def closed(_fn):
        raise RuntimeError("IOLoop is closing")

    rig.loop.add_callback = closed
    send(rig)
    rig.clock.now += rig.pacer.interval
    assert rig.pacer.ready()


def test_live_figure_edit_ids_are_acknowledged_through_its_front_end_name(live):
    """With plotly's real edit ids: a restyle, then the delta plotly's front end sends."""
    figure, pacer, done = live
    figure.plotly_restyle({"name": ["a"]}, [0])
    pacer.sent()
    assert pacer.in_flight == 1 and not pacer.ready()
    edit = {"trace_deltas": [], "trace_edit_id": figure._last_trace_edit_id}
    figure._js2py_traceDeltas = edit
    figure._js2py_widget_layoutDelta = {
        "layout_delta": {},
        "layout_edit_id": figure._last_layout_edit_id,
    }
    assert pacer.in_flight == 0 and done == [True] and pacer.ready()
    edits_done: list[bool] = []
    figure.on_edits_completed(lambda: edits_done.append(True))
    assert edits_done == [True]  # plotly's own bookkeeping agrees: nothing in process


def test_interval_is_clamped():
    pacer = FramePacer(Figure(loop=None))
    pacer.latency = 0.0
    assert pacer.interval == MIN_INTERVAL
    pacer.latency = 100.0
    assert pacer.interval == _pacing.MAX_INTERVAL


def test_the_figures_front_end_is_plotlys_with_a_lean_view():
    """The installed plotly's bundle is patched: if a release renamed what is patched, this
    fails (the dashboard would still work, with plotly's heavier acknowledgements)."""
    from hpo_lab.dashboard._assets import asset_path
    from hpo_lab.dashboard._figure import LEAN_ESM, VIEW_PATCH_FILE, lean_bundle

    assert LiveFigure.lean and LiveFigure()._esm == LEAN_ESM
    patch = asset_path(VIEW_PATCH_FILE).read_text(encoding="utf-8").strip().removesuffix(";")
    assert LEAN_ESM.count(patch) == 1
    assert LEAN_ESM.count("as FigureView") == 1  # the patch precedes the bundle's own export
    assert lean_bundle("export default {render() {}}") is None


def test_the_view_moves_the_properties_the_kernel_animates():
    """``widgets/figure_view.js`` draws an animation itself when it changes only what the
    kernel may animate (``ANIMATABLE``): the two lists must be the same."""
    import re

    from hpo_lab.dashboard._assets import asset_path
    from hpo_lab.dashboard._figure import VIEW_PATCH_FILE
    from hpo_lab.dashboard._send import ANIMATABLE

    text = asset_path(VIEW_PATCH_FILE).read_text(encoding="utf-8")
    found = re.search(r"var MOVABLE = \{(.*?)\};", text, re.S)
    assert found is not None
    assert set(re.findall(r"(\w+): true", found.group(1))) == set(ANIMATABLE)


def test_a_lean_front_ends_layout_delta_alone_completes_the_edit(live):
    """The lean front end sends no trace deltas: the layout delta acknowledges both parts."""
    figure, pacer, done = live
    figure.plotly_restyle({"name": ["a"]}, [0])
    pacer.sent()
    edits_done: list[bool] = []
    figure.on_edits_completed(lambda: edits_done.append(True))
    assert edits_done == []
    figure._js2py_widget_layoutDelta = {
        "layout_delta": {},
        "layout_edit_id": figure._last_layout_edit_id,
    }
    assert pacer.in_flight == 0 and done == [True] and edits_done == [True]
