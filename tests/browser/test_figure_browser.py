"""The dashboard figure's front end in real JupyterLab (``widgets/figure_view.js``): frames that
only move points are drawn without plotly's animate, exactly as plotly.js draws them itself, and
everything else still goes through plotly's animate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from .lab import Lab, Notebook
from .server import JupyterServer

pytestmark = pytest.mark.browser

SETUP = """\
import numpy as np
from hpo_lab.dashboard._figure import LiveFigure
from hpo_lab.dashboard._send import send_animate, send_restyle
from hpo_lab.dashboard._traces import Change

steps = np.arange(60, dtype=np.float64)
fig = LiveFigure(layout={"height": 340, "width": 640, "showlegend": False,
                         "margin": {"l": 40, "r": 10, "t": 10, "b": 30},
                         "xaxis": {"range": [0, 100]}, "yaxis": {"range": [0, 2.5]}})
fig.add_scatter(x=steps, y=1.5 + np.sin(steps / 9) / 4, mode="lines", name="finished",
                line={"color": "#999999", "width": 1})
fig.add_scatter(x=steps[:10], y=2 - steps[:10] / 40, mode="lines", name="trial 1",
                line={"color": "#d62728", "width": 2},
                hovertemplate="Trial 1 %{y:.3f}<extra></extra>")
fig.add_scatter(x=[np.nan], y=[np.nan], mode="lines", name="",
                line={"color": "#1f77b4", "width": 2}, hovertemplate="")
fig.add_scatter(x=[9.0], y=[2 - 9 / 40], mode="markers", name="latest", customdata=[1.0],
                marker={"size": 9, "symbol": "circle", "color": ["#d62728"],
                        "line": {"color": "#ffffff", "width": 1.5}},
                hovertemplate="<b>Trial %{customdata}</b> at step %{x}<extra></extra>")
fig.add_scatter(x=steps[:5], y=0.2 + steps[:5] / 100, mode="lines", fill="tozeroy",
                name="area", line={"color": "#2ca02c", "width": 1})
acks = []
fig.on_acknowledged(acks.append)

def frame(changes):
    send_animate(fig, [Change(fig.data[i], props, False, False, {}) for i, props in changes])

fig"""

# Everything plotly.js drew and computed for the traces, to compare a frame drawn by the view
# with the same figure redrawn by plotly.js from scratch.
DRAWN_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  const round = (v) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v);
  return {
    lines: [...gd.querySelectorAll('.scatterlayer .trace')].map((g) =>
      [...g.querySelectorAll('path.js-line, path.js-fill')].map((p) => [
        p.getAttribute('class'), p.getAttribute('d'), p.style.stroke, p.style.strokeWidth,
        p.style.fill,
      ])),
    points: [...gd.querySelectorAll('.scatterlayer .trace .point')].map((p) => [
      p.getAttribute('transform'), p.style.fill, p.style.stroke,
    ]),
    calc: gd.calcdata.map((cd) => cd.map((p) => [round(p.x), round(p.y), p.mc || null])),
    full: gd._fullData.map((t) => [t.name, t._length, t.line && t.line.color, t.hovertemplate]),
  };
}"""

COUNTERS_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  window.__hpoFig = {animated: 0, transitioning: 0};
  gd.on('plotly_animated', () => window.__hpoFig.animated++);
  gd.on('plotly_transitioning', () => window.__hpoFig.transitioning++);  // plotly's animate
  return true;
}"""


@pytest.fixture(scope="module")
def nb(module_lab: Lab, jupyter_server: JupyterServer) -> Iterator[Notebook]:
    jupyter_server.write_notebook("figure.ipynb", [SETUP])
    notebook = module_lab.open("figure.ipynb")
    notebook.run_all()
    notebook.wait_for(".js-plotly-plot .scatterlayer .trace")
    notebook.page.evaluate(COUNTERS_JS)
    yield notebook


def acknowledged(nb: Notebook, count: int, timeout: float = 20.0) -> None:
    """Waits until the kernel has ``count`` acknowledgements from the front end."""
    deadline = time.monotonic() + timeout
    while nb.evaluate("len(acks)") < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{nb.evaluate('len(acks)')} acknowledgements, not {count}")
        time.sleep(0.1)


def counters(nb: Notebook) -> dict[str, int]:
    return dict(nb.page.evaluate("() => window.__hpoFig"))


def hover(nb: Notebook, target: Any) -> str:
    """The text of plotly's hover label with the mouse on ``target`` (a locator)."""
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    nb.page.mouse.move(x - 20, y - 20)
    nb.page.mouse.move(x, y, steps=4)
    label = nb.page.locator(".js-plotly-plot .hoverlayer .hovertext").first
    label.wait_for(timeout=10_000)
    text = label.text_content() or ""
    nb.page.mouse.move(1, 1)
    return text


