"""CUDA runs match CPU runs; traces stay on the GPU. Skipped without a CUDA device."""

from __future__ import annotations

import pytest
import torch

from hpo_lab.hypergrad import gd_map, report_trace

from .problems import DT, FakeTrial, make_ridge
from .test_offline import METHODS
from .test_trace import ONLINE, make, train_step

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize("name", list(ONLINE))
def test_online_optimizers_on_cuda_match_cpu(name):
    runs = {}
    for device in ("cpu", "cuda"):
        opt, params, closure_style = make(name, device=device)
        trial = FakeTrial()
        for step in range(5):
            train_step(opt, params, closure_style)
            report_trace(trial, step, opt)
        runs[device] = (params, trial.reports)
    for _, metrics in runs["cuda"][1]:
        assert all(v.is_cuda and v.dim() == 0 for v in metrics.values())
    for (_, cpu), (_, gpu) in zip(runs["cpu"][1], runs["cuda"][1]):
        for key in cpu:
            torch.testing.assert_close(gpu[key].cpu(), cpu[key], rtol=1e-9, atol=1e-12)
    for a, b in zip(*(runs[d][0] for d in ("cpu", "cuda"))):
        torch.testing.assert_close(b.detach().cpu(), a.detach(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(ONLINE))
def test_online_optimizers_on_cuda_float32(name):
    opt, params, closure_style = make(name, device="cuda", dtype=torch.float32)
    for _ in range(3):
        train_step(opt, params, closure_style)
    trace = opt.hyper_trace()
    assert all(v.is_cuda and v.dtype == torch.float32 for v in trace.values())
    assert torch.isfinite(torch.stack(list(trace.values()))).all()


@pytest.mark.parametrize("name", list(METHODS))
def test_offline_methods_on_cuda_match_closed_form(name):
    method, settings = METHODS[name]
    r = make_ridge(device="cuda")
    lam = torch.tensor([0.3, 0.1, 0.6, 0.2, 0.4], dtype=DT, device="cuda", requires_grad=True)
    step = gd_map(r.inner, lr=1.0 / r.lipschitz(0.6))
    res = method(
        [torch.zeros(5, dtype=DT, device="cuda")], [lam], step, r.outer, n_steps=400, **settings
    )
    assert res.hypergrads[0].is_cuda and res.final_params[0].is_cuda
    torch.testing.assert_close(res.hypergrads[0], r.hypergrad(lam.detach()), rtol=1e-7, atol=1e-12)
