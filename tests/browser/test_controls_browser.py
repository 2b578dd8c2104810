"""The dashboard's Controls tab in real JupyterLab: fork a running trial from the form, constrain
the search, and see both in the lineage, the trial table and the action log (source: dashboard).

The notebook's cells return at once (the session runs in the background), so widget clicks
reach the kernel while trials run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from .lab import Lab, Notebook
from .server import JupyterServer
from .timings import Timings

pytestmark = pytest.mark.browser

SETUP = """\
import threading, time
import torch
import hpo_lab as hl

EPOCHS = 400
DELAY = 0.25  # seconds per epoch: trials run for minutes, until the test speeds them up

def objective(trial):
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    trial.suggest_int("width", 2, 8)
    trial.suggest_categorical("act", ["relu", "tanh"])
    torch.manual_seed(trial.number)
    model = torch.nn.Linear(4, 1)
    start = 0
    state = trial.load_checkpoint()  # the fork parent's checkpoint, if forked
    if state is not None:
        model.load_state_dict(state["model"])
        start = state["epoch"] + 1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = torch.ones(16, 4), torch.zeros(16, 1)
    for epoch in range(start, EPOCHS):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        trial.report(epoch, loss=loss.item())
        trial.save_checkpoint({"model": model.state_dict(), "epoch": epoch})
        time.sleep(DELAY)
    return loss.item()

