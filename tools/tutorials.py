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
and lets it search further. About 20 seconds on two CPU cores.
"""),
    code("""
import time

import pandas as pd
import plotly.graph_objects as go
import torch

import hpo_lab as hl
from hpo_lab.examples.digits import digits_objective

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
Each pruned trial's learning curve ends at a rung (dotted lines). The few trials that went on
to the end were in the top third at every rung — or, early on, the best so far there.
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
pd.DataFrame([{"search": name, "configurations": len(s.trials), "epochs": epochs_used(s),
               "trained to the end": sum(t.state.name == "COMPLETE" for t in s.trials),
               "best val_loss": s.best_value, "best trial": s.best_trial.number}
              for name, s in (("no pruning", sessions["none"]), ("ASHA", asha))]
             ).set_index("search")
"""),
    md("""
What to look at: for the same epochs ASHA tried about three times as many configurations.
Whether one of them beats the baseline's best (compare `best trial`) is, in a search this
small, luck of the draw — change the seed and see; over many searches, more configurations for
the same compute is how multi-fidelity pays off, and with a model-based sampler such as TPE the
extra configurations are not random draws. Note also how ASHA starts: the first trials to reach
a rung go on whenever they are the best there so far, so early trials are often trained to the
end.
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


CONTROLS = [
    md("""
# Steering a search: prune, fork, constrain, pause — and PBT

A search you can watch is a search you want to steer. This notebook does from code what the
dashboard's status bar, trial table and Controls tab do, on a running search of a digits MLP:

1. **pause** it, look at the running trials, and **prune** the worst one;
2. **fork** the best one: a new trial that continues from its checkpoint with a smaller learning
   rate, with its lineage (parent, step) stored;
3. **constrain** the rest of the search: narrow a range, fix a parameter, and require an
   outcome (`val_acc >= 0.95`);
4. **resume**, and read everything back from the **action log**.

Then population-based training (PBT), which is the same fork done automatically, over and over.
About 20 seconds on two CPU cores.
"""),
    code("""
import time

import pandas as pd
import plotly.graph_objects as go
import torch
from torch import nn

import hpo_lab as hl
from hpo_lab.analysis import is_feasible
from hpo_lab.examples.digits import evaluate, load_digits_data, make_mlp

torch.set_num_threads(1)  # small models: one CPU thread per trial is fastest
for name in ("controls-digits", "controls-pbt"):  # start afresh when this notebook is run again
    hl.delete_session(name, missing_ok=True)
data = load_digits_data()
"""),
    md("""
## An objective that can be forked

A fork starts a new trial from another trial's checkpoint. The objective saves one every epoch
(`trial.save_checkpoint`) and, at its start, asks for the state it should continue from:
`trial.load_checkpoint()` returns the parent's checkpoint in a fork, `None` otherwise.
"""),
    code("""
EPOCHS = 30


def objective(trial: hl.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-3, 0.5, log=True)
    hidden = trial.suggest_int("hidden", 16, 128, log=True)
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    torch.manual_seed(trial.number)
    model = make_mlp(hidden, 1, dropout)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    start = 0
    state = trial.load_checkpoint()  # the parent's checkpoint in a fork, else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        for group in opt.param_groups:
            group["lr"] = lr  # the fork's own learning rate from here on
        start = state["epoch"] + 1
    val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
    for epoch in range(start, EPOCHS):
        for i in range(0, len(data.x_train), 64):
            loss = nn.functional.cross_entropy(model(data.x_train[i:i + 64]),
                                               data.y_train[i:i + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        trial.report(epoch, val_loss=val_loss, val_acc=val_acc)
        trial.save_checkpoint({"model": model.state_dict(), "opt": opt.state_dict(),
                               "epoch": epoch})
    return float(val_loss)
"""),
    md("""
## Start, and follow it live

`session.bus.subscribe(callback)` delivers every event (a batch every 0.1 s, on a thread of its
own); here it keeps each running trial's latest step and `val_loss`, so the code below can act
on what it sees, as you would looking at the dashboard.
"""),
    code("""
session = hl.Session(objective, name="controls-digits", metric="val_loss", direction="minimize",
                     sampler="tpe", pruner="none", n_workers=2, seed=0, progress=False)
latest = {}  # trial number -> (step, val_loss)


def follow(events):
    for e in events:
        if isinstance(e, hl.MetricsReported) and "val_loss" in e.values:
            latest[e.number] = (e.step, e.values["val_loss"])


session.bus.subscribe(follow)
session.start(n_trials=10)
session.dashboard()  # the same controls: status bar, trial table, and the Controls tab
"""),
    md("""
## Pause, prune, fork

`pause()` starts no new trials and holds the running ones at their next `report` (pass
`hold_running=False` to let them finish). While they wait, compare them: prune the worst,
fork the best with a third of its learning rate — a step decay chosen by hand.
"""),
    code("""
def wait_until(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the search did not get there in time")
        time.sleep(0.05)


# both workers busy, each running trial at least 4 epochs in
wait_until(lambda: len(session.running) == 2
           and all(latest.get(n, (-1,))[0] >= 3 for n in session.running))
session.pause()
time.sleep(0.3)  # running trials stop at their next report
held = [n for n in session.running if n in latest]
print("state:", session.state, "| held trials (step, val_loss):",
      {n: (int(latest[n][0]), round(latest[n][1], 3)) for n in held})
"""),
    code("""
worst = max(held, key=lambda n: latest[n][1])
best = min(held, key=lambda n: latest[n][1])
session.prune(worst)  # it ends as PRUNED at once: it was waiting at a report
parent_lr = session.trials[best].params["lr"]
child = session.fork(best, overrides={"lr": parent_lr / 3})  # from its latest checkpoint
print(f"pruned trial {worst}; forked trial {best} (lr {parent_lr:.4f}) into trial {child} "
      f"(lr {parent_lr / 3:.4f})")
"""),
    md("""
## Constrain the rest of the search

Constraints apply to every trial that samples from now on, whatever the sampler (TPE keeps its
history: it is wrapped, not reset):

- `constrain("lr", low=..., high=...)` narrows a range; `choices=[...]` restricts a categorical;
  `fixed=...` fixes a parameter;
- `constrain("val_acc >= 0.95")` is an *outcome* constraint on a returned objective, a reported
  series (its last value) or a user attribute: each trial that ends from now on is marked
  feasible or not (Optuna's `set_constraint`, which TPE uses to prefer feasible regions).
"""),
    code("""
session.constrain("lr", low=0.01, high=0.3)
session.constrain("dropout", fixed=0.0)
session.constrain("val_acc >= 0.95")
first_constrained = len(session.trials)  # trials created from here on sample inside
session.constraints.describe()
"""),
    code("""
session.resume()
session.wait()
df = session.trials_dataframe()
df["val_acc"] = session.metrics(names=["val_acc"]).groupby("trial")["value"].last()
df["parent"] = pd.array([t.user_attrs.get("parent") for t in session.trials], dtype="Int64")
df["feasible"] = [is_feasible(t) for t in session.trials]
df["constrained"] = df["number"] >= first_constrained
df[["number", "state", "value", "val_acc", "params_lr", "params_dropout", "params_hidden",
    "parent", "constrained", "feasible"]]
"""),
    md("""
What to look at: the pruned trial; the fork, whose `parent` is the trial it continued (it keeps
the parameters it was given: it was created before the constraints); and the `constrained`
trials, sampled after them, with `lr` within [0.01, 0.3] and `dropout` 0. `feasible` is `False`
where a trial that ended after the outcome constraint has `val_acc` below 0.95; trials that
ended before it carry no judgement (`True`).

## Lineage: the fork continued its parent

The child's user attributes hold its lineage, where plain Optuna sees it too: `parent`,
`fork_step` (the parent's checkpoint it started from) and `checkpoint` (that checkpoint's key).
Its learning curve starts where the parent's checkpoint was taken:
"""),
    code("""
kid = session.trials[child]
print({k: kid.user_attrs[k] for k in ("parent", "fork_step", "checkpoint")})
fig = go.Figure()
for number, label in ((best, f"parent (trial {best}), lr {parent_lr:.4f}"),
                      (child, f"fork (trial {child}), lr {parent_lr / 3:.4f}")):
    curve = session.metrics(number)["val_loss"]
    fig.add_scatter(x=curve.index, y=curve.values, mode="lines+markers", name=label)
fig.add_vline(x=kid.user_attrs["fork_step"], line_dash="dot")
fig.update_layout(xaxis_title="epoch", yaxis_title="val_loss", height=350)
fig
"""),
    md("""
## The action log

Every control — from code, the dashboard, a scheduler or a replay — is recorded with who asked,
when, what, the result, and where the search stood (`_at`: trials created and finished so far,
and the step of the trial it concerned). `session.replay_actions(other_session)` re-applies
the log to another session, each action when that session reaches the same point.
"""),
    code("""
log = session.actions()
log[["time", "source", "kind", "trial", "result", "payload"]]
"""),
    md("""
## Population-based training

PBT (Jaderberg et al. 2017) runs a population of trials in parallel and, every `interval`
epochs, replaces the worst quarter by forks of the best quarter with perturbed hyperparameters
(here the learning rate, times 0.8 or 1.2, or redrawn). Good weights spread, and each lineage
ends up following a learning-rate *schedule* found on the way — something one fixed rate per
trial cannot express. `hpo_lab.examples.pbt_digits.pbt_objective` is a fork-aware objective like
the one above (plain SGD, 8 epochs).
"""),
    code("""
from hpo_lab.examples.pbt_digits import pbt_objective

pbt = hl.PBT(population=8, interval=1, quantile=0.25, seed=0)
pbt_session = hl.Session(pbt_objective, name="controls-pbt", metric="val_loss",
                         sampler="random", pruner="none", n_workers=8, seed=0,
                         progress=False, scheduler=pbt, keep_checkpoints=2)
pbt_session.start(n_trials=8).wait()
print(len(pbt.decisions), "replacements")
pd.DataFrame(pbt.decisions, columns=["boundary", "replaced", "donor", "child", "generation",
                                    "overrides"])
"""),
    md("""
Follow the winner's lineage back to the start: each ancestor trained for a while with its own
learning rate, then its weights went on in a fork. The stored `hyper/lr` series, drawn along the
lineage, is the schedule PBT found.
"""),
    code("""
done = [t for t in pbt_session.trials if t.state.name == "COMPLETE"]
winner = min(done, key=lambda t: t.value)
lineage, t = [], winner
while True:
    lineage.append(t)
    if t.user_attrs.get("parent") is None:
        break
    t = pbt_session.trials[t.user_attrs["parent"]]
lineage.reverse()
fig = go.Figure()
for i, t in enumerate(lineage):  # each member's part: after its fork step, to its child's
    after = t.user_attrs.get("fork_step", -1)
    until = lineage[i + 1].user_attrs["fork_step"] if i + 1 < len(lineage) else 1e9
    lr = pbt_session.metrics(t.number)["hyper/lr"]
    part = lr[(lr.index > after) & (lr.index <= until)]
    fig.add_scatter(x=part.index, y=part.values, mode="lines+markers",
                    name=f"trial {t.number}")
fig.update_layout(title=f"the learning rate along trial {winner.number}'s lineage "
                        f"(val_loss {winner.value:.4f})", xaxis_title="epoch",
                  yaxis_title="lr", yaxis_type="log", height=350)
fig
"""),
    md("""
PBT decides when a member reports (events reach the scheduler in batches every 0.05 s), so with
epochs this short a member often finishes before its replacement lands, and only a few
replacements happen; with epochs of seconds or minutes there are many more.

Is it worth it? `hpo_lab.examples.pbt_digits.compare` runs PBT and random search with the same
population and gives random search as many epochs as PBT used; one run of each is noisy (trials
in threads share PyTorch's random generator, and a population of 8 on a small problem can be
lucky or not), so `benchmarks/pbt_vs_random.py` runs several seeds:

```python
from hpo_lab.examples.pbt_digits import compare
result = compare(population=8, interval=2, epochs=16, seed=0)
result.pbt_best, result.random_best, result.pbt_epochs, result.random_epochs
```
"""),
]


