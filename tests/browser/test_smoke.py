"""The harness itself: a Label, a FigureWidget and a background thread render in real JupyterLab."""

from __future__ import annotations

import sys

import pytest

from .lab import Lab, Notebook
from .server import JupyterServer

pytestmark = pytest.mark.browser

CELLS = [
    """\
import sys, threading, time
import ipywidgets as widgets
import plotly.graph_objects as go

label = widgets.Label("hello from hpo_lab")
label.add_class("smoke-label")
label""",
    """\
fig = go.FigureWidget(
    go.Scatter(x=[0, 1, 2, 3], y=[0, 1, 4, 9], mode="lines+markers"),
    layout={"title": {"text": "step 0"}, "height": 300, "margin": {"t": 40, "b": 30}},
)
fig""",
    """\
ticker = widgets.Label("tick 0")
ticker.add_class("smoke-ticker")
stop = threading.Event()

def pump():
    for i in range(1, 600):  # 60 s at most
        if stop.wait(0.1):
            return
        ticker.value = f"tick {i}"
        fig.layout.title.text = f"step {i}"

threading.Thread(target=pump, daemon=True).start()
ticker""",
]

TICK_JS = """() => {
  const el = document.querySelector('.smoke-ticker');
  const m = el && el.textContent.match(/tick (\\d+)/);
  return m ? Number(m[1]) : 0;
}"""


@pytest.fixture(scope="module")
def smoke(module_lab: Lab, jupyter_server: JupyterServer) -> Notebook:
    """The smoke notebook, opened and run once for this module."""
    jupyter_server.write_notebook("smoke.ipynb", CELLS)
    notebook = module_lab.open("smoke.ipynb")
    notebook.run_all()
    with module_lab.timings.measure("smoke: first render after run-all"):
        notebook.wait_for(".smoke-label")
        notebook.wait_for(".js-plotly-plot .scatterlayer .trace", timeout=60)
    return notebook


def test_lab_settings_take_effect(smoke: Notebook) -> None:
    config = smoke.page.evaluate(
        "(path) => window.__hpoHarness.panel(path).content.notebookConfig.windowingMode",
        smoke.name,
    )
    assert config == "none"
    assert smoke.page.locator(".jp-Notification-Toast").count() == 0


def test_kernel_is_this_venv_and_sees_checkout(smoke: Notebook) -> None:
    assert smoke.evaluate("sys.prefix") == sys.prefix
    assert smoke.evaluate("__import__('hpo_lab').__file__").startswith(
        str(smoke.lab.server.env["PYTHONPATH"].split(":")[0])
    )
    assert smoke.execute("print('out'); 6 * 7") == "out\n42"


def test_widgets_render_and_thread_updates_stream(smoke: Notebook) -> None:
    assert smoke.page.locator(".smoke-label").inner_text() == "hello from hpo_lab"
    assert smoke.page.locator(".js-plotly-plot .scatterlayer .trace").count() == 1

    first = smoke.wait_until(TICK_JS, timeout=30)
    later = smoke.wait_until(f"() => ({TICK_JS})() >= {first + 3} && ({TICK_JS})()", timeout=30)
    assert later >= first + 3

    smoke.execute("stop.set(); time.sleep(0.2)")
    final = smoke.evaluate("ticker.value")
    smoke.wait_until(
        "(text) => document.querySelector('.smoke-ticker').textContent === text", final
    )
    step = final.replace("tick", "step")
    smoke.wait_until(
        "(text) => document.querySelector('.js-plotly-plot .gtitle')?.textContent === text", step
    )
    smoke.screenshot("smoke")
