"""Write the tutorial notebooks from the cell sources below (outputs are never committed).

Run ``python tools/make_notebooks.py`` after editing; CI runs every notebook under nbval.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat as nbf

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def md(text: str) -> nbf.NotebookNode:
    return nbf.v4.new_markdown_cell(text.strip())


def code(text: str) -> nbf.NotebookNode:
    return nbf.v4.new_code_cell(text.strip())


def write(name: str, cells: list[nbf.NotebookNode]) -> None:
    nb = nbf.v4.new_notebook()
    for index, cell in enumerate(cells):  # stable ids: regenerating changes only what changed
        cell["id"] = hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:8]
    nb.cells = cells
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nbf.write(nb, NOTEBOOKS / name)


QUICKSTART = [
    md("""
# hpo_lab quickstart

Tune a small PyTorch network on scikit-learn's handwritten digits — in the background, while
this notebook stays responsive. Every value a trial reports is stored, so you can come back to it
after a kernel restart.
"""),
    code("""
import torch
from torch import nn

import hpo_lab as hl
from hpo_lab.examples.digits import evaluate, load_digits_data, make_mlp

data = load_digits_data()  # 8x8 digit images bundled with scikit-learn: no download
print(len(data.x_train), "training and", len(data.x_val), "validation images")
"""),
    md("""
## The objective

