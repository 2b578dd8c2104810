"""The Pareto-front and hypergradient tabs in real JupyterLab: they draw the expected points and
traces, a click on the front selects the trial in the kernel, the hypergradient tab appears live."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .lab import Lab, Notebook
from .server import JupyterServer

pytestmark = pytest.mark.browser

PARETO_CELLS = [
    """\
import hpo_lab as hl

def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    y = trial.suggest_float("y", 0, 1)
    return {"err": (1 - x) ** 2 + 0.3 * y, "size": 100 * x + 10 * y}

session = hl.Session(objective, directions={"err": "minimize", "size": "minimize"},
                     storage=":memory:", sampler="random", seed=0, progress=False)
session.constrain("size <= 85")  # trials that end above it are infeasible
session.start(n_trials=40).wait()
board = session.dashboard(height=380)
board""",
    """\
def objective3(trial):
    x = trial.suggest_float("x", 0, 1)
    y = trial.suggest_float("y", 0, 1)
    return {"err": (1 - x) ** 2 + 0.2 * y, "size": 100 * x, "latency": 5 * y + 3 * x}

session3 = hl.Session(objective3, storage=":memory:", sampler="random", seed=1, progress=False,
                      directions={"err": "minimize", "size": "minimize", "latency": "minimize"})
session3.start(n_trials=40).wait()
board3 = session3.dashboard(height=380)
board3""",
]

HYPERGRAD_CELLS = [
    """\
import time
import torch
import hpo_lab as hl
from hpo_lab.hypergrad import SGDHD, report_trace

def objective(trial):
    lr0 = trial.suggest_float("lr0", 1e-3, 1e-2, log=True)
    beta = trial.suggest_float("beta", 1e-5, 1e-3, log=True)
    w = torch.nn.Parameter(torch.tensor([3.0, -2.0]))
    b = torch.nn.Parameter(torch.tensor([1.0]))
    opt = SGDHD([{"params": [w]}, {"params": [b]}], lr=lr0, hypergrad_lr=beta, per_group=True)
    for step in range(60):
        opt.zero_grad()
        loss = (w ** 2).sum() + 3 * (b ** 2).sum()
        loss.backward()
        opt.step()
        trial.report(step, loss=loss.detach())
        report_trace(trial, step, opt)
        time.sleep(0.02)
    return float(loss.detach())

session = hl.Session(objective, metric="loss", storage=":memory:", sampler="random", seed=0,
                     progress=False, pruner="none")