GRADIENT_HPO = [
    md("""
# Gradient-based hyperparameter optimisation

Black-box search (random, TPE) treats training as a function it can only evaluate. But a
learning rate, a weight decay or the weight of each training example act on training through
differentiable operations, so the validation loss has a gradient with respect to them: a
*hypergradient*. `hl.hypergrad` computes them two ways:

- **online**, inside one training run: the optimizer adapts its own learning rate as it trains
  (hypergradient descent: `SGDHD`, `AdamHD`; also `MARTHE`, `RTHO`);
- **offline**, over a whole inner training run: differentiate the validation loss through the
  training steps (`reverse_hypergrad`, `forward_hypergrad`, `implicit_hypergrad`), which scales
  to thousands of hyperparameters — here, one weight per training example.

Both report *traces* — each hyperparameter's value (`hyper/...`) and hypergradient
(`hypergrad/...`) — as ordinary trial series: stored, reloadable and live in the dashboard.
About 20 seconds on two CPU cores.
"""),
    code("""
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

import hpo_lab as hl
from hpo_lab.examples.hd_digits import hd_objective
from hpo_lab.examples.hyper_cleaning import compare_learning_curves, hyper_cleaning

torch.set_num_threads(1)  # small models: one CPU thread per trial is fastest
for name in ("gradient-hpo-hd", "gradient-hpo-cleaning"):  # start afresh on a re-run
    hl.delete_session(name, missing_ok=True)
"""),
    md("""
## Hypergradient descent: a learning rate that tunes itself

SGD-HD (Baydin et al. 2018) treats the learning rate α as a parameter. The derivative of the
loss after a step with respect to α is, up to sign, the dot product of this step's gradient
with the last one: `h_t = -g_t · g_{t-1}`. So each step also does `α ← α - β h_t`: while
successive gradients agree, α grows; when they start to disagree (overshooting), it shrinks.
β, the *hyper*-learning rate, is the only new setting, and results depend on it much less than
on α.

`compare_learning_curves` trains the same MLP on digits from the same start with the same
batches, with plain SGD and with SGD-HD, both starting from a learning rate that is too small
(α₀ = 0.01):
"""),
    code("""
curves = compare_learning_curves(optimizers=("sgd", "sgd_hd"), epochs=10, lr=0.01,
                                 hypergrad_lr=1e-3)
fig = make_subplots(rows=1, cols=2, subplot_titles=("validation loss", "learning rate"))
for name, label, color in (("sgd", "SGD", "#1f77b4"), ("sgd_hd", "SGD-HD", "#d62728")):
    c = curves.curves[name]
    line = {"color": color}
    fig.add_scatter(x=curves.epochs, y=c["val_loss"], name=label, legendgroup=label, line=line,
                    row=1, col=1)
    fig.add_scatter(x=curves.epochs, y=c["lr"], name=label, legendgroup=label, line=line,
                    showlegend=False, row=1, col=2)
fig.update_xaxes(title_text="epoch")
fig.update_yaxes(type="log", row=1, col=2)
fig.update_layout(height=350)
fig
"""),
    md("""
SGD-HD raises its learning rate several-fold over the first epochs, then levels off where
successive gradients stop agreeing; plain SGD, stuck at α₀, is still far behind after ten
epochs. (`compare_learning_curves` also runs Adam and Adam-HD:
`optimizers=("adam", "adam_hd")`.)

## Inside a session: traces as live series

Hypergradient descent moves the tuning problem from α to (α₀, β) — which a black-box search can
take over. `hd_objective` trains with `SGDHD(lr=lr0, hypergrad_lr=beta)` and calls
`report_trace(trial, step, opt)` every 5 steps, which reports `hyper/lr` (α now) and
`hypergrad/lr`. The dashboard below opens on `hyper/lr`: every trial's learning-rate schedule,
as it is being found.
"""),
    code("""
def hd(trial: hl.Trial) -> float:
    return hd_objective(trial, epochs=4)  # suggests lr0 and beta; returns val_loss


hd_session = hl.Session(hd, name="gradient-hpo-hd", metric="val_loss", sampler="random",
                        pruner="none", n_workers=2, seed=0, progress=False)
hd_session.start(n_trials=8)
hd_session.dashboard(series="hyper/lr", log_y=True)
"""),
    code("""
hd_session.wait()
lr = hd_session.metrics(names=["hyper/lr"])
final_lr = lr.groupby("trial")["value"].last()
table = pd.DataFrame([{"trial": t.number, "lr0": t.params["lr0"], "beta": t.params["beta"],
                       "final lr": final_lr[t.number], "val_loss": t.value}
                      for t in hd_session.trials]).set_index("trial")
table.sort_values("val_loss")
"""),
    code("""
fig = go.Figure()
for number, c in lr.groupby("trial"):
    fig.add_scatter(x=c["step"], y=c["value"], mode="lines", name=f"trial {number}")
fig.update_layout(title="hyper/lr: each trial's learning rate, step by step",
                  xaxis_title="optimisation step", yaxis_title="lr", yaxis_type="log", height=350)
fig
"""),
    md("""
What to look at: each trial's α leaves its `lr0` — upwards here, where most starts are below
what this network tolerates — and how fast depends on β: with β near 1e-5 it hardly moves, with
β of a few 1e-3 it grows several-fold within these 80 steps. The best trials tend to be those
whose α reached a good range early, whatever their `lr0`: a schedule found online, from
gradients the training computes anyway.

## Data hyper-cleaning: one hyperparameter per training example

Offline methods differentiate through a whole training run. Data hyper-cleaning (Franceschi et
al. 2017): half of the training labels are flipped to a wrong class; each training example gets
a weight `sigmoid(λᵢ)` in the training loss, and the 1,000 λ's are learned by gradient descent
on the loss of a small *clean* validation set. The hypergradient `∂ val_loss / ∂λ` comes from
`reverse_hypergrad`: back-propagation through the last 20 of the 100 inner gradient steps
(truncation trades a little bias for memory and time). Examples whose weight ends below 0.5
are flagged as mislabelled.
"""),
    code("""
r = hyper_cleaning(n_train=1000, n_val=200, flip_fraction=0.5, outer_steps=30, inner_steps=100,
                   method="reverse", truncate=20, seed=0)
pd.DataFrame({"test accuracy": [r.test_acc_noisy, r.test_acc_cleaned, r.test_acc_oracle]},
             index=["all noisy labels, equal weights", "learned weights (hyper-cleaning)",
                    "oracle: only the unflipped examples"])
"""),
    code("""
print(f"flagged the flipped labels with precision {r.precision:.2f}, recall {r.recall:.2f} "
      f"(F1 {r.f1:.2f}) in {r.seconds:.1f} s")
fig = make_subplots(rows=1, cols=2, subplot_titles=("learned example weights",
                                                    "validation loss (outer objective)"))
fig.add_histogram(x=r.weights[r.flipped], name="flipped label", nbinsx=30, row=1, col=1)
fig.add_histogram(x=r.weights[~r.flipped], name="correct label", nbinsx=30, row=1, col=1)
fig.add_scatter(x=list(range(len(r.val_losses))), y=r.val_losses, name="val loss",
                showlegend=False, row=1, col=2)
fig.update_xaxes(title_text="weight sigmoid(λ)", row=1, col=1)
fig.update_xaxes(title_text="outer iteration", row=1, col=2)
fig.update_layout(barmode="overlay", height=350)
fig.update_traces(opacity=0.7, selector={"type": "histogram"})
fig
"""),
    md("""
## Gradient-based inside black-box: tuning the outer loop

Hypergradient methods have settings of their own — the outer learning rate, the truncation.
Run them as trials: with `trial=trial`, `hyper_cleaning` reports the outer loop's trace after
each outer iteration (`report_trace(trial, k, loop)`): `outer_loss`, the mean, min and max of
the λ's and the hypergradient's norm. The session's metric is `outer_loss`, so the dashboard
draws the outer optimisation of each trial as its learning curve. A smaller problem (500
examples) keeps it quick.
"""),
    code("""
def cleaning(trial: hl.Trial) -> float:
    outer_lr = trial.suggest_float("outer_lr", 0.03, 1.0, log=True)
    truncate = trial.suggest_categorical("truncate", [5, 20])
    r = hyper_cleaning(n_train=500, n_val=100, outer_steps=15, inner_steps=50,
                       outer_lr=outer_lr, truncate=truncate, seed=0, trial=trial)
    trial.set_user_attr("f1", r.f1)
    trial.set_user_attr("test_acc", r.test_acc_cleaned)
    return r.val_losses[-1]  # the clean validation loss: never the test set


cleaning_session = hl.Session(cleaning, name="gradient-hpo-cleaning", metric="outer_loss",
                              sampler="tpe", pruner="none", n_workers=2, seed=0, progress=False)
cleaning_session.start(n_trials=4)
cleaning_session
"""),
    code("""
cleaning_session.wait()
df = cleaning_session.trials_dataframe()
df[["number", "value", "params_outer_lr", "params_truncate", "user_attrs_f1",
    "user_attrs_test_acc"]].sort_values("value")
"""),
    code("""
trace = cleaning_session.metrics(names=["hypergrad/example_logit/norm", "hyper/example_logit/mean"])
fig = make_subplots(rows=1, cols=2, subplot_titles=("hypergradient norm", "mean λ"))
colors = plotly.colors.qualitative.Plotly
for col, name in enumerate(["hypergrad/example_logit/norm", "hyper/example_logit/mean"], 1):
    for number, c in trace[trace["name"] == name].groupby("trial"):
        fig.add_scatter(x=c["step"], y=c["value"], mode="lines", name=f"trial {number}",
                        line={"color": colors[number % len(colors)]}, legendgroup=str(number),
                        showlegend=col == 1, row=1, col=col)
fig.update_xaxes(title_text="outer iteration")
fig.update_layout(height=350)
fig
"""),
    md("""
The traces are stored like any other series: `hl.Session.load("gradient-hpo-cleaning")` in a
new kernel finds them, and `session.metrics(n)` gives one trial's as a table.

## Further

- `reverse_hypergrad`, `forward_hypergrad` and `implicit_hypergrad` share one signature
  `method(params, hparams, update_map, outer_loss, n_steps=...)`, so they swap freely;
  `OuterLoop` runs an outer optimiser around any of them (`hyper_cleaning(method="implicit")`
  uses conjugate gradients at the inner solution instead of unrolling).
- `benchmarks/hypergrad_cost.py` and `benchmarks/hyper_cleaning.py` measure time, memory and
  the results above at full size.
"""),
]