An objective receives a trial, asks it for hyperparameters (Optuna's `suggest_*`), trains,
and reports any number of named series with `trial.report(step, name=value, ...)`. The
session's `metric` also feeds Optuna's pruners; `trial.device` is the device the session chose.
"""),
    code("""
def objective(trial: hl.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-3, 1e-1, log=True)
    hidden = trial.suggest_int("hidden", 16, 128, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    batch = trial.suggest_categorical("batch_size", [16, 32, 64])
    torch.manual_seed(trial.number)
    d = data.to(trial.device)
    model = make_mlp(hidden, 1, dropout).to(trial.device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for epoch in range(25):
        for i in range(0, len(d.x_train), batch):
            xb, yb = d.x_train[i:i + batch], d.y_train[i:i + batch]
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_loss, val_acc = evaluate(model, d.x_val, d.y_val)
        trial.report(epoch, train_loss=loss, val_loss=val_loss, val_acc=val_acc)
    return float(val_loss)
"""),
    md("""
## Start a search

`start` returns at once: trials run in background threads, and the notebook stays usable.
"""),
    code("""
session = hl.Session(objective, name="quickstart-digits", metric="val_loss",
                     direction="minimize", sampler="tpe", pruner="median", n_workers=2, seed=0)
session.start(n_trials=30)
print(f"session {session.name!r} started: trials run in the background")
"""),
    md("""
## Watch it live

A session shown as the last line of a cell is a live dashboard (`session.dashboard()` gives
one too): the status bar with pause, resume, stop and "add trials"; every trial's learning
curve (pick the series, switch to a log scale, click a curve to select its trial); the
optimization history; the parameters tab; the trial table, where running trials can be pruned
or stopped; and the selected trial's card. It keeps updating while you work in other cells.
"""),
    code("""
session
"""),
    md("## Results"),
    code("""
session.wait()  # blocks until the search ends (optional: the notebook stays usable)
best = session.best_trial
print(f"best val_loss {best.value:.4f} in trial {best.number}: {best.params}")
session.trials_dataframe()[["number", "state", "value", "params_lr", "params_hidden",
                            "params_dropout", "params_batch_size", "last_step"]].tail()
"""),
    code("""
curves = session.metrics(best.number)  # every series the trial reported, by step
curves
"""),
    md("""
## Come back later

Everything is stored in `.hpo_lab/` next to the notebook (an Optuna journal file and hpo_lab's
own tables). In a new kernel, `hl.Session.load` finds the session, its trials and all of their
series; plain Optuna (and optuna-dashboard) can read the study too.
"""),
    code("""
again = hl.Session.load("quickstart-digits")
print(again)
len(again.metrics())
"""),
]


SCALE_OUT = [
    md("""
# Scaling out with Dask

The same session, dashboard and controls, with trials running as tasks on a Dask cluster. Here
the cluster is a `LocalCluster` — two worker processes on this machine — which is the
single-machine case of any Dask cluster (Kubernetes, SLURM, cloud). It runs in well under a
minute on two CPU cores.
"""),
    code("""
import time

import torch
from distributed import Client, LocalCluster
from torch import nn

import hpo_lab as hl
from hpo_lab.examples.digits import evaluate, load_digits_data, make_mlp

data = load_digits_data()  # travels to the workers with the objective
"""),
    md("""
## The objective

It is defined here, in a notebook cell: hpo_lab sends it to the workers with cloudpickle.
Each worker process runs one trial at a time, so each trial uses one CPU thread.
"""),
    code("""
def objective(trial: hl.Trial) -> float:
    torch.set_num_threads(1)  # two worker processes share two cores
    lr = trial.suggest_float("lr", 1e-3, 1e-1, log=True)
    hidden = trial.suggest_int("hidden", 16, 96, log=True)
    torch.manual_seed(trial.number)
    d = data.to(trial.device)
    model = make_mlp(hidden, 1, 0.1).to(trial.device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for epoch in range(6):
        for i in range(0, len(d.x_train), 128):
            loss = nn.functional.cross_entropy(model(d.x_train[i:i + 128]), d.y_train[i:i + 128])
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_loss, val_acc = evaluate(model, d.x_val, d.y_val)
        trial.report(epoch, train_loss=loss, val_loss=val_loss, val_acc=val_acc,
                     **{"hyper/lr": lr})
    return float(val_loss)
"""),
    md("""
## A cluster, and a session on it

`executor=` takes a Dask `Client` (or a cluster, or a scheduler address such as
`"tcp://10.0.0.5:8786"`). Everything listens on 127.0.0.1 here. The workers open the session's
storage themselves — the `.hpo_lab/` folder next to this notebook, which worker processes on this
machine share; on a real cluster use a database URL such as
`"postgresql://user@db-host/hpo"` — and write every value their trials report.
"""),
    code("""
cluster = LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                       dashboard_address="127.0.0.1:0")
client = Client(cluster)
session = hl.Session(objective, name="scale-out-digits", metric="val_loss", direction="minimize",
                     sampler="tpe", pruner="median", executor=client, n_workers=2, seed=0)
session.start(n_trials=12);  # the ";" keeps the cell from showing the session (a dashboard)
"""),
    md("""
## Watch and steer it

Metrics stream from the workers to this notebook as they are reported (Dask's own structured
events carry them), so the live dashboard below (`session` last in a cell) shows them as they
happen. Controls — from code or from the dashboard — reach the trials on the workers at their
next `report`: prune one now.
"""),
    code("""
while not session.running and session.state == "running":
    time.sleep(0.1)
time.sleep(1.0)  # let it report a few epochs
for number in session.running[:1]:
    try:
        session.prune(number)
    except ValueError:  # it finished just now
        pass
session
"""),
    code("""
session.wait()
session.trials_dataframe()[["number", "state", "value", "params_lr", "params_hidden",
                            "last_step"]]
"""),
    md("""
## Everything is stored by the workers

The workers wrote every series (including `hyper/lr`) to the side tables themselves, so a
notebook that disconnected and came back with `hl.Session.load` would see all of it — also
trials that finished while it was away. The action log records the prune.
"""),
    code("""
again = hl.Session.load("scale-out-digits")
print(again)
print(len(again.metrics()), "values stored")
again.actions()[["kind", "trial", "result"]].tail()
"""),
    code("""
client.close()
cluster.close()
"""),
    md("""
## On a real cluster

```python
from dask_kubernetes.operator import KubeCluster    # or: from dask_jobqueue import SLURMCluster
cluster = KubeCluster(name="hpo", image="my-image-with-hpo_lab")
cluster.scale(8)
session = hl.Session(objective, storage="postgresql://user@db-host/hpo",
                     executor=Client(cluster), n_workers=8)
```

With GPU workers started as `--resources GPU=1`,
`executor=hl.executors.DaskExecutor(client, resources={"GPU": 0.5})` runs two trials per GPU.
"""),
]


if __name__ == "__main__":
    write("quickstart.ipynb", QUICKSTART)
    write("scale_out.ipynb", SCALE_OUT)
    print("wrote", NOTEBOOKS / "quickstart.ipynb", "and", NOTEBOOKS / "scale_out.ipynb")

    import tutorials  # the other tutorials' cells: tools/tutorials.py

    for name, cells in tutorials.NOTEBOOKS.items():
        write(name, cells)
        print("wrote", NOTEBOOKS / name)