board = session.dashboard(height=380)
board""",
    "_ = session.start(n_trials=4)  # no wait: the cell returns, clicks reach the kernel",
]

# Each scatter trace of the figure under `root`: its name, axes and the points drawn.
TRACES_JS = """(root) => {
  const gd = document.querySelector(root);  // the figure's element is the plot
  if (!gd) return null;
  return [...gd.querySelectorAll('g.trace.scatter')].map((g) => {
    const t = g.__data__[0].trace;
    const line = g.querySelector('path.js-line');
    return {name: t.name, xaxis: t.xaxis, visible: t.visible === true,
            points: g.querySelectorAll('path.point').length,
            line: Boolean(line && line.getAttribute('d'))};
  });
}"""

PARETO = ".hpo-dash-pareto-figure"
HYPERGRAD = ".hpo-dash-hypergrad-figure"


def drawn(nb: Notebook, root: str, index: int = 0) -> list[dict[str, Any]]:
    return list(
        nb.page.evaluate(
            f"""(i) => {{ const roots = document.querySelectorAll('{root}');
            if (!roots[i]) return []; roots[i].id = roots[i].id || 'view-' + i;
            return ({TRACES_JS})('#' + roots[i].id) || []; }}""",
            index,
        )
    )


def open_tab(nb: Notebook, title: str, index: int = 0) -> None:
    """Clicks tab ``title`` of the ``index``-th dashboard."""
    tab = nb.page.locator(".hpo-dash").nth(index).locator(".lm-TabBar-tab", has_text=title)
    tab.click()


def points_by_name(traces: list[dict[str, Any]], xaxis: str = "x") -> dict[str, int]:
    out: dict[str, int] = {}
    for t in traces:
        if t["visible"] and t["xaxis"] == xaxis and t["points"]:
            out[t["name"]] = out.get(t["name"], 0) + t["points"]
    return out


@pytest.fixture(scope="module")
def pareto(module_lab: Lab, jupyter_server: JupyterServer) -> Iterator[Notebook]:
    jupyter_server.write_notebook("pareto.ipynb", PARETO_CELLS)
    nb = module_lab.open("pareto.ipynb")
    nb.run_all()
    nb.wait_for(".hpo-dash .lm-TabBar-tab", timeout=60)
    yield nb


def test_the_pareto_tab_draws_every_trial_and_the_front(pareto: Notebook) -> None:
    nb = pareto
    open_tab(nb, "Pareto front")
    nb.wait_for(f"{PARETO} .scatterlayer .trace", timeout=60)
    expected = nb.evaluate(
        "{k: v for k, v in {'on the front': len(board.panels[2]._data.front),"
        " 'dominated': board.panels[2]._data.n_dominated,"
        " 'infeasible': board.panels[2]._data.n_infeasible}.items() if v}"
    )
    assert expected["infeasible"] > 0 and sum(expected.values()) == 40
    nb.wait_until(
        f"(want) => {{ const t = ({TRACES_JS})('{PARETO}'); if (!t) return false;"
        " const n = {}; for (const x of t) if (x.visible && x.xaxis === 'x' && x.points)"
        "   n[x.name] = (n[x.name] || 0) + x.points;"
        " return Object.keys(want).every((k) => n[k] === want[k]); }",
        expected,
    )
    traces = drawn(nb, PARETO)
    counts = points_by_name(traces)
    assert {k: counts[k] for k in expected} == expected
    step = [t for t in traces if t["name"] == "front" and t["xaxis"] == "x"]
    assert step and step[0]["line"]  # the step line is drawn
    hv = [t for t in traces if t["name"] == "hypervolume"]
    assert hv and hv[0]["xaxis"] == "x2" and hv[0]["line"]
    nb.page.mouse.move(0, 0)
    nb.screenshot("views-pareto", ".hpo-dash")


def test_the_history_draws_infeasible_trials_red_and_never_as_the_best(pareto: Notebook) -> None:
    nb = pareto
    open_tab(nb, "Curves & history")
    want = nb.evaluate(
        "{'infeasible': len(board.model.infeasible), 'trials': len(session.trials),"
        " 'front': len(board.panels[2]._data.front), 'status': board.status.data['best'],"
        " 'pareto': sorted(board.model.pareto),"
        " 'best_trials': sorted(t.number for t in session.best_trials)}"
    )
    assert want["infeasible"] > 0
    assert want["status"] == {"pareto": want["front"]}  # the status bar counts the panel's front
    assert want["pareto"] == want["best_trials"]  # and agrees with Optuna
    # The history's points (its x axis is x2): red ones are the infeasible trials.
    colours_js = """() => {
      const gd = document.querySelector('.hpo-dash-curves .js-plotly-plot');
      if (!gd) return null;
      const g = [...gd.querySelectorAll('g.trace.scatter')]
        .find((g) => g.__data__[0].trace.xaxis === 'x2' && g.__data__[0].trace.mode === 'markers'
                     && g.querySelectorAll('path.point').length > 1);
      if (!g) return null;
      const n = {};
      for (const p of g.querySelectorAll('path.point')) {
        const c = getComputedStyle(p).fill; n[c] = (n[c] || 0) + 1;
      }
      return n;
    }"""
    nb.wait_until(colours_js, timeout=60)
    colours = nb.page.evaluate(colours_js)
    assert colours == {
        "rgb(217, 48, 37)": want["infeasible"],  # the failure colour, #d93025
        "rgb(30, 142, 62)": want["trials"] - want["infeasible"],  # COMPLETE's, #1e8e3e
    }
    nb.page.mouse.move(0, 0)
    nb.screenshot("views-history-infeasible", ".hpo-dash")
    open_tab(nb, "Pareto front")  # as the tests after this one expect
    nb.wait_for(f"{PARETO} .scatterlayer .trace", timeout=60)


def test_clicking_a_point_on_the_front_selects_its_trial(pareto: Notebook) -> None:
    nb = pareto
    target = nb.page.evaluate(
        f"""() => {{
        const gd = document.querySelector('{PARETO}');
        const g = [...gd.querySelectorAll('g.trace.scatter')]
          .find((g) => g.__data__[0].trace.name === 'on the front');
        const pts = g.querySelectorAll('path.point');
        const pt = pts[Math.floor(pts.length / 2)];
        pt.scrollIntoView({{block: 'center'}});  // the mouse only reaches the viewport
        const box = pt.getBoundingClientRect();
        const trace = g.__data__[0].trace;
        return {{x: box.x + box.width / 2, y: box.y + box.height / 2,
                number: trace.customdata[pt.__data__.i]}};
        }}"""
    )
    assert nb.evaluate("board.selected") is None
    nb.page.mouse.move(target["x"], target["y"])
    nb.page.mouse.click(target["x"], target["y"])
    assert nb.wait_until_kernel(f"board.selected == {int(target['number'])}")
    assert nb.evaluate("board.table.selected") == int(target["number"])
    # The selection is drawn back: a ring around the point.
    nb.wait_until(
        f"() => ({TRACES_JS})('{PARETO}').some((t) => t.name === 'selected' && t.points === 1)"
    )
    nb.page.mouse.move(0, 0)
    nb.screenshot("views-pareto-selected", ".hpo-dash")


def test_brushing_the_front_and_constraining_reaches_the_session(pareto: Notebook) -> None:
    nb = pareto
    box = nb.page.evaluate(
        f"""() => {{
        const gd = document.querySelector('{PARETO}');
        const g = [...gd.querySelectorAll('g.trace.scatter')]
          .find((g) => g.__data__[0].trace.name === 'on the front');
        const points = [...g.querySelectorAll('path.point')].slice(-3);  // three smallest sizes
        points[0].scrollIntoView({{block: 'center'}});  // the mouse only reaches the viewport
        const boxes = points.map((p) => p.getBoundingClientRect());
        return {{x0: Math.min(...boxes.map((b) => b.left)) - 6,
                x1: Math.max(...boxes.map((b) => b.right)) + 6,
                y0: Math.min(...boxes.map((b) => b.top)) - 6,
                y1: Math.max(...boxes.map((b) => b.bottom)) + 6}};
        }}"""
    )
    nb.page.mouse.move(box["x0"], box["y0"])
    nb.page.mouse.down()
    nb.page.mouse.move(box["x1"], box["y1"], steps=8)
    nb.page.mouse.up()
    region = nb.wait_until_kernel("board.panels[2]._region and board.panels[2]._region[1]")
    assert len(region) >= 1 and all(e.split()[0] in ("err", "size") for e in region)
    nb.wait_until(
        "() => document.querySelector('.hpo-dash-pareto-region').textContent.includes('brushed')"
    )
    nb.page.mouse.move(0, 0)
    nb.screenshot("views-pareto-brushed", ".hpo-dash")
    before = nb.evaluate("len(session.actions())")
    nb.page.locator("button.hpo-dash-pareto-constrain").click()
    keys = nb.wait_until_kernel(
        "sorted(f'{c.name} {c.op} {c.bound:g}' for c in session.constraints.outcomes)"
    )
    assert set(region) <= set(keys)  # size <= 85 stays unless the region bounds size
    sources = nb.evaluate(f"list(session.actions().source)[{before}:]")
    assert sources and set(sources) == {"dashboard"}


def test_three_objectives_make_a_scatter_matrix(pareto: Notebook) -> None:
    nb = pareto
    open_tab(nb, "Pareto front", index=1)
    nb.wait_until(
        f"""() => {{ const r = document.querySelectorAll('{PARETO}')[1];
        if (!r) return false;
        r.id = 'pareto-3'; const t = ({TRACES_JS})('#pareto-3');
        return t && ['x', 'x2', 'x3'].every((a) => t.some((x) => x.xaxis === a && x.points));
        }}"""
    )
    traces = drawn(nb, PARETO, 1)
    for axis in ("x", "x2", "x3"):
        assert sum(points_by_name(traces, axis).values()) == 40 + 1  # the trials and the ref
    assert any(t["name"] == "hypervolume" and t["xaxis"] == "x4" for t in traces)
    nb.page.mouse.move(0, 0)
    nb.page.locator(".hpo-dash").nth(1).scroll_into_view_if_needed()
    nb.screenshot("views-pareto-3", ".hpo-dash >> nth=1")


@pytest.fixture(scope="module")
def hypergrad(module_lab: Lab, jupyter_server: JupyterServer) -> Iterator[Notebook]:
    jupyter_server.write_notebook("hypergrad.ipynb", HYPERGRAD_CELLS)
    nb = module_lab.open("hypergrad.ipynb")
    nb.run_all()
    nb.wait_for(".hpo-dash .lm-TabBar-tab", timeout=60)
    yield nb
    nb.execute("session.stop(); session.wait(30)")


def lines(nb: Notebook) -> int:
    return sum(1 for t in drawn(nb, HYPERGRAD) if t["visible"] and t["line"])


def test_the_hypergradient_tab_appears_with_the_first_trace_and_draws_live(
    hypergrad: Notebook,
) -> None:
    nb = hypergrad
    tab = nb.page.locator(".hpo-dash .lm-TabBar-tab", has_text="Hypergradients")
    tab.wait_for(timeout=30_000)  # added while the first trial runs
    assert nb.evaluate("session.state") == "running"
    tab.click()
    nb.wait_for(f"{HYPERGRAD} .scatterlayer .trace", timeout=60)
    nb.wait_until(
        f"() => ({TRACES_JS})('{HYPERGRAD}').filter((t) => t.visible && t.line).length >= 4"
    )
    running = nb.evaluate("board.panels[-1]._layout_state is not None and session.running")
    assert running  # drawn while trials run
    nb.page.mouse.move(0, 0)
    nb.screenshot("views-hypergrad-live", ".hpo-dash")
    nb.wait_until_kernel("session.state == 'finished'", timeout=90)
    # Nothing runs and nothing is selected: the best trial, two learning rates, three gradients.
    nb.wait_until(
        f"() => ({TRACES_JS})('{HYPERGRAD}').filter((t) => t.visible && t.line).length === 5",
        timeout=30,
    )
    assert lines(nb) == nb.evaluate("sum(1 for t in board.panels[-1].figure.data if t.visible)")
    assert nb.evaluate("len(board.panels[-1]._layout_state or ())") == 2


def test_picking_latest_trials_draws_each_side_by_side(hypergrad: Notebook) -> None:
    nb = hypergrad
    nb.page.locator(".hpo-dash-hypergrad-show select").select_option(label="Latest trials")
    assert nb.wait_until_kernel("board.panels[-1].show == 'all'")
    nb.wait_until(
        f"() => ({TRACES_JS})('{HYPERGRAD}').filter((t) => t.visible && t.line).length === 20",
        timeout=30,
    )
    nb.page.mouse.move(0, 0)
    nb.screenshot("views-hypergrad-all", ".hpo-dash")
