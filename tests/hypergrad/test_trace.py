"""The trace contract: keys, 0-dim tensors on the parameters' device, snapshots, no host sync."""

from __future__ import annotations

import pytest
import torch

from hpo_lab.hypergrad import (
    MARTHE,
    RTHO,
    SGDHD,
    AdamHD,
    OuterLoop,
    gd_map,
    hypergrad_trace,
    implicit_hypergrad,
    report_trace,
    reverse_hypergrad,
)

from .problems import DT, FakeTrial, make_ridge

ONLINE = {
    "sgd_hd": (lambda p: SGDHD(p, lr=0.05, hypergrad_lr=0.01, momentum=0.5), False),
    "adam_hd": (lambda p: AdamHD(p, lr=0.05, hypergrad_lr=0.01), False),
    "marthe": (lambda p: MARTHE(p, lr=0.05, hypergrad_lr=0.01, adapt_hypergrad_lr=0.01), True),
    "rtho": (lambda p: RTHO(p, lr=0.05, momentum=0.5, weight_decay=0.01), True),
}
KEYS = {
    "sgd_hd": {"hyper/lr", "hypergrad/lr"},
    "adam_hd": {"hyper/lr", "hypergrad/lr"},
    "marthe": {"hyper/lr", "hypergrad/lr", "hyper/hypergrad_lr"},
    "rtho": {
        "hyper/lr",
        "hyper/momentum",
        "hyper/weight_decay",
        "hypergrad/lr",
        "hypergrad/momentum",
        "hypergrad/weight_decay",
        "hypergrad_norm",
    },
}


def train_step(opt, params, closure_style):
    def loss():
        return ((params[0] - 1.0) ** 2).sum() + torch.tanh(params[1]).sum()

    if closure_style:
        opt.step(loss)
    else:
        opt.zero_grad()
        loss().backward()
        opt.step()


def make(name, device="cpu", dtype=DT):
    factory, closure_style = ONLINE[name]
    params = [
        torch.nn.Parameter(torch.linspace(-1, 1, 4, dtype=dtype, device=device)),
        torch.nn.Parameter(torch.ones(2, 3, dtype=dtype, device=device)),
    ]
    return factory(params), params, closure_style


@pytest.mark.parametrize("name", list(ONLINE))
def test_online_trace_keys_and_values(name):
    opt, params, closure_style = make(name)
    before = opt.hyper_trace()
    assert set(before) == KEYS[name]
    assert float(before["hypergrad/lr"]) == 0.0
    trial = FakeTrial()
    for step in range(7):
        train_step(opt, params, closure_style)
        report_trace(trial, step, opt, every=3)
    assert [s for s, _ in trial.reports] == [0, 3, 6]
    for _, metrics in trial.reports:
        assert set(metrics) == KEYS[name]
        for value in metrics.values():
            assert isinstance(value, torch.Tensor) and value.dim() == 0
            assert value.device == params[0].device and not value.requires_grad
    last = trial.reports[-1][1]
    assert float(last["hyper/lr"]) == float(opt.param_groups[0]["lr"])
    assert float(last["hypergrad/lr"]) != 0.0


@pytest.mark.parametrize("name", list(ONLINE))
def test_reported_values_are_snapshots(name):
    opt, params, closure_style = make(name)
    for _ in range(2):
        train_step(opt, params, closure_style)
    trace = opt.hyper_trace()
    saved = {k: float(v) for k, v in trace.items()}
    for _ in range(3):
        train_step(opt, params, closure_style)
    assert {k: float(v) for k, v in trace.items()} == saved
    assert float(opt.hyper_trace()["hyper/lr"]) != saved["hyper/lr"]


@pytest.mark.parametrize("name", list(ONLINE))
def test_step_and_trace_never_synchronise_with_the_host(name, monkeypatch):
    opt, params, closure_style = make(name)
    train_step(opt, params, closure_style)

    def forbidden(*args, **kwargs):
        raise AssertionError("host synchronisation on the hot path")

    for attr in ("item", "__bool__", "__float__", "__int__", "tolist"):
        monkeypatch.setattr(torch.Tensor, attr, forbidden)
    for _ in range(3):
        train_step(opt, params, closure_style)
        opt.hyper_trace()
    monkeypatch.undo()
    assert float(opt.hyper_trace()["hypergrad/lr"]) != 0.0


def test_hypergrad_trace_of_vector_hyperparameters():
    values = [torch.tensor(0.5), torch.tensor([1.0, -3.0, 2.0])]
    grads = [torch.tensor(3.0), torch.tensor([0.0, 4.0, 0.0])]
    trace = hypergrad_trace(["l2", "weights"], values, grads)
    assert {k: float(v) for k, v in trace.items()} == {
        "hyper/l2": 0.5,
        "hypergrad/l2": 3.0,
        "hyper/weights/mean": 0.0,
        "hyper/weights/min": -3.0,
        "hyper/weights/max": 2.0,
        "hypergrad/weights/norm": 4.0,
        "hypergrad_norm": 5.0,
    }
    with pytest.raises(ValueError, match="same length, got 1, 2 and 2"):
        hypergrad_trace(["a"], values, grads)


@pytest.mark.parametrize(
    ("method", "settings"),
    [(reverse_hypergrad, {"checkpoint_every": 5}), (implicit_hypergrad, {"solver": "cg"})],
)
def test_outer_loop_emits_one_trace_per_outer_iteration(method, settings):
    r = make_ridge()
    lam = torch.tensor(2.0, dtype=DT, requires_grad=True)
    step = gd_map(r.inner, lr=1.0 / r.lipschitz(2.0))
    loop = OuterLoop(method, {"l2": lam}, lr=0.05, **settings)
    assert set(loop.hyper_trace()) == {"hyper/l2", "hypergrad/l2"}
    trial = FakeTrial()
    for k in range(4):
        value = float(lam.detach())
        result = loop.step([torch.zeros(5, dtype=DT)], step, r.outer, n_steps=200)
        # Adam's first steps move by ≈ lr against the sign of the hypergradient.
        assert float(lam.detach()) == pytest.approx(
            value - 0.05 * float(result.hypergrads[0].sign()), rel=1e-3
        )
        torch.testing.assert_close(
            result.hypergrads[0], r.hypergrad(torch.tensor(value, dtype=DT)), rtol=1e-6, atol=0
        )
        report_trace(trial, k, loop)
    assert len(loop.history) == 4 and [s for s, _ in trial.reports] == [0, 1, 2, 3]
    last = trial.reports[-1][1]
    assert set(last) == {"hyper/l2", "hypergrad/l2", "outer_loss"}
    assert float(last["hyper/l2"]) == float(lam.detach())
    assert float(loop.history[0]["outer_loss"]) > float(loop.history[-1]["outer_loss"])


def test_report_trace_rejects_bad_arguments():
    opt, _, _ = make("sgd_hd")
    with pytest.raises(ValueError, match=r"every must be an int >= 1, got 0"):
        report_trace(FakeTrial(), 0, opt, every=0)
    with pytest.raises(ValueError, match=r"step must be an int >= 0, got -1"):
        report_trace(FakeTrial(), -1, opt)
    with pytest.raises(TypeError, match=r"trial must have a report\(step, metrics\) method, got"):
        report_trace(object(), 0, opt)
    with pytest.raises(TypeError, match=r"source must have a hyper_trace\(\) method, got int"):
        report_trace(FakeTrial(), 0, 3)
