"""Many workers reporting at once: nothing lost, nothing mixed up."""

import hpo_lab as hl


def chatty(trial):
    x = trial.suggest_float("x", 0, 1)
    for step in range(200):
        trial.report(step, loss=x + step, acc=float(trial.number), **{"hyper/lr": step * 1e-3})
    return x


def test_eight_workers_lose_no_metric():
    s = hl.Session(
        chatty,
        name="c",
        metric="loss",
        pruner="none",
        n_workers=8,
        progress=False,
        storage="runs",
        sampler="random",
    )
    s.start(16).wait()
    assert [t.state.name for t in s.trials] == ["COMPLETE"] * 16
    m = s.metrics()
    assert len(m) == 16 * 200 * 3
    for n, group in m.groupby("trial"):
        acc = group[group.name == "acc"]
        assert (acc.value == n).all() and len(acc) == 200  # no value landed in another trial
        loss = group[group.name == "loss"].sort_values("step")
        x = s.trials[n].params["x"]
        assert loss.value.tolist() == [x + i for i in range(200)]
    assert all(len(t.intermediate_values) == 200 for t in s.trials)
