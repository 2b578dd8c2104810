"""RTHO and MARTHE against exact forward-mode derivatives and against each other / SGD-HD."""

from __future__ import annotations

import copy

import pytest
import torch

from hpo_lab.hypergrad import MARTHE, RTHO, SGDHD

from .problems import DT
from .test_hd import C1, C2, H1, H2, START, quad_loss

TARGET = (torch.tensor([0.5, 0.5], dtype=DT), torch.tensor([0.0, 1.0, -0.5], dtype=DT))
H = torch.block_diag(H1, H2)
C = torch.cat([C1, C2])


def val_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 0.5 * ((a - TARGET[0]) ** 2).sum() + 0.5 * ((b - TARGET[1]) ** 2).sum()


def tanh_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A non-quadratic training loss (its Hessian changes along the trajectory)."""
    return torch.tanh(a @ H1 @ a - 1.0) + ((b - 0.3) ** 4).sum() + 0.1 * (a @ a + b @ b)


def fresh_params():
    return [torch.nn.Parameter(s.clone()) for s in START]


def unrolled_derivatives(train, outer, lr, mom, wd, steps, names, direct_wd=False):
    """dE(w_t)/dλ for t = 0..steps-1 by autograd through SGD-with-momentum, hypers constant."""
    hyp = {
        n: torch.tensor(v, dtype=DT, requires_grad=True)
        for n, v in (("lr", lr), ("momentum", mom), ("weight_decay", wd))
    }
    w = [s.clone() for s in START]
    v = [torch.zeros_like(x) for x in w]
    out = []
    for _ in range(steps):
        e = outer(*w)
        if direct_wd:  # the training objective incl. L2, with γ held fixed in E itself
            e = e + 0.5 * wd * sum((x**2).sum() for x in w)
        if e.requires_grad:  # w_0 does not depend on the hyperparameters
            ds = torch.autograd.grad(e, [hyp[n] for n in names], retain_graph=True)
            out.append([float(d) for d in ds])
        else:
            out.append([0.0] * len(names))
        leaves = [x if x.requires_grad else x.detach().requires_grad_() for x in w]
        g = torch.autograd.grad(train(*leaves), leaves, create_graph=True)
        w = leaves
        v = [hyp["momentum"] * vi + gi + hyp["weight_decay"] * wi for vi, gi, wi in zip(v, g, w)]
        w = [wi - hyp["lr"] * vi for wi, vi in zip(w, v)]
    return out


@pytest.mark.parametrize("train", [quad_loss, tanh_loss], ids=["quadratic", "tanh"])
@pytest.mark.parametrize("outer", ["validation", "training"])
def test_rtho_hypergradient_is_the_exact_forward_mode_derivative(train, outer):
    lr, mom, wd, steps = 0.05, 0.7, 0.1, 8
    params = fresh_params()
    opt = RTHO(params, lr=lr, momentum=mom, weight_decay=wd, hypergrad_lr=0.0)
    outer_closure = (lambda: val_loss(*params)) if outer == "validation" else None
    names = ("lr", "momentum", "weight_decay")
    got = []
    for _ in range(steps):
        opt.step(lambda: train(*params), outer_closure)
        trace = opt.hyper_trace()
        got.append([float(trace[f"hypergrad/{n}"]) for n in names])
    want = unrolled_derivatives(
        train,
        val_loss if outer == "validation" else train,
        lr,
        mom,
        wd,
        steps,
        names,
        direct_wd=outer == "training",
    )
    assert any(abs(x) > 1e-3 for row in want for x in row)
    for g_row, w_row in zip(got, want):
        assert g_row == pytest.approx(w_row, rel=1e-9, abs=1e-12)


def test_rtho_plain_sgd_step_matches_torch_sgd_when_frozen():
    params, ref = fresh_params(), fresh_params()
    opt = RTHO(params, lr=0.05, momentum=0.6, weight_decay=0.05, hypergrad_lr=0.0)
    base = torch.optim.SGD(ref, lr=0.05, momentum=0.6, weight_decay=0.05)
    for _ in range(6):
        opt.step(lambda: quad_loss(*params))
        base.zero_grad()
        quad_loss(*ref).backward()
        base.step()
    for a, b in zip(params, ref):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-12, atol=1e-14)


def test_rtho_updates_every_k_steps_and_clips_to_the_domain():
    params = fresh_params()
    opt = RTHO(
        params,
        lr=0.05,
        momentum=0.5,
        hypergrad_lr={"lr": 1e3, "momentum": 1e3},
        tune=("lr", "momentum"),
        update_every=3,
    )
    lrs, moms = [], []
    for _ in range(7):
        opt.step(lambda: quad_loss(*params), lambda: val_loss(*params))
        lrs.append(float(opt.param_groups[0]["lr"]))
        moms.append(float(opt.param_groups[0]["momentum"]))
    assert lrs[0] == lrs[1] == lrs[2] == 0.05 and moms[:3] == [0.5] * 3
    assert lrs[3] == lrs[4] == lrs[5] and moms[3] == moms[4] == moms[5]
    assert lrs[3] != 0.05 and moms[3] != 0.5
    assert min(lrs) >= 0.0 and all(0.0 <= m <= 0.999 for m in moms)
    assert 0.0 in lrs + moms or 0.999 in moms  # β this large must hit a bound


def marthe_reference(steps, lr, beta, mu, wd=0.0, alpha=None):
    """MARTHE written with explicit matrices on the block quadratic, E = val_loss."""
    w = torch.cat(START)
    target = torch.cat(TARGET)
    hess = H + wd * torch.eye(5, dtype=DT)
    z, h_prev, lrs, hgs, betas = None, 0.0, [], [], []
    for _ in range(steps):
        g = hess @ w - C
        h = 0.0 if z is None else float((w - target) @ z)
        if alpha is not None:
            beta = max(beta + alpha * h * h_prev, 0.0)
        lr = max(lr - beta * h, 0.0)
        z = -g if z is None else mu * (z - lr * hess @ z) - g
        w = w - lr * g
        lrs.append(lr)
        hgs.append(h)
        betas.append(beta)
        h_prev = h
    return w, lrs, hgs, betas


@pytest.mark.parametrize(
    ("mu", "wd", "alpha"),
    [(0.0, 0.0, None), (0.5, 0.0, None), (0.9, 0.1, None), (1.0, 0.0, None), (0.9, 0.0, 0.05)],
    ids=["mu0", "mu0.5", "mu0.9-wd", "mu1", "adaptive-beta"],
)
def test_marthe_matches_explicit_matrix_recursion(mu, wd, alpha):
    steps, lr, beta = 10, 0.05, 0.05
    params = fresh_params()
    opt = MARTHE(params, lr=lr, hypergrad_lr=beta, mu=mu, weight_decay=wd, adapt_hypergrad_lr=alpha)
    lrs, hgs, betas = [], [], []
    for _ in range(steps):
        opt.step(lambda: quad_loss(*params), lambda: val_loss(*params))
        trace = opt.hyper_trace()
        lrs.append(float(trace["hyper/lr"]))
        hgs.append(float(trace["hypergrad/lr"]))
        if alpha is not None:
            betas.append(float(trace["hyper/hypergrad_lr"]))
    w, ref_lrs, ref_hgs, ref_betas = marthe_reference(steps, lr, beta, mu, wd, alpha)
    assert lrs == pytest.approx(ref_lrs, rel=1e-10)
    assert hgs == pytest.approx(ref_hgs, rel=1e-9, abs=1e-13)
    torch.testing.assert_close(torch.cat([p.detach() for p in params]), w, rtol=1e-10, atol=1e-13)
    if alpha is not None:
        assert betas == pytest.approx(ref_betas, rel=1e-10)
        assert betas[-1] != beta


def test_marthe_with_mu_zero_is_sgd_hd():
    params, hd_params = fresh_params(), fresh_params()
    marthe = MARTHE(params, lr=0.05, hypergrad_lr=0.02, mu=0.0, weight_decay=0.1)
    hd = SGDHD(hd_params, lr=0.05, hypergrad_lr=0.02, weight_decay=0.1)
    for _ in range(8):
        marthe.step(lambda: tanh_loss(*params))
        hd.zero_grad()
        tanh_loss(*hd_params).backward()
        hd.step()
        torch.testing.assert_close(
            marthe.param_groups[0]["lr"], hd.param_groups[0]["lr"], rtol=1e-12, atol=0
        )
        torch.testing.assert_close(
            marthe.hyper_trace()["hypergrad/lr"],
            hd.hyper_trace()["hypergrad/lr"],
            rtol=1e-10,
            atol=1e-15,
        )
    assert float(hd.param_groups[0]["lr"]) != pytest.approx(0.05)
    for a, b in zip(params, hd_params):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("beta", [0.0, 0.05])
def test_marthe_with_mu_one_matches_rtho_learning_rate_hypergradient(beta):
    params, rtho_params = fresh_params(), fresh_params()
    marthe = MARTHE(params, lr=0.05, hypergrad_lr=beta, mu=1.0)
    rtho = RTHO(rtho_params, lr=0.05, hypergrad_lr=beta, tune=("lr",))
    for _ in range(8):
        marthe.step(lambda: tanh_loss(*params), lambda: val_loss(*params))
        rtho.step(lambda: tanh_loss(*rtho_params), lambda: val_loss(*rtho_params))
        m, r = marthe.hyper_trace(), rtho.hyper_trace()
        torch.testing.assert_close(m["hypergrad/lr"], r["hypergrad/lr"], rtol=1e-10, atol=1e-14)
        torch.testing.assert_close(m["hyper/lr"], r["hyper/lr"], rtol=1e-12, atol=0)
    assert float(m["hypergrad/lr"]) != 0.0


@pytest.mark.parametrize(
    "factory",
    [
        lambda p: RTHO(p, lr=0.05, momentum=0.5, weight_decay=0.01, hypergrad_lr=1e-3),
        lambda p: MARTHE(p, lr=0.05, hypergrad_lr=0.01, mu=0.9),
    ],
    ids=["rtho", "marthe"],
)
def test_state_dict_round_trip_keeps_the_tangents(factory):
    params = fresh_params()
    opt = factory(params)
    for _ in range(3):
        opt.step(lambda: tanh_loss(*params), lambda: val_loss(*params))
    clone = [torch.nn.Parameter(p.detach().clone()) for p in params]
    restored = factory(clone)
    restored.load_state_dict(copy.deepcopy(opt.state_dict()))
    for _ in range(3):
        opt.step(lambda: tanh_loss(*params), lambda: val_loss(*params))
        restored.step(lambda: tanh_loss(*clone), lambda: val_loss(*clone))
        a, b = opt.hyper_trace(), restored.hyper_trace()
        for key in a:
            torch.testing.assert_close(b[key], a[key], rtol=1e-12, atol=1e-15)
    assert float(a["hypergrad/lr"]) != 0.0
