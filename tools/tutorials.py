"""Cell sources of the tutorial notebooks beyond the quickstart (written by make_notebooks.py).

Each notebook runs in under a minute on two CPU cores (CI runs every one under nbval), uses its
own session names and deletes them first, so a re-run in the same folder starts afresh.
"""

from __future__ import annotations

from make_notebooks import code, md

MULTI_FIDELITY = [
    md("""
# Multi-fidelity: stop bad trials early

Most of a search's budget goes to configurations that are clearly bad after a few epochs.
*Multi-fidelity* methods look at every trial cheaply first (a few epochs: low fidelity) and
spend full training only on the promising ones. In hpo_lab this is a `pruner=`: each
`trial.report(epoch, val_loss=...)` goes to Optuna's pruner, and `report` raises
`hl.TrialPruned` when the trial should end.

This notebook runs **the same 20 configurations** of a digits MLP with no pruning, the median
rule, asynchronous successive halving (ASHA) and Hyperband, counts the epochs each spent and
compares the best value found. Then it gives ASHA the epochs that no pruning spent
and lets it search further. About half a minute on two CPU cores.
"""),
    code("""
import time

import optuna
import pandas as pd
import plotly.graph_objects as go
import torch

import hpo_lab as hl
from hpo_lab.examples.digits import digits_objective

optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "A new study created" lines
torch.set_num_threads(1)  # small models: one CPU thread per trial is fastest

EPOCHS = 12       # the maximum resource: a trial that is never pruned trains 12 epochs
N_CONFIGS = 20
PRUNERS = ["none", "median", "asha", "hyperband"]

for pruner in PRUNERS:  # start from a clean slate when this notebook is run again
    hl.delete_session(f"multi-fidelity-{pruner}", missing_ok=True)


def objective(trial: hl.Trial) -> float:
    # lr, hidden, layers, dropout, weight_decay; reports train_loss, val_loss and val_acc
    # at every epoch (steps 0 to 11) and returns the last val_loss
    return digits_objective(trial, epochs=EPOCHS)
"""),
    md("""
## Rungs: how successive halving decides

Successive halving (SHA) checks a trial at fixed *rungs*. With `min_resource=1` and reduction
factor η = 3 (hpo_lab's `"asha"`, `"sha"` and `"hyperband"`), the rungs are at steps
1, 3 and 9 — after 2, 4 and 10 epochs. At each rung a trial goes on only if its `val_loss`
is in the best third (1/η) of the trials that reached that rung; otherwise it is pruned
there. So about a third of the trials pass rung 0, a ninth pass rung 1, and so on.

- **ASHA** (`"asha"`, asynchronous) decides at once, against the trials that reached the rung
  so far. No trial ever waits, which suits parallel workers; early decisions see few rivals
  (the very first trials at a rung go on only if they are the best so far there).
- **SHA** (`"sha"`) sets `bootstrap_count=3`: the first three trials to reach each rung are
  pruned there — they only set the bar for later ones. With three rungs a trial can finish only
  once dozens of trials have run, so `"sha"` suits searches of a hundred trials or more and is
  left out here (with 20 trials it would prune every one).
- **Hyperband** (`"hyperband"`) hedges against a bad choice of the first rung: it runs
  several SHA *brackets* that start pruning at different steps (the first bracket at step 1,
  the next at step 3, ...), each trial assigned to one bracket.
- **The median rule** (`"median"`) is no rung scheme: once 5 trials have finished, from step 2
  on, a trial whose value is worse than the median of earlier trials at the same step is pruned.

## The baseline: no pruning

Random search draws 20 configurations; every one trains all 12 epochs. The sessions here run
one trial at a time (`n_workers=1`) so that every run is reproducible: trials that run at the
same time in threads share PyTorch's global random generator (weight initialisation, batch
order, dropout), so with `n_workers=2` the same configuration ends a little differently each
time.
"""),
    code("""
def epochs_used(session: hl.Session) -> int:
    # one val_loss per trained epoch, stored for every trial (pruned ones too)
    return len(session.metrics(names=["val_loss"]))


def run(pruner: str, configs: list[dict] | None = None) -> tuple[hl.Session, dict]:
    session = hl.Session(objective, name=f"multi-fidelity-{pruner}", metric="val_loss",
                         direction="minimize", sampler="random", pruner=pruner,
                         n_workers=1, seed=0, progress=False)
    for params in configs or []:
        session.study.enqueue_trial(params)  # enqueued trials run first, in order
    started = time.perf_counter()
    session.start(n_trials=N_CONFIGS).wait()
    states = session.trials_dataframe()["state"].value_counts()
    return session, {
        "pruner": pruner,
        "complete": int(states.get("COMPLETE", 0)),
        "pruned": int(states.get("PRUNED", 0)),
        "epochs": epochs_used(session),
        "best val_loss": session.best_value,
        "seconds": round(time.perf_counter() - started, 1),
    }


sessions, rows = {}, []
sessions["none"], row = run("none")
rows.append(row)
configs = [t.params for t in sessions["none"].trials]  # the 20 configurations it drew
row
"""),
    md("""
## The same configurations, pruned

Each pruned session *enqueues* the baseline's 20 configurations (Optuna's `enqueue_trial`),
so the only difference between the runs is the pruner.
"""),
    code("""
for pruner in PRUNERS[1:]:
    sessions[pruner], row = run(pruner, configs)
    rows.append(row)
table = pd.DataFrame(rows).set_index("pruner")
table["epochs saved"] = 1 - table["epochs"] / table.loc["none", "epochs"]
table.style.format({"best val_loss": "{:.4f}", "epochs saved": "{:.0%}"})
"""),
    md("""
What to look at: the pruners train a fraction of the epochs (ASHA the fewest) and here they
all keep the baseline's best trial, because the configuration that ends best is rarely one
that starts badly. On the same configurations a pruner can never beat the baseline — the
baseline trains all 20 fully — it can only lose a slow starter that would have finished well.
The point is the epochs it saves, which the last part of this notebook spends.

## Where trials stopped

Optuna's successive-halving pruner records each rung a trial completed in the trial's system
attributes (`completed_rung_0`, `completed_rung_1`, ...). Count them for the ASHA run:
"""),
    code("""
asha = sessions["asha"]
finished = [t for t in asha.trials if t.state.name in ("COMPLETE", "PRUNED")]
rung_rows = []
for k, step in enumerate([1, 3, 9]):
    reached = [t for t in finished if f"completed_rung_{k}" in t.system_attrs]
    rung_rows.append({"rung": k, "step": step, "epochs trained": step + 1,
                      "trials that reached it": len(reached)})
rung_rows.append({"rung": "end", "step": EPOCHS - 1, "epochs trained": EPOCHS,
                  "trials that reached it": sum(t.state.name == "COMPLETE" for t in finished)})
pd.DataFrame(rung_rows)
"""),
    md("""
Each pruned trial's learning curve ends at a rung (dotted lines). The curves of the few
trials that went on to the end are the ones that were in the top third at every rung.
"""),
    code("""
curves = asha.metrics(names=["val_loss"])
states = {t.number: t.state.name for t in asha.trials}
fig = go.Figure()
for number, c in curves.groupby("trial"):
    done = states[number] == "COMPLETE"
    fig.add_scatter(x=c["step"], y=c["value"], mode="lines", name=f"trial {number}",
                    line={"color": "#1f77b4" if done else "#bbbbbb", "width": 2 if done else 1})
for step in (1, 3, 9):
    fig.add_vline(x=step, line_dash="dot", line_color="#888888")
fig.update_layout(title="ASHA: val_loss by epoch (blue: trained to the end)", xaxis_title="step",
                  yaxis_title="val_loss", yaxis_type="log", showlegend=False, height=380)
fig
"""),
    md("""
## What ASHA does with the epochs it saved

Give ASHA the budget of the baseline — the same number of epochs — and let it search on:
`start()` without `n_trials` runs until `stop()`, and random search keeps drawing new
configurations. The live dashboard below shows the session as it goes (curves, history,
parameters, the table with each trial's state). With trials this short its curves fill in
within seconds; in JupyterLab you can click a curve or prune a trial from the table.
"""),
    code("""
budget = int(table.loc["none", "epochs"])
asha.start()  # no n_trials: runs until stopped
asha.dashboard()
"""),
    code("""
while epochs_used(asha) < budget and asha.state == "running":
    time.sleep(0.2)
asha.stop()  # no new trials; the running one finishes (a few epochs over budget)
asha.wait()
print(f"ASHA: {len(asha.trials)} configurations in {epochs_used(asha)} epochs; "
      f"no pruning: {N_CONFIGS} configurations in {budget} epochs")


def best_by_epochs(session: hl.Session) -> tuple[list[int], list[float]]:
    # the best final val_loss so far, against the epochs spent so far (trials in order)
    per_trial = session.metrics(names=["val_loss"]).groupby("trial").size()
    spent, best, xs, ys = 0, float("inf"), [], []
    for t in session.trials:
        spent += int(per_trial.get(t.number, 0))
        if t.state.name == "COMPLETE":
            best = min(best, t.value)
        xs.append(spent)
        ys.append(best)
    return xs, ys


fig = go.Figure()
for name, s in (("no pruning", sessions["none"]), ("ASHA", asha)):
    x, y = best_by_epochs(s)
    fig.add_scatter(x=x, y=y, mode="lines", line_shape="hv", name=name)
fig.update_layout(xaxis_title="epochs spent", yaxis_title="best val_loss so far",
                  yaxis_type="log", height=350)
fig
"""),
    md("""
What to look at: ASHA reaches the baseline's best after a fraction of the epochs, then spends
the rest on about three times as many configurations. Whether one of those beats the baseline
in a search this small is luck of the draw (change the seed and see); over many searches, more
configurations for the same compute is how multi-fidelity pays off — and with a model-based
sampler such as TPE the extra configurations are not random.

"""),
    md("""
## Using it on your own objective

- Report the session's `metric` once per unit of resource (an epoch, or every *k* batches)
  with integer steps: rungs are counted in reported steps.
- Pick the rung schedule with an Optuna pruner object when the defaults do not fit, e.g.
  `pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=3, reduction_factor=4)`.
- Pruned trials keep everything they reported: `session.metrics(n)` shows their curves, and the
  dashboard draws them faded.
- With a model-based sampler (`sampler="tpe"`, the default) pruned trials still teach it: TPE
  uses their last reported values.
"""),
]


NOTEBOOKS = {
    "multi_fidelity.ipynb": MULTI_FIDELITY,
}
