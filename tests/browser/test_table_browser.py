"""TrialTable in real JupyterLab: 10,000 rows, virtualised, sortable, selectable, live."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .lab import Lab, Notebook
from .server import JupyterServer

pytestmark = pytest.mark.browser

SETUP = """\
import math, random, threading, time
from hpo_lab.dashboard import TrialTable

columns = [
    {"key": "number", "label": "#", "type": "int"},
    {"key": "state", "label": "State", "type": "state"},
    {"key": "value", "label": "Loss", "type": "float"},
    {"key": "lr", "label": "Learning rate", "type": "float"},
    {"key": "optimizer", "label": "Optimizer", "type": "str"},
    {"key": "layers", "label": "Layers", "type": "int"},
    {"key": "dropout", "label": "Dropout", "type": "float"},
    {"key": "last_step", "label": "Step", "type": "int"},
    {"key": "duration", "label": "Duration", "type": "duration"},
]
rng = random.Random(0)

def make_row(n, total=10_000):
    lr = 10 ** rng.uniform(-5, -1)
    layers = rng.randint(1, 8)
    dropout = rng.uniform(0, 0.5)
    loss = abs(math.log10(lr) + 3) * 0.3 + 0.02 * layers + dropout * 0.2 + rng.gauss(0, 0.05)
    row = {"number": n, "lr": lr, "optimizer": rng.choice(["adam", "adamw", "sgd", "rmsprop"]),
           "layers": layers, "dropout": dropout}
    if n >= total - 2:
        return row | {"state": "WAITING"}
    if n >= total - 8:
        return row | {"state": "RUNNING", "last_step": rng.randint(1, 60),
                      "duration": rng.uniform(5, 300)}
    if n == total - 9:
        return row | {"state": "PAUSED", "last_step": 40, "value": loss + 0.1, "duration": 512.0}
    state = rng.choices(["COMPLETE", "PRUNED", "FAIL"], [0.62, 0.33, 0.05])[0]
    steps = {"COMPLETE": 100, "PRUNED": rng.randint(5, 60), "FAIL": rng.randint(0, 20)}[state]
    value = None if state == "FAIL" else loss + (0.15 if state == "PRUNED" else 0.0)
    return row | {"state": state, "value": value, "last_step": steps,
                  "duration": steps * rng.uniform(0.5, 40)}