MULTI_OBJECTIVE = [
    md("""
# Several objectives: the Pareto front

A bigger network classifies digits better but costs more parameters (memory, latency). There is
no single best model, only *trade-offs*: a model is **Pareto-optimal** when no other model is
better on one objective without being worse on another. The set of them is the **Pareto front**;
the search's job is to find it, and yours is to pick a point on it.

This notebook searches a digits MLP's width, depth, learning rate and dropout for two objectives
— validation error and parameter count, both minimised — with an outcome constraint, then draws
the front and its hypervolume from `hpo_lab.analysis` and picks trials from the front by stated
rules. About 15 seconds on two CPU cores.
"""),
    code("""
import functools

import pandas as pd
import plotly.graph_objects as go
import torch

import hpo_lab as hl
from hpo_lab.analysis import (
    IncrementalFront,
    is_feasible,
    pareto_front_data,
    suggest_reference_point,
)
from hpo_lab.examples.digits_multi import DIRECTIONS, digits_multi_objective
from hpo_lab.export import choose_trial

torch.set_num_threads(1)  # small models: one CPU thread per trial is fastest
hl.delete_session("multi-objective-digits", missing_ok=True)  # start afresh on a re-run
DIRECTIONS
"""),
    md("""
## Named objectives

`digits_multi_objective` returns a dict — `{"val_error": ..., "params": ..., "latency_ms": ...}`
— and `directions=` names the objectives the session optimises (the others are kept as user
attributes). `metric="val_error"` is the series the dashboard's learning curves show.

The sampler is multi-objective TPE (`sampler="tpe"`; the default with several objectives is
NSGA-II, `"nsga2"`, a genetic algorithm whose first generation of 50 random trials is more
than this whole search).

An **outcome constraint** says which results count at all: here, models with more than 10 %
validation error are of no use, so `constrain("val_error <= 0.1")` marks them *infeasible*.
They stay in the study, drawn apart; they never join the front, and TPE uses the constraint to
prefer the feasible region. Constraints can also be added while a search runs (the *controls*
notebook does that).
"""),
    code("""
session = hl.Session(functools.partial(digits_multi_objective, epochs=6),
                     name="multi-objective-digits", directions=DIRECTIONS, metric="val_error",
                     sampler="tpe", n_workers=2, seed=0, progress=False)
session.constrain("val_error <= 0.1")
session.start(n_trials=30)
session.dashboard()
"""),
    code("""
session.wait()
df = session.trials_dataframe()
df["feasible"] = [is_feasible(t) for t in session.trials]
df[["number", "values_val_error", "values_params", "params_hidden", "params_layers",
    "user_attrs_latency_ms", "feasible"]].sort_values("values_params").head(10)
"""),
    md("""
## The front, computed then drawn

`pareto_front_data(session, reference_point=...)` returns a small record: the front (sorted by
the first objective), the dominated and the infeasible points, and the **hypervolume** — the
area the front dominates up to a *reference point* that is worse than every point that should
count. The larger the hypervolume, the better the front. `suggest_reference_point` puts the
reference just beyond the worst feasible values.
"""),
    code("""
feasible = pareto_front_data(session)
ref = suggest_reference_point([p.values for p in feasible.front + feasible.dominated],
                              DIRECTIONS)
data = pareto_front_data(session, reference_point=ref)
front = IncrementalFront.from_study(session, reference_point=ref)
print(f"{len(data.front)} trials on the front, {len(data.dominated)} dominated, "
      f"{len(data.infeasible)} infeasible; reference point {ref}; "
      f"hypervolume {data.hypervolume:.4g}")
pd.DataFrame([{"trial": p.number, **dict(zip(data.names, p.values))} for p in data.front])
"""),
    code("""
def points(pts):
    return [p.values[0] for p in pts], [p.values[1] for p in pts], [p.number for p in pts]


fig = go.Figure()
line = front.step_line()  # the staircase the front dominates, closed at the reference point
fig.add_scatter(x=line.x, y=line.y, mode="lines", name="front (staircase)",
                line={"shape": "linear", "color": "#1f77b4"})
for pts, name, marker in ((data.infeasible, "infeasible (val_error > 0.1)",
                           {"symbol": "x", "color": "#cccccc"}),
                          (data.dominated, "dominated", {"color": "#9ecae1"}),
                          (data.front, "Pareto front", {"color": "#1f77b4", "size": 10})):
    x, y, numbers = points(pts)
    fig.add_scatter(x=x, y=y, mode="markers", name=name, marker=marker, text=numbers,
                    hovertemplate="trial %{text}: error %{x:.3f}, %{y} params")
fig.add_scatter(x=[ref[0]], y=[ref[1]], mode="markers", name="reference point",
                marker={"symbol": "star", "size": 12, "color": "#ff7f0e"})
fig.add_vline(x=0.1, line_dash="dot", line_color="#888888",
              annotation_text="val_error <= 0.1")
fig.update_layout(xaxis_title="validation error", yaxis_title="parameters", yaxis_type="log",
                  height=420)
fig
"""),
    md("""
The hypervolume after each trial shows how the search improved the front: flat steps are trials
that did not change it (dominated or infeasible).
"""),
    code("""
history = front.hypervolume_history()
fig = go.Figure(go.Scatter(x=list(history.numbers), y=list(history.values), mode="lines+markers"))
fig.update_layout(xaxis_title="trial", yaxis_title="hypervolume", height=300)
fig
"""),
    md("""
## Picking a trial from the front

No trial is "the best" — `session.best_trial` says so, and `session.export()` without a choice
lists the front. A choice needs a stated rule; `hpo_lab.export.choose_trial` knows three, and
`session.export(trial=...)` takes the same ones:

- `"best:val_error"` (or `"best:params"`): the front's best on one objective;
- `"knee"`: the point where the trade-off turns — the smallest sum of the two objectives, each
  scaled to [0, 1] over the front;
- weights, e.g. `{"val_error": 3, "params": 1}`: the smallest weighted sum of the scaled
  objectives (here error counts three times as much as size).
"""),
    code("""
rows = []
for rule in ("best:val_error", "knee", {"val_error": 3, "params": 1}, "best:params"):
    choice = choose_trial(session.study, rule, names=session.objective_names)
    t = choice.trial
    rows.append({"rule": str(rule), "trial": t.number, "val_error": t.values[0],
                 "params": int(t.values[1]), "hidden": t.params["hidden"],
                 "layers": t.params["layers"]})
pd.DataFrame(rows).set_index("rule")
"""),
    code("""
knee = choose_trial(session.study, "knee", names=session.objective_names)
print(knee.description)
session.metrics(knee.trial.number)  # its learning curves, as for any trial
"""),
    md("""
`session.export(trial="knee", path="knee.py")` writes that trial as a runnable script (see the
*export and resume* notebook). For three objectives — add `latency_ms` with
`directions=hpo_lab.examples.digits_multi.DIRECTIONS_WITH_LATENCY` — the same functions work:
`front.projections()` gives one staircase per pair of objectives, for a scatter matrix.
"""),
]


