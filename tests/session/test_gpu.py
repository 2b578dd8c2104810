"""GPU paths: device assignment, GPU tensors reported without a sync per call, out of memory.

Skipped without CUDA (see tests/conftest.py)."""

import pytest
import torch

import hpo_lab as hl

pytestmark = pytest.mark.gpu


def test_auto_device_gives_every_trial_a_cuda_device_round_robin():
    seen = {}

    def obj(trial):
        seen[trial.number] = str(trial.device)
        x = torch.ones(4, device=trial.device) * trial.suggest_float("x", 0, 1)
        trial.report(0, loss=x.sum())
        return float(x.sum())

    s = hl.Session(obj, name="gpu", storage=":memory:", progress=False, n_workers=2)
    s.start(4).wait()
    n = torch.cuda.device_count()
    assert set(seen.values()) == {f"cuda:{i}" for i in range(min(n, 2))}
    assert len(s.metrics()) == 4


def test_cuda_values_reported_every_step_are_all_stored():
    def obj(trial):
        w = torch.zeros((), device=trial.device)
        for step in range(500):
            w = w + 1
            trial.report(step, value=w, value_sq=w * w)
        return float(w)

    s = hl.Session(obj, name="gpu2", storage=":memory:", progress=False)
    s.start(1).wait()
    m = s.metrics(0)
    assert m["value"].tolist() == [float(i + 1) for i in range(500)]
    assert m["value_sq"].iloc[-1] == 500.0**2


def test_cuda_out_of_memory_is_a_failed_trial_and_the_cache_is_emptied():
    def hog(trial):
        trial.report(0, loss=1.0)
        torch.empty(int(1e15), dtype=torch.uint8, device=trial.device)  # far beyond any GPU
        return 0.0

    s = hl.Session(hog, name="oom", storage=":memory:", progress=False)
    s.start(1).wait()
    t = s.trials[0]
    assert t.state.name == "FAIL" and t.user_attrs["fail_reason"] == "out of memory"
    assert s.metrics(0)["loss"].tolist() == [1.0]
    s.start(1).wait()  # the session goes on