session = hl.Session(objective, name="controls", metric="loss", sampler="random", seed=0,
                     pruner="none", storage=":memory:", artifacts="artifacts", n_workers=2,
                     keep_checkpoints=5)"""

SHOW = """\
board = session.dashboard()
session.start(n_trials=2)
board"""

TAB = ".hpo-dash-tabs .lm-TabBar-tab"


@pytest.fixture(scope="module")
def tall_lab(
    jupyter_server: JupyterServer,
    chromium: Browser,
    browser_output_dir: Path,
    browser_timings: Timings,
) -> Iterator[Lab]:
    """A browser context tall enough to show the whole Controls tab."""
    with Lab(
        jupyter_server, chromium, browser_output_dir, browser_timings, viewport=(1280, 1500)
    ) as lab:
        yield lab


@pytest.fixture(scope="module")
def nb(tall_lab: Lab, jupyter_server: JupyterServer) -> Iterator[Notebook]:
    """The notebook, run once; the tests below share it and run in file order."""
    jupyter_server.write_notebook("controls.ipynb", [SETUP, SHOW])
    notebook = tall_lab.open("controls.ipynb")
    notebook.run_all()
    with tall_lab.timings.measure("controls: dashboard after run-all"):
        notebook.wait_for(".hpo-dash .hpo-tt-row", timeout=60)
    notebook.page.locator(TAB, has_text="Controls").click()
    with tall_lab.timings.measure("controls: tab built"):
        notebook.wait_for(".hpo-ctl .hpo-ctl-fork")
        notebook.wait_for(".hpo-ctl .hpo-cv-title")  # the anywidget views rendered
    yield notebook
    notebook.execute("DELAY = 0.0; session.stop(cancel=True)")


def text(nb: Notebook, selector: str) -> str:
    return nb.page.locator(selector).first.inner_text()


def test_fork_a_running_trial_from_the_form(nb: Notebook) -> None:
    page = nb.page
    assert "Select a trial" in text(nb, ".hpo-ctl-fork .hpo-ctl-subtitle")
    assert page.locator(".hpo-ctl-fork-button").is_disabled()
    # Trial 0 runs and has saved a few checkpoints.
    nb.wait_until_kernel("len(session.checkpoints.list(0)) >= 3")
    page.click(".hpo-tt-row[data-number='0']")
    nb.wait_until_kernel("board.selected == 0")
    nb.wait_for(".hpo-ctl-p-lr input")
    nb.wait_until("() => !document.querySelector('.hpo-ctl-fork-button').disabled")
    assert "Trial 0" in text(nb, ".hpo-ctl-fork .hpo-ctl-subtitle")
    assert "running" in text(nb, ".hpo-ctl-fork .hpo-ctl-subtitle")
    lr = nb.evaluate("session.trials[0].params['lr']")
    assert float(page.input_value(".hpo-ctl-p-lr input")) == pytest.approx(lr, rel=1e-5)

    # A bad value: a clear message, nothing forked, the typed text kept.
    page.fill(".hpo-ctl-p-lr input", "fast")
    page.click(".hpo-ctl-fork-button")
    nb.wait_for(".hpo-ctl-fork .hpo-ctl-msg--error")
    assert "lr: 'fast' is not a number" in text(nb, ".hpo-ctl-fork .hpo-ctl-msg--error")
    assert nb.evaluate("len(session.trials)") == 2
    assert page.input_value(".hpo-ctl-p-lr input") == "fast"
    nb.screenshot("controls-fork-error", ".hpo-ctl")

    page.fill(".hpo-ctl-p-lr input", "0.05")
    nb.wait_until("() => document.querySelector('.hpo-ctl-p-lr.hpo-ctl-changed')")
    page.check(".hpo-ctl-stop-parent input")
    page.click(".hpo-ctl-fork-button")
    nb.wait_for(".hpo-ctl-fork .hpo-ctl-msg--ok")
    message = text(nb, ".hpo-ctl-fork .hpo-ctl-msg--ok")
    child = int(re.search(r"→ trial (\d+)", message).group(1))
    assert child == 2 and "lr=0.05" in message
    nb.execute("DELAY = 0.002")  # the rest of the run can be quick

    # The child is in the table and in the lineage, under trial 0, at the fork step.
    nb.wait_for(f".hpo-tt-row[data-number='{child}']")
    node = f".hpo-cv-node[data-number='{child}']"
    nb.wait_for(node)
    step = nb.evaluate(f"session.trials[{child}].user_attrs['fork_step']")
    assert f"from #0 @ step {step}" in text(nb, node)
    assert "lr" in text(nb, node) and "→0.05" in text(nb, node)
    assert nb.evaluate(f"session.trials[{child}].user_attrs['parent']") == 0
    assert nb.evaluate(f"session.trials[{child}].params['lr']") == 0.05

    # Its curve continues from the parent's step; the parent was stopped.
    nb.wait_until_kernel(f"session.trials[{child}].state.name == 'COMPLETE'", timeout=60)
    assert nb.evaluate(f"int(min(session.metrics({child}).index))") == step + 1
    assert nb.evaluate("session.trials[0].state.name") == "COMPLETE"
    assert nb.evaluate("int(max(session.metrics(0).index))") < 399  # stopped early
    nb.wait_until(f"() => document.querySelector(\"{node}\").dataset.state === 'COMPLETE'")
    nb.screenshot("controls-forked", ".hpo-ctl")
    # The learning curves show the child going on from the fork step (a look, not a test).
    page.locator(TAB, has_text="Curves").click()
    nb.wait_for(".hpo-dash .js-plotly-plot .scatterlayer .trace")
    nb.screenshot("controls-forked-curves", ".hpo-dash")
    page.locator(TAB, has_text="Controls").click()
    nb.wait_for(".hpo-ctl .hpo-ctl-fork")


def test_constrain_from_the_form_and_relax(nb: Notebook) -> None:
    page = nb.page
    page.select_option(".hpo-ctl-param select", label="lr")
    nb.wait_until("() => document.querySelector('.hpo-ctl-low input').value === '0.001'")
    page.fill(".hpo-ctl-low input", "0.01")
    page.fill(".hpo-ctl-high input", "oops")
    page.click(".hpo-ctl-apply")
    nb.wait_for(".hpo-ctl-constrain .hpo-ctl-msg--error")
    assert "'oops' is not a number" in text(nb, ".hpo-ctl-constrain .hpo-ctl-msg--error")
    assert nb.evaluate("session.constraints.describe()") == []

    page.fill(".hpo-ctl-high input", "0.1")
    page.click(".hpo-ctl-apply")
    nb.wait_for(".hpo-ctl-constrain .hpo-ctl-msg--ok")
    nb.wait_for(".hpo-ctl-constraint")
    assert "lr in [0.01, 0.1]" in text(nb, ".hpo-ctl-constraint")
    assert nb.evaluate("session.constraints.describe()") == ["lr in [0.01, 0.1]"]

    # An outcome constraint too.
    page.click(".hpo-ctl-target button:has-text('Outcome')")
    nb.wait_for(".hpo-ctl-outcome input")
    page.fill(".hpo-ctl-outcome input", "loss")
    page.fill(".hpo-ctl-bound input", "2")
    page.click(".hpo-ctl-apply")
    nb.wait_until("() => document.querySelectorAll('.hpo-ctl-constraint').length === 2")
    assert nb.evaluate("session.constraints.describe()") == ["lr in [0.01, 0.1]", "loss <= 2"]

    # New trials land inside the range.
    nb.execute("session.add_trials(2)")
    nb.wait_until_kernel("len(session.trials) >= 5 and session.state == 'finished'", timeout=60)
    lrs = nb.evaluate("[t.params['lr'] for t in session.trials[3:]]")
    assert len(lrs) == 2 and all(0.01 <= v <= 0.1 for v in lrs)

    # The action log lists both controls, from the dashboard, newest first.
    nb.wait_for(".hpo-cv-action[data-kind='constrain'][data-source='dashboard']")
    kinds = page.eval_on_selector_all(
        ".hpo-cv-action", "rows => rows.map(r => [r.dataset.kind, r.dataset.source])"
    )
    assert ["fork", "dashboard"] in kinds and ["constrain", "dashboard"] in kinds
    assert kinds.index(["constrain", "dashboard"]) < kinds.index(["fork", "dashboard"])
    nb.screenshot("controls-constrained", ".hpo-ctl")
    nb.screenshot("controls-page")

    page.locator(".hpo-ctl-constraint .hpo-ctl-relax").first.click()
    nb.wait_until("() => document.querySelectorAll('.hpo-ctl-constraint').length === 1")
    assert nb.evaluate("session.constraints.describe()") == ["loss <= 2"]
    nb.wait_for(".hpo-cv-action[data-kind='relax'][data-source='dashboard']")


def test_clicking_a_trial_in_the_lineage_selects_it(nb: Notebook) -> None:
    nb.page.click(".hpo-cv-node[data-number='2'] .hpo-cv-trial")
    nb.wait_until_kernel("board.selected == 2")
    nb.wait_until(
        "() => document.querySelector(\".hpo-tt-row[data-number='2']\")"
        ".getAttribute('aria-selected') === 'true'"
    )
    nb.wait_until(
        "() => document.querySelector('.hpo-ctl-fork .hpo-ctl-subtitle').textContent"
        ".includes('Trial 2')"
    )
    nb.screenshot("controls-lineage-selected", ".hpo-ctl")