EXPORT_AND_RESUME = [
    md("""
# Export the winner, and resume after a kernel restart

Two ways a search outlives the notebook:

1. **Export** a trial as a standalone script (or JSON, YAML, a notebook) that re-runs it with its
   parameters fixed — to train the final model elsewhere, or to hand it to someone. The script is
   run here in a fresh Python process, and reproduces the trial's value.
2. **Resume**: everything a session does is stored as it happens, so a kernel that restarts — or
   dies — loses nothing but the trials it was running. `hl.Session.load(name)` finds the trials,
   their series and the action log, and the search goes on.

About 25 seconds on two CPU cores.
"""),
    code("""
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

import hpo_lab as hl
from hpo_lab.examples.digits import digits_objective, evaluate, load_digits_data, make_mlp
from hpo_lab.export import load_export

torch.set_num_threads(1)  # small models: one CPU thread per trial is fastest
for name in ("export-digits", "resume-digits"):  # start afresh when this notebook is run again
    hl.delete_session(name, missing_ok=True)
out = Path(tempfile.mkdtemp(prefix="hpo_lab_tutorial_"))  # exported files go here
data = load_digits_data()
"""),
    md("""
## A seeded objective

For an export to reproduce a trial, the trial must be reproducible: everything random is seeded
from `trial.number` (the exported script runs with the same number). The session runs one trial
at a time: trials running together in threads would share PyTorch's global random generator.
"""),
    code("""
def objective(trial: hl.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-3, 0.3, log=True)
    hidden = trial.suggest_int("hidden", 16, 128, log=True)
    torch.manual_seed(trial.number)
    model = make_mlp(hidden, 1, 0.0)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    order = torch.Generator().manual_seed(trial.number)
    for epoch in range(8):
        perm = torch.randperm(len(data.x_train), generator=order)
        for i in range(0, len(perm), 128):
            idx = perm[i:i + 128]
            loss = nn.functional.cross_entropy(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_loss, val_acc = evaluate(model, data.x_val, data.y_val)
        trial.report(epoch, val_loss=val_loss, val_acc=val_acc)
    return float(val_loss)


session = hl.Session(objective, name="export-digits", metric="val_loss", direction="minimize",
                     n_workers=1, seed=0, progress=False)
session.start(n_trials=8).wait()
best = session.best_trial
print(f"best val_loss {best.value:.6f} in trial {best.number}: {best.params}")
"""),
    md("""
## Export as a script

`session.export(path="best.py")` writes the best trial (`trial=` picks another, by number or —
with several objectives — by a rule such as `"knee"`). The script holds the objective's source as
written in this notebook (captured when the session started), the imports and statements it
needs (here: `data = load_digits_data()`), the parameters, and a `__main__` that runs the
objective once with `hl.FixedTrial`. Storage locations and credentials never appear in it.
"""),
    code("""
script = session.export(path=out / "best.py")
print(script.read_text())
"""),
    md("""
Run it in a fresh Python process, as anyone would (`python best.py`), and compare its result
with the value the search recorded. It needs hpo_lab only for `FixedTrial`; it uses no storage.
With another number of CPU threads (the script runs with PyTorch's default, this notebook with
one) or on another machine, floating-point sums may differ in the last digits: hence a
tolerance.
"""),
    code("""
run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
print(run.stdout[-600:] or run.stderr[-2000:])
result = float(next(line.split(":", 1)[1] for line in run.stdout.splitlines()
                    if line.startswith("result:")))
print(f"script: {result:.6f}   search: {best.value:.6f}   "
      f"difference: {abs(result - best.value):.1e}")
assert abs(result - best.value) <= 1e-4 * max(1.0, abs(best.value))
"""),
    md("""
## Export as data

`json` (and `yaml`) exports hold the same record as data: parameters, values, the objective's
source, lineage for forked trials. `load_export` reads one back, and `hl.FixedTrial.from_export`
turns it into a trial to call any objective with — here, this notebook's own:
"""),
    code("""
path = session.export(path=out / "best.json")
exported = json.loads(path.read_text())
print(json.dumps({k: exported[k] for k in ("session", "trial", "params", "values", "choice",
                                           "lineage")}, indent=1))
print("the objective's code:", exported["objective"]["imports"], "+",
      len(exported["objective"]["blocks"]), "blocks")
record = load_export(path)
again_value = objective(hl.FixedTrial.from_export(record, verbose=False))
print(f"re-run here: {again_value:.6f} (recorded {record.values['value']:.6f})")
"""),
    md("""
The command line does the same from storage alone, in any process — no notebook needed:
`hpo-lab export --study export-digits -o best.py` (the best trial; `--trial 3` for another,
`--storage` where the session is not in the default folder).

## Resume after a kernel restart

A restart cannot happen inside this notebook (it would end it), so it happens to **another
Python process** instead: the cell below starts a search in a separate interpreter — in this
folder, so it uses the same default storage (`.hpo_lab/`, or `$HPO_LAB_DIR`) — waits until it
has created a few trials, and kills it with SIGKILL, as a crashing or restarted kernel would die:
no clean-up, the trials it was running cut off mid-training.
"""),
    code("""
first_kernel = out / "first_kernel.py"
first_kernel.write_text('''
import functools

import hpo_lab as hl
from hpo_lab.examples.digits import digits_objective

session = hl.Session(functools.partial(digits_objective, epochs=8), name="resume-digits",
                     metric="val_loss", direction="minimize", sampler="tpe", n_workers=2,
                     seed=0, progress=False)
session.start(n_trials=50)
session.wait()
''')
env = {**os.environ, "OMP_NUM_THREADS": "1"}
log = out / "first_kernel.log"
with open(log, "w") as stderr:
    proc = subprocess.Popen([sys.executable, str(first_kernel)], cwd=os.getcwd(), env=env,
                            stderr=stderr)
deadline = time.monotonic() + 120
while True:  # wait until it has created 7 trials: at least 5 of them finished
    sessions = hl.list_sessions()
    created = sessions.loc[sessions["name"] == "resume-digits", "n_trials"]
    if len(created) and created.iloc[0] >= 7:
        break
    if proc.poll() is not None or time.monotonic() > deadline:
        raise RuntimeError(f"the first process ended early: {log.read_text()[-2000:]}")
    time.sleep(0.1)
time.sleep(0.3)  # let the running trials report a few epochs
proc.kill()  # SIGKILL: no atexit, no flush
proc.wait()
print("first process killed, exit code", proc.returncode)
"""),
    md("""
Now load it — exactly the cell you would run in a new kernel. `Session.load` restores the
directions, metric, sampler and pruner from storage; `objective=` is needed only to run more
trials. Trials that were running in the dead process are marked FAIL with the reason (a dead
process on this machine is recognised at once; on another machine, after `stale_after` seconds
without a heartbeat).

If the process died in the middle of appending to the journal file, it left the file's lock
behind: the first access then waits 10 seconds before breaking it, and Optuna logs two warnings
saying so ("taking longer than 10.0 seconds to acquire the lock file", "Forcibly releasing the
lock file"). Nothing that was written is lost.
"""),
    code("""
same_objective = functools.partial(digits_objective, epochs=8)  # as in the first process
resumed = hl.Session.load("resume-digits", objective=same_objective, n_workers=2, progress=False)
print(resumed)
df = resumed.trials_dataframe()
df[["number", "state", "value", "last_step", "user_attrs_fail_reason"]]
"""),
    md("""
Every value reported up to half a second before the kill is there — also the partial curves of
the trials that died (`last_step` above), and the action log of the first process:
"""),
    code("""
metrics = resumed.metrics()
print(len(metrics), "values stored;", metrics["name"].unique().tolist())
resumed.actions()[["time", "source", "kind", "payload"]]
"""),
    md("""
Continue the search: TPE sees every earlier trial (its history lives in the study), new trials
are numbered on, and the dashboard of `resumed` shows the whole session.
"""),
    code("""
before = resumed.best_value
resumed.start(n_trials=6).wait()
states = resumed.trials_dataframe()["state"].value_counts().to_dict()
print(f"{len(resumed.trials)} trials {states}; best val_loss {before:.4f} before resuming, "
      f"{resumed.best_value:.4f} now (trial {resumed.best_trial.number})")
resumed
"""),
]


NOTEBOOKS = {
    "multi_fidelity.ipynb": MULTI_FIDELITY,
    "controls.ipynb": CONTROLS,
    "gradient_hpo.ipynb": GRADIENT_HPO,
    "multi_objective.ipynb": MULTI_OBJECTIVE,
    "export_and_resume.ipynb": EXPORT_AND_RESUME,
}
