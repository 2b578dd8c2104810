"""An objective defined in a real Jupyter kernel (ipykernel, run by nbclient): the session
captures it when it starts; the command line exports it later from storage alone, in another
process; the script reproduces the trial."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import nbformat
import pytest

import hpo_lab as hl
from tests.export.helpers import env, run_python, script_result

CELLS = [
    """
    import torch
    from torch import nn
    import hpo_lab as hl
    from hpo_lab.examples.digits import evaluate, load_digits_data, make_mlp

    data = load_digits_data()
    """,
    """
    WIDTHS = (16, 32)

    def train(model, opt, d, epochs):
        for _ in range(epochs):
            loss = nn.functional.cross_entropy(model(d.x_train), d.y_train)
            opt.zero_grad()
            loss.backward()
            opt.step()
    """,
    """
    def objective(trial: hl.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-2, 3e-1, log=True)
        hidden = trial.suggest_categorical("hidden", WIDTHS)
        torch.manual_seed(trial.number)
        model = make_mlp(hidden, 1, 0.0).to(trial.device)
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        d = data.to(trial.device)
        train(model, opt, d, epochs=5)
        val_loss, val_acc = evaluate(model, d.x_val, d.y_val)
        trial.report(0, val_loss=val_loss, val_acc=val_acc)
        return float(val_loss)
    """,
    """
    session = hl.Session(objective, name="kernel", metric="val_loss", storage="runs",
                         progress=False, seed=1)
    session.start(n_trials=3).wait()
    """,
]


@pytest.mark.slow
def test_real_kernel_then_cli_from_storage(tmp_path: Path, monkeypatch) -> None:
    import textwrap

    import nbclient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c).strip()) for c in CELLS]
    monkeypatch.setenv("PYTHONPATH", env()["PYTHONPATH"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        nbclient.NotebookClient(
            nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    best = hl.Session.load("kernel", storage=tmp_path / "runs", progress=False).best_trial
    out = run_python(
        ["-m", "hpo_lab", "export", "--study", "kernel", "--storage", "runs", "-o", "best.py"],
        cwd=tmp_path,
    ).stdout
    assert "wrote best.py" in out
    text = (tmp_path / "best.py").read_text()
    assert "defined in a notebook" in text
    assert "data = load_digits_data()" in text and "WIDTHS = (16, 32)" in text
    assert "def train(model, opt, d, epochs):" in text
    result, recorded = script_result(run_python(["best.py"], cwd=tmp_path).stdout)
    assert recorded == {"value": best.value}
    assert math.isclose(result, best.value, rel_tol=1e-6)
