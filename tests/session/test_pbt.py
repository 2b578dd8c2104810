"""PBT: exploit (fork the better) and explore (perturb), through the session's own controls."""

import time

import pytest
import torch

import hpo_lab as hl


def toy(trial):
    """A member's score grows by ``h`` per step; forks continue from the copied score."""
    h = trial.suggest_float("h", 0.0, 1.0)
    score = torch.tensor(0.0)
    start = 0
    state = trial.load_checkpoint()
    if state is not None:
        score, start = state["score"], int(state["step"]) + 1
    for step in range(start, 12):
        score = score + h
        trial.report(step, score=score)
        trial.save_checkpoint({"score": score, "step": step})
        time.sleep(0.01 * (1 + trial.number % 3))  # members progress at different speeds
    return float(score)


def test_pbt_replaces_the_bottom_with_perturbed_forks_of_the_top():
    pbt = hl.PBT(
        population=6,
        interval=2,
        quantile=0.34,
        perturb=(0.9, 1.1),
        resample_probability=0.0,
        seed=0,
    )
    s = hl.Session(
        toy,
        name="pbt",
        metric="score",
        direction="maximize",
        pruner="none",
        sampler="random",
        seed=0,
        n_workers=6,
        storage=":memory:",
        progress=False,
        scheduler=pbt,
        keep_checkpoints=3,
    )
    s.start(6).wait(120)
    assert pbt.decisions, "PBT made no exploit/explore decision"
    for d in pbt.decisions:
        replaced, child, donor = s.trials[d["replaced"]], s.trials[d["child"]], s.trials[d["donor"]]
        assert replaced.state.name == "PRUNED"
        assert replaced.user_attrs["end_reason"] == f"pbt: replaced by a fork of trial {d['donor']}"
        assert child.user_attrs["parent"] == d["donor"]
        assert child.user_attrs["pbt_generation"] == donor.user_attrs.get("pbt_generation", 0) + 1
        assert child.params["h"] == pytest.approx(donor.params["h"] * 0.9) or child.params[
            "h"
        ] == pytest.approx(min(1.0, donor.params["h"] * 1.1))
        # exploit only from a member that ranked better at the same boundary
        assert d["boundary"] % 2 == 0
    final = [t for t in s.trials if t.state.name == "COMPLETE"]
    h0 = sorted(t.params["h"] for t in s.trials[:6])
    assert max(t.params["h"] for t in final) >= h0[-2]  # the population moved towards good h
    log = s.actions()
    assert set(log[log.source == "pbt"].kind) == {"prune", "fork"}


def test_pbt_needs_a_metric_and_valid_settings():
    with pytest.raises(ValueError, match="metric="):
        hl.Session(toy, name="x", storage=":memory:", progress=False, scheduler=hl.PBT())
    with pytest.raises(TypeError, match="scheduler must be"):
        hl.Session(
            toy, name="y", metric="score", storage=":memory:", progress=False, scheduler=object()
        )
    for kw, match in [
        ({"population": 1}, "population"),
        ({"interval": 0}, "interval"),
        ({"quantile": 0.7}, "quantile"),
        ({"perturb": ()}, "perturb"),
        ({"resample_probability": 2}, "resample_probability"),
    ]:
        with pytest.raises(ValueError, match=match):
            hl.PBT(**kw)


# PBT against random search at equal epochs (the paper's qualitative result) is measured in
# benchmarks/pbt_vs_random.py, not asserted here: asynchronous PBT decides as members reach each
# epoch, so on 2 busy cores its outcome depends on thread timing (it lost 2 of 3 seeds in one CI
# run and won 5 of 5 on a quiet machine).
