"""SGD-HD and Adam-HD against hand-written reference rules (Baydin et al. 2018) and torch.optim."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from hpo_lab.examples.hyper_cleaning import compare_learning_curves
from hpo_lab.hypergrad import SGDHD, AdamHD

from .problems import DT

H1 = torch.tensor([[2.0, 0.3], [0.3, 1.0]], dtype=DT)
H2 = torch.diag(torch.tensor([0.5, 1.5, 3.0], dtype=DT))
C1 = torch.tensor([1.0, -1.0], dtype=DT)
C2 = torch.tensor([0.5, 0.0, -2.0], dtype=DT)
START = (torch.tensor([1.0, 2.0], dtype=DT), torch.tensor([-1.0, 0.5, 1.0], dtype=DT))


def quad_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Two-tensor quadratic ½aᵀH₁a - c₁ᵀa + ½bᵀH₂b - c₂ᵀb, gradient (H₁a - c₁, H₂b - c₂)."""
    return 0.5 * a @ H1 @ a - C1 @ a + 0.5 * b @ H2 @ b - C2 @ b


def quad_grads(a, b):
    return [H1 @ a - C1, H2 @ b - C2]


def run_optimizer(opt_factory, steps):
    params = [torch.nn.Parameter(s.clone()) for s in START]
    opt = opt_factory(params)
    lrs, traces = [], []
    for _ in range(steps):
        opt.zero_grad()
        quad_loss(*params).backward()
        opt.step()
        lrs.append([torch.as_tensor(g["lr"]).clone() for g in opt.param_groups])
        traces.append(opt.hyper_trace() if hasattr(opt, "hyper_trace") else {})
    return params, lrs, traces


def flat_dot(xs, ys):
    return sum(float(x @ y) for x, y in zip(xs, ys))


def sgd_hd_reference(lr, beta, steps, momentum=0.0, nesterov=False, wd=0.0, dampening=0.0):
    """SGD(N)-HD from the paper's update rules, in plain float arithmetic on the two tensors."""
    p = [s.clone() for s in START]
    buf, prev_dir, lrs, hgs = None, None, [], []
    for _ in range(steps):
        g = [gi + wd * pi for gi, pi in zip(quad_grads(*p), p)]
        h = 0.0 if prev_dir is None else -flat_dot(g, prev_dir)
        lr = lr - beta * h
        if momentum:
            if buf is None:
                buf = [gi.clone() for gi in g]
            else:
                buf = [momentum * bi + (1 - dampening) * gi for bi, gi in zip(buf, g)]
            d = [gi + momentum * bi for gi, bi in zip(g, buf)] if nesterov else buf
        else:
            d = g
        p = [pi - lr * di for pi, di in zip(p, d)]
        prev_dir = [di.clone() for di in d]
        lrs.append(lr)
        hgs.append(h)
    return p, lrs, hgs


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"momentum": 0.9},
        {"momentum": 0.9, "nesterov": True},
        {"momentum": 0.5, "dampening": 0.3, "weight_decay": 0.1},
    ],
    ids=["sgd", "momentum", "nesterov", "damped-wd"],
)
def test_sgd_hd_follows_the_paper_rule(kwargs):
    steps, lr, beta = 6, 0.05, 0.02
    params, lrs, traces = run_optimizer(
        lambda p: SGDHD(p, lr=lr, hypergrad_lr=beta, **kwargs), steps
    )
    ref_p, ref_lrs, ref_hgs = sgd_hd_reference(
        lr,
        beta,
        steps,
        momentum=kwargs.get("momentum", 0.0),
        nesterov=kwargs.get("nesterov", False),
        wd=kwargs.get("weight_decay", 0.0),
        dampening=kwargs.get("dampening", 0.0),
    )
    for got, want in zip(lrs, ref_lrs):
        assert float(got[0]) == pytest.approx(want, rel=1e-12)
    for trace, h in zip(traces, ref_hgs):
        assert float(trace["hypergrad/lr"]) == pytest.approx(h, rel=1e-12, abs=1e-15)
    for p, want in zip(params, ref_p):
        torch.testing.assert_close(p.detach(), want, rtol=1e-12, atol=1e-14)
    assert ref_lrs[-1] != lr  # the learning rate really moved


def test_sgd_hd_lr_by_hand_for_two_steps():
    """α₁ = α₀ + β g₁·g₀ with g₀, g₁ written out for f(w) = ½‖w‖² (g = w)."""
    w = torch.nn.Parameter(torch.tensor([3.0, -4.0], dtype=DT))
    opt = SGDHD([w], lr=0.1, hypergrad_lr=0.01)
    for _ in range(2):
        opt.zero_grad()
        (0.5 * (w**2).sum()).backward()
        opt.step()
    # g₀ = (3, -4); w₁ = 0.9 g₀ = (2.7, -3.6) = g₁; g₁·g₀ = 8.1 + 14.4 = 22.5.
    assert float(opt.param_groups[0]["lr"]) == pytest.approx(0.1 + 0.01 * 22.5, rel=1e-14)
    assert float(opt.hyper_trace()["hypergrad/lr"]) == pytest.approx(-22.5, rel=1e-14)
    torch.testing.assert_close(w.detach(), torch.tensor([2.7, -3.6], dtype=DT) * (1 - 0.325))