def redrawn_by_plotly(nb: Notebook) -> dict[str, Any]:
    """What plotly.js draws for the figure's data from scratch: after each restyle of points
    (here the finished curve's, changed and changed back), plotly.js supplies every default
    again and recomputes and redraws every trace."""
    acks = nb.evaluate("len(acks)")
    for x in ("steps[:-1]", "steps"):
        nb.execute(f"send_restyle(fig, [Change(fig.data[0], {{'x': {x}}}, False, False, {{}})])")
    acknowledged(nb, acks + 2)
    return nb.page.evaluate(DRAWN_JS)


def test_frames_that_move_points_are_drawn_without_plotlys_animate(nb: Notebook) -> None:
    """A running curve grows, a parked trace is taken by a second trial (new name, hover text
    and line colour; its unset custom data stays unset), the latest-point markers follow: drawn
    and acknowledged by the view."""
    before = counters(nb)
    acks = nb.evaluate("len(acks)")
    nb.execute("""\
frame([(1, {"x": steps[:30], "y": 2 - steps[:30] / 40}),
       (3, {"x": np.array([29.0]), "y": np.array([2 - 29 / 40])})])""")
    acknowledged(nb, acks + 1)
    nb.execute("""\
frame([(1, {"x": steps[:40], "y": 2 - steps[:40] / 40}),
       (2, {"x": steps[:8], "y": 1.2 - steps[:8] / 80, "name": "trial 2",
            "hovertemplate": "Trial 2 %{y:.3f}<extra></extra>", "customdata": None,
            "line": {"color": "#ff7f0e", "width": 2}}),
       (3, {"x": np.array([39.0, 7.0]), "y": np.array([2 - 39 / 40, 1.2 - 7 / 80]),
            "customdata": np.array([1.0, 2.0]),
            "marker": {"size": 9, "symbol": "circle", "color": ["#d62728", "#ff7f0e"],
                       "line": {"color": "#ffffff", "width": 1.5}}})])""")
    acknowledged(nb, acks + 2)
    after = counters(nb)
    assert after["animated"] - before["animated"] == 2
    assert after["transitioning"] == before["transitioning"]  # plotly's animate never ran
    drawn = nb.page.evaluate(DRAWN_JS)
    assert drawn["full"][2][:3] == ["trial 2", 8, "#ff7f0e"]
    assert len(drawn["calc"][1]) == 40 and drawn["calc"][3][1][2] == "#ff7f0e"
    assert len(drawn["points"]) == 2
    assert "Trial 2" in hover(nb, nb.page.locator(".js-plotly-plot .scatterlayer .point").nth(1))
    assert drawn == redrawn_by_plotly(nb)  # as plotly.js itself draws the same data


def test_other_frames_still_go_through_plotlys_animate(nb: Notebook) -> None:
    """A filled area is not moved by the view: plotly's animate draws it, and the view still
    acknowledges it."""
    before = counters(nb)
    acks = nb.evaluate("len(acks)")
    nb.execute('frame([(4, {"x": steps[:20], "y": 0.2 + steps[:20] / 100})])')
    acknowledged(nb, acks + 1)
    nb.page.wait_for_function(
        "(n) => window.__hpoFig.animated > n", arg=before["animated"], timeout=10_000
    )
    assert counters(nb)["transitioning"] > before["transitioning"]
    drawn = nb.page.evaluate(DRAWN_JS)
    assert len(drawn["calc"][4]) == 20
    assert drawn == redrawn_by_plotly(nb)
