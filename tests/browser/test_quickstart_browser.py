"""The quickstart notebook in real JupyterLab: the live dashboard renders, its curves grow while
trials run, the table lists the trials, and the prune button ends a running trial as PRUNED.

The notebook runs as a user runs it: cell after cell. Its ``session.wait()`` cell holds the
kernel until the search ends, and a kernel that runs a cell handles no widget message (a click
waits for the cell to end), so the clicks happen after the dashboard cell and before that one;
then the rest of the notebook runs and must pass.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .lab import Lab
from .server import JupyterServer

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]

# Points drawn in the dashboard's plotly figures, over every trace (a curve per running trial,
# chunks of finished ones) and the number of traces with data.
PLOTTED_JS = """() => {
  let points = 0, traces = 0;
  for (const gd of document.querySelectorAll('.hpo-dash .js-plotly-plot')) {
    for (const t of gd.data || []) {
      const n = t.x ? t.x.length : 0;
      if (n) { points += n; traces += 1; }
    }
  }
  return [points, traces];
}"""
ROW_STATE_JS = """(n) => document.querySelector(`.hpo-tt-row[data-number='${n}']`)?.dataset.state"""
ACTIONS_PY = (  # trial -> [source, result] of its prune, from the session's action log
    "{int(a['trial']): [a['source'], a['result']] for a in session.actions().to_dict('records')"
    " if a['kind'] == 'prune'}"
)
RUNNING_ROWS_JS = """() => [...document.querySelectorAll(".hpo-tt-row[data-state='RUNNING']")]
  .map((el) => Number(el.dataset.number))"""


def test_quickstart_dashboard_streams_and_prunes(lab: Lab, jupyter_server: JupyterServer) -> None:
    jupyter_server.copy_into(REPO / "notebooks" / "quickstart.ipynb")
    nb = lab.open("quickstart.ipynb")
    sources = nb.cell_sources()
    board = sources.index("session")  # the cell that shows the live dashboard
    nb.run_cells(0, board + 1)

    # The dashboard renders: status bar, curves, the trial table.
    with lab.timings.measure("quickstart: dashboard visible"):
        nb.wait_for(".hpo-dash .hpo-sb")
        nb.wait_for(".hpo-dash .js-plotly-plot .scatterlayer")
        nb.wait_for(".hpo-tt-body > .hpo-tt-row")

    # "Add trials" in the status bar: the quickstart's search may be over by now (it is short).
    nb.page.fill(".hpo-sb-n", "30")
    nb.page.click(".hpo-sb button[data-action='add_trials']")
    nb.wait_until(f"() => ({RUNNING_ROWS_JS})().length > 0")

    # Pause from the status bar: running trials hold at their next report (PAUSED rows), so
    # that a trial of this quick search is still running when its Prune button is clicked.
    nb.page.click(".hpo-sb button[data-action='pause']")
    held = nb.wait_until(
        "() => { const r = [...document.querySelectorAll(\".hpo-tt-row[data-state='PAUSED']\")]"
        ".map((el) => Number(el.dataset.number)); return r.length && r; }"
    )
    assert nb.evaluate("session.state") == "paused"
    nb.screenshot("quickstart-dashboard-paused", ".hpo-dash")

    # Prune a held trial from its row: it ends PRUNED (not FAIL), and the row shows it.
    pruned = min(held)
    clicked = time.monotonic()
    nb.page.click(f".hpo-tt-row[data-number='{pruned}'] .hpo-tt-action--prune")
    nb.wait_until(f"(n) => ({ROW_STATE_JS})(n) === 'PRUNED'", pruned, timeout=10)
    lab.timings.add("quickstart: prune click -> row shows PRUNED", time.monotonic() - clicked)
    assert nb.evaluate(ACTIONS_PY)[str(pruned)] == ["dashboard", "requested"]
    # The pointer is still over the rows, which keep their order; the chips count them anew.
    nb.wait_until(
        "() => { const rows = [...document.querySelectorAll('.hpo-tt-body > .hpo-tt-row')]"
        ".filter((el) => !el.hidden && el.dataset.state === 'PRUNED').length;"
        " const chip = document.querySelector(\".hpo-tt-chip[data-state='PRUNED']\");"
        " return chip && Number(chip.lastChild.textContent) === rows; }",
        timeout=10,
    )
    nb.screenshot("quickstart-dashboard-pruned", ".hpo-dash")
    # The table is narrower than its columns: the last one (duration) of a row without
    # buttons is not covered by the floating buttons' cell.
    assert nb.page.evaluate("""() => {
      const keys = [...document.querySelectorAll('.hpo-tt-head .hpo-tt-th')]
        .map((th) => th.dataset.key);
      const row = document.querySelector(".hpo-tt-body > .hpo-tt-row[data-state='COMPLETE']");
      const cell = row.children[keys.indexOf('duration')];
      const box = cell.getBoundingClientRect();
      const hit = document.elementFromPoint(box.right - 12, box.top + box.height / 2);
      return cell.textContent.trim() !== '' && cell.contains(hit);
    }""")

    # Resume: the other held trials go on.
    nb.page.click(".hpo-sb button[data-action='resume']")
    assert nb.wait_until_kernel("session.state in ('running', 'finished')")
    # Curves grow while the trials run on.
    first = nb.wait_until(f"() => {{ const [p] = ({PLOTTED_JS})(); return p > 0 && p; }}")
    grown = nb.wait_until(
        f"(before) => {{ const [p] = ({PLOTTED_JS})(); return p > before && p; }}", first
    )
    assert grown > first
    nb.screenshot("quickstart-dashboard-running", ".hpo-dash")

    assert nb.evaluate(f"session.study.trials[{pruned}].state.name") == "PRUNED"
    # "Add trials" was logged from the dashboard (as a new run when the first had ended).
    added = nb.evaluate(
        "[a['source'] for a in session.actions().to_dict('records')"
        " if a['kind'] in ('add_trials', 'start')]"
    )
    assert added == ["code", "dashboard"]

    # The rest of the notebook runs; the dashboard ends with every trial in the table.
    nb.run_cells(board + 1)
    total = nb.evaluate("len(session.trials)")
    assert total >= 60
    nb.wait_until(f"() => document.querySelectorAll('.hpo-tt-row').length >= Math.min({total}, 10)")
    nb.wait_until("() => document.querySelector(\".hpo-tt-row[data-state='RUNNING']\") === null")
    n_pruned = nb.evaluate("sum(t.state.name == 'PRUNED' for t in session.trials)")
    chip = ".hpo-tt-chip[data-state='PRUNED']"
    nb.wait_until(
        f'(n) => document.querySelector("{chip}")?.lastChild.textContent === String(n)',
        n_pruned,
    )
    points, traces = nb.page.evaluate(PLOTTED_JS)
    assert points >= 12 and traces >= 1
    nb.screenshot("quickstart-dashboard-finished", ".hpo-dash")