def adam_hd_reference(lr, beta, steps, betas=(0.9, 0.999), eps=1e-8, wd=0.0):
    """Adam-HD from the paper: h_t = -g_t · m̂_{t-1}/(√v̂_{t-1}+ε)."""
    p = [s.clone() for s in START]
    m = [torch.zeros_like(x) for x in p]
    v = [torch.zeros_like(x) for x in p]
    prev_dir, lrs = None, []
    for t in range(1, steps + 1):
        g = [gi + wd * pi for gi, pi in zip(quad_grads(*p), p)]
        if prev_dir is not None:
            lr = lr + beta * flat_dot(g, prev_dir)
        m = [betas[0] * mi + (1 - betas[0]) * gi for mi, gi in zip(m, g)]
        v = [betas[1] * vi + (1 - betas[1]) * gi * gi for vi, gi in zip(v, g)]
        m_hat = [mi / (1 - betas[0] ** t) for mi in m]
        v_hat = [vi / (1 - betas[1] ** t) for vi in v]
        d = [mh / (vh.sqrt() + eps) for mh, vh in zip(m_hat, v_hat)]
        p = [pi - lr * di for pi, di in zip(p, d)]
        prev_dir = d
        lrs.append(lr)
    return p, lrs


@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_adam_hd_follows_the_paper_rule(wd):
    steps, lr, beta = 8, 0.05, 0.01
    params, lrs, _ = run_optimizer(
        lambda p: AdamHD(p, lr=lr, hypergrad_lr=beta, weight_decay=wd), steps
    )
    ref_p, ref_lrs = adam_hd_reference(lr, beta, steps, wd=wd)
    for got, want in zip(lrs, ref_lrs):
        assert float(got[0]) == pytest.approx(want, rel=1e-10)
    for p, want in zip(params, ref_p):
        torch.testing.assert_close(p.detach(), want, rtol=1e-10, atol=1e-12)
    assert abs(ref_lrs[-1] - lr) > 1e-3


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda p: SGDHD(p, lr=0.1, hypergrad_lr=0.0), lambda p: torch.optim.SGD(p, lr=0.1)),
        (
            lambda p: SGDHD(
                p, lr=0.1, hypergrad_lr=0, momentum=0.9, nesterov=True, weight_decay=0.01
            ),
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        ),
        (
            lambda p: SGDHD(p, lr=0.1, hypergrad_lr=0, momentum=0.8, dampening=0.2),
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, dampening=0.2),
        ),
        (
            lambda p: AdamHD(p, lr=0.01, hypergrad_lr=0.0, weight_decay=0.1),
            lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1),
        ),
    ],
    ids=["sgd", "nesterov-wd", "damped", "adam"],
)
def test_zero_hypergrad_lr_is_the_base_optimizer(ours, theirs):
    a, _, _ = run_optimizer(ours, 10)
    b, _, _ = run_optimizer(theirs, 10)
    for x, y in zip(a, b):
        torch.testing.assert_close(x.detach(), y.detach(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", [SGDHD, AdamHD])
def test_per_group_learning_rates_use_each_groups_own_hypergradient(cls):
    params = [torch.nn.Parameter(s.clone()) for s in START]
    opt = cls(
        [{"params": [params[0]], "lr": 0.05}, {"params": [params[1]], "lr": 0.02}],
        hypergrad_lr=0.01,
        per_group=True,
    )
    prev = [None, None]
    expected = [0.05, 0.02]
    for _ in range(4):
        opt.zero_grad()
        quad_loss(*params).backward()
        grads = [p.grad.clone() for p in params]
        for i in range(2):
            if prev[i] is not None:
                expected[i] += 0.01 * float(grads[i] @ prev[i])
        opt.step()
        prev = [opt.state[p]["direction"].clone() for p in params]
        for i in range(2):
            assert float(opt.param_groups[i]["lr"]) == pytest.approx(expected[i], rel=1e-12)
    assert expected[0] != pytest.approx(0.05) and expected[1] != pytest.approx(0.02)
    trace = opt.hyper_trace()
    assert set(trace) == {
        "hyper/lr/group0",
        "hyper/lr/group1",
        "hypergrad/lr/group0",
        "hypergrad/lr/group1",
        "hypergrad_norm",
    }
    norm = math.hypot(float(trace["hypergrad/lr/group0"]), float(trace["hypergrad/lr/group1"]))
    assert float(trace["hypergrad_norm"]) == pytest.approx(norm, rel=1e-6)


def test_global_learning_rate_is_shared_by_all_groups():
    params = [torch.nn.Parameter(s.clone()) for s in START]
    opt = SGDHD([{"params": [params[0]]}, {"params": [params[1]]}], lr=0.05, hypergrad_lr=0.02)
    for _ in range(5):
        opt.zero_grad()
        quad_loss(*params).backward()
        opt.step()
    assert opt.param_groups[0]["lr"] is opt.param_groups[1]["lr"]
    _, ref_lrs, _ = sgd_hd_reference(0.05, 0.02, 5)
    assert float(opt.param_groups[0]["lr"]) == pytest.approx(ref_lrs[-1], rel=1e-12)


def test_float32_parameters_keep_float32_state():
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = SGDHD([w], lr=0.1, hypergrad_lr=0.01, momentum=0.9)
    for _ in range(3):
        opt.zero_grad()
        (w**2).sum().backward()
        opt.step()
    assert opt.param_groups[0]["lr"].dtype == torch.float32
    assert w.dtype == torch.float32 and opt.state[w]["momentum_buffer"].dtype == torch.float32


def test_sgd_hd_beats_plain_sgd_from_a_too_small_learning_rate():
    """Digits MLP from lr=0.01 (too small), β=1e-3, same epochs, seeds and batches."""
    curves = compare_learning_curves(
        optimizers=("sgd", "sgd_hd"), epochs=5, lr=0.01, hypergrad_lr=1e-3, seed=0
    ).curves
    sgd, hd = curves["sgd"], curves["sgd_hd"]
    assert hd["val_loss"][-1] < 0.5 * sgd["val_loss"][-1]
    assert hd["val_acc"][-1] > sgd["val_acc"][-1]
    assert hd["lr"][-1] > 0.02 and sgd["lr"][-1] == pytest.approx(0.01)


@pytest.mark.parametrize("per_group", [False, True])
def test_param_group_added_later(per_group):
    params = [torch.nn.Parameter(s.clone()) for s in START]
    opt = SGDHD([params[0]], lr=0.05, hypergrad_lr=0.01, per_group=per_group)
    for _ in range(2):
        opt.zero_grad()
        quad_loss(*params).backward()
        opt.step()
    opt.add_param_group({"params": [params[1]], "lr": 0.02})
    assert (opt.param_groups[1]["lr"] is opt.param_groups[0]["lr"]) is not per_group
    for _ in range(2):
        opt.zero_grad()
        quad_loss(*params).backward()
        opt.step()
    keys = {"hyper/lr", "hypergrad/lr"}
    if per_group:
        keys = {f"{k}/group{i}" for k in keys for i in (0, 1)} | {"hypergrad_norm"}
    assert set(opt.hyper_trace()) == keys
    with pytest.raises(ValueError, match=r"needs one hypergrad_lr for every param group"):
        SGDHD([params[0]], hypergrad_lr=0.01).add_param_group(
            {"params": [params[1]], "hypergrad_lr": 0.1}
        )


@pytest.mark.parametrize(
    "factory",
    [
        lambda p: SGDHD(p, lr=0.02, hypergrad_lr=0.001, momentum=0.9, nesterov=True),
        lambda p: AdamHD(p, lr=0.05, hypergrad_lr=0.001),
    ],
    ids=["sgdn-hd", "adam-hd"],
)
def test_state_dict_round_trip_continues_identically(factory):
    params = [torch.nn.Parameter(s.clone()) for s in START]
    opt = factory(params)

    def step(opt, ps):
        opt.zero_grad()
        quad_loss(*ps).backward()
        opt.step()

    for _ in range(3):
        step(opt, params)
    clone = [torch.nn.Parameter(p.detach().clone()) for p in params]
    restored = factory(clone)
    restored.load_state_dict(copy.deepcopy(opt.state_dict()))  # state_dict() shares tensors
    for _ in range(3):
        step(opt, params)
        step(restored, clone)
    torch.testing.assert_close(restored.param_groups[0]["lr"], opt.param_groups[0]["lr"])
    for a, b in zip(params, clone):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-12, atol=1e-14)


def test_learning_rate_written_as_a_float_is_taken_over():
    """Schedulers and users may write a float into param_group["lr"]; HD continues from it."""
    params = [torch.nn.Parameter(s.clone()) for s in START]
    opt = SGDHD(params, lr=0.05, hypergrad_lr=0.01)
    opt.zero_grad()
    quad_loss(*params).backward()
    opt.step()
    opt.param_groups[0]["lr"] = 0.025
    opt.zero_grad()
    quad_loss(*params).backward()
    opt.step()
    lr = opt.param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor) and lr.dtype == DT
    assert float(lr) == pytest.approx(0.025 - 0.01 * float(opt.hyper_trace()["hypergrad/lr"]))
    assert float(opt.hyper_trace()["hypergrad/lr"]) != 0.0