table = TrialTable(columns=columns, height=420, sort_desc=True)
t0 = time.perf_counter()
table.upsert(make_row(n) for n in range(10_000))
upsert_seconds = time.perf_counter() - t0
completed = [r for r in table.rows.values() if r["state"] == "COMPLETE"]
table.best = min(completed, key=lambda r: r["value"])["number"]
actions = []
table.on_action(lambda action, number: actions.append((action, number)))
table"""

# Numbers of the rendered rows, top to bottom.
VISIBLE_JS = """() => [...document.querySelectorAll('.hpo-tt-body > .hpo-tt-row:not([hidden])')]
  .map((el) => [new DOMMatrix(getComputedStyle(el).transform).m42, Number(el.dataset.number)])
  .sort((a, b) => a[0] - b[0]).map((pair) => pair[1])"""


@pytest.fixture(scope="module")
def nb(module_lab: Lab, jupyter_server: JupyterServer) -> Iterator[Notebook]:
    """The table notebook, run once; tests below share it and run in file order."""
    jupyter_server.write_notebook("table.ipynb", [SETUP])
    notebook = module_lab.open("table.ipynb")
    notebook.run_all()
    with module_lab.timings.measure("table: first rows after run-all"):
        notebook.wait_for(".hpo-tt-body > .hpo-tt-row")
        notebook.wait_until(
            "() => document.querySelector('.hpo-tt-count').textContent.includes('10,000')"
        )
    module_lab.timings.add(
        "table: upsert of 10,000 rows in the kernel", notebook.evaluate("upsert_seconds")
    )
    yield notebook


def visible(nb: Notebook) -> list[int]:
    return list(nb.page.evaluate(VISIBLE_JS))


def test_renders_only_a_window_of_the_rows(nb: Notebook) -> None:
    nb.screenshot("table-page")
    nb.screenshot("table", ".hpo-tt")
    rows = visible(nb)
    assert 10 <= len(rows) <= 40
    assert rows[:3] == [9999, 9998, 9997]  # sort_desc=True: newest first
    body_height = nb.page.evaluate("() => document.querySelector('.hpo-tt-body').offsetHeight")
    assert body_height == 10_000 * 28
    assert nb.page.locator(".hpo-tt-count").inner_text() == "10,000 trials"

    nb.page.evaluate("() => { document.querySelector('.hpo-tt-scroll').scrollTop = 28 * 5000; }")
    nb.wait_until(f"() => ({VISIBLE_JS})().includes(5000)")
    assert len(visible(nb)) <= 40
    nb.page.evaluate("() => { document.querySelector('.hpo-tt-scroll').scrollTop = 0; }")


def test_clicking_headers_sorts(nb: Notebook) -> None:
    nb.page.click(".hpo-tt-th[data-key='number']")
    nb.wait_until(f"() => ({VISIBLE_JS})()[0] === 0")
    assert visible(nb)[:3] == [0, 1, 2]
    assert nb.evaluate("[table.sort_by, table.sort_desc]") == ["number", False]

    nb.page.click(".hpo-tt-th[data-key='value']")
    lowest = nb.evaluate(
        "sorted((r for r in table.rows.values() if r.get('value') is not None),"
        " key=lambda r: r['value'])[0]['number']"
    )
    nb.wait_until(f"() => ({VISIBLE_JS})()[0] === {lowest}")
    assert nb.evaluate("[table.sort_by, table.sort_desc]") == ["value", False]
    assert nb.page.get_attribute(".hpo-tt-th[data-key='value']", "aria-sort") == "ascending"
    nb.screenshot("table-sorted-by-loss", ".hpo-tt")


def test_clicking_a_row_selects_it_in_the_kernel(nb: Notebook) -> None:
    second = visible(nb)[1]
    nb.page.click(f".hpo-tt-row[data-number='{second}']")
    assert nb.wait_until_kernel(f"table.selected == {second}")
    assert nb.page.get_attribute(f".hpo-tt-row[data-number='{second}']", "aria-selected") == "true"

    third = visible(nb)[2]
    nb.page.keyboard.press("ArrowDown")
    assert nb.wait_until_kernel(f"table.selected == {third}")
    nb.page.mouse.move(0, 0)
    nb.screenshot("table-selected", ".hpo-tt")

    nb.execute("table.selected = 5000")  # from Python (a plot click): scrolls into view
    nb.wait_until(
        "() => document.querySelector(\".hpo-tt-row.hpo-tt-selected[data-number='5000']\")"
    )


def test_prune_button_reaches_the_python_callback(nb: Notebook) -> None:
    nb.page.click(".hpo-tt-chip[data-state='RUNNING']")
    running = nb.evaluate("sorted(n for n, r in table.rows.items() if r['state'] == 'RUNNING')")
    nb.wait_until(
        f"(want) => `${{({VISIBLE_JS})().sort((a, b) => a - b)}}` === `${{want}}`",
        running,
    )
    assert nb.evaluate("table.filter_states") == ["RUNNING"]
    target = visible(nb)[0]
    nb.page.click(f".hpo-tt-row[data-number='{target}'] .hpo-tt-action--prune")
    assert nb.wait_until_kernel("actions") == [["prune", target]]
    button = nb.page.locator(f".hpo-tt-row[data-number='{target}'] .hpo-tt-action--prune")
    assert button.is_disabled()
    nb.screenshot("table-running-filter", ".hpo-tt")
    nb.page.click(".hpo-tt-chip[data-state='RUNNING']")  # back to every state
    nb.wait_until("() => document.querySelector('.hpo-tt-count').textContent === '10,000 trials'")


def test_upserts_from_a_background_thread_appear(nb: Notebook) -> None:
    nb.execute("table.sort_by = 'number'; table.sort_desc = True")
    nb.execute(
        """\
def pump():
    for step in range(1, 21):
        table.upsert([{"number": 10_000, "state": "RUNNING", "last_step": step,
                       "duration": step * 0.5, "lr": 3e-4, "optimizer": "adamw"}])
        time.sleep(0.1)
    table.upsert([{"number": 10_000, "state": "COMPLETE", "value": 0.001, "last_step": 20}])
    table.best = 10_000

threading.Thread(target=pump, daemon=True).start()"""
    )
    step = ".hpo-tt-row[data-number='10000'] > .hpo-tt-cell:nth-child(8)"
    nb.wait_for(step)
    seen = {nb.page.locator(step).inner_text()}
    nb.wait_until("() => document.querySelector(\".hpo-tt-row.hpo-tt-best[data-number='10000']\")")
    seen.add(nb.page.locator(step).inner_text())
    assert len(seen) >= 2  # the step changed while the thread ran
    assert nb.page.locator(step).inner_text() == "20"
    row = nb.page.locator(".hpo-tt-row[data-number='10000']")
    assert row.get_attribute("data-state") == "COMPLETE"
    assert nb.page.locator(".hpo-tt-count").inner_text() == "10,001 trials"
    nb.screenshot("table-live", ".hpo-tt")


def test_a_reloaded_page_gets_a_snapshot(nb: Notebook) -> None:
    nb.execute("table.upsert([{'number': 10_000, 'value': 0.0123}])")
    nb.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    nb.load()  # navigates again: a fresh front end on the same kernel
    nb.wait_until("() => document.querySelector('.hpo-tt-count')?.textContent === '10,001 trials'")
    cell = ".hpo-tt-row[data-number='10000'] > .hpo-tt-cell:nth-child(3)"
    nb.wait_for(cell)
    assert nb.page.locator(cell).inner_text() == "0.0123"
    assert visible(nb)[0] == 10_000
