"""Offline hypergradients against closed forms and central finite differences (float64)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hpo_lab.hypergrad import (
    HypergradResult,
    forward_hypergrad,
    gd_map,
    implicit_hypergrad,
    reverse_hypergrad,
)
from hpo_lab.hypergrad._memory import LiveTensorBytes

from .problems import DT, Ridge, make_ridge

METHODS = {
    "reverse": (reverse_hypergrad, {}),
    "reverse-checkpoint": (reverse_hypergrad, {"checkpoint_every": 7}),
    "reverse-truncated": (reverse_hypergrad, {"truncate": 250}),
    "forward": (forward_hypergrad, {}),
    "implicit-cg": (implicit_hypergrad, {"solver": "cg"}),
    "implicit-neumann": (implicit_hypergrad, {"solver": "neumann", "solver_steps": 400}),
}
CONVERGED_STEPS = 400


def unrolled_closed_form(r: Ridge, w0: torch.Tensor, lam: float, lr: float, steps: int):
    """``w_T``, ``dw_T/dλ`` and ``dw_T/dlr`` for ``T`` steps ``w ← w - lr((A + λI)w - b)``.

    In the eigenbasis of ``A`` each coordinate evolves independently:
    ``w_T = m^T c + β (1 - m^T)/s`` with ``s = eig + λ``, ``m = 1 - lr·s``.
    """
    evals, q = torch.linalg.eigh(r.a)
    s = evals + lam
    m = 1 - lr * s
    c, beta = q.T @ w0, q.T @ r.b
    m_t, m_t1 = m**steps, m ** (steps - 1)
    w_t = m_t * c + beta * (1 - m_t) / s
    d_lam = -lr * steps * m_t1 * c + beta * (lr * steps * m_t1 / s - (1 - m_t) / s**2)
    d_lr = -steps * m_t1 * s * c + beta * steps * m_t1
    return q @ w_t, q @ d_lam, q @ d_lr


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


# ----------------------------------------------------------------- unrolled GD, closed form


@pytest.mark.parametrize("steps", [1, 5, 30])
@pytest.mark.parametrize(
    ("method", "settings"),
    [
        (reverse_hypergrad, {}),
        (reverse_hypergrad, {"checkpoint_every": 1}),
        (reverse_hypergrad, {"checkpoint_every": 4}),
        (reverse_hypergrad, {"checkpoint_every": 100}),
        (forward_hypergrad, {}),
    ],
    ids=["reverse", "ckpt1", "ckpt4", "ckpt100", "forward"],
)
def test_unrolled_quadratic_matches_closed_form(method, settings, steps):
    r = make_ridge()
    lam0, lr0 = 0.3, 0.7 / r.lipschitz(0.3)
    lam = torch.tensor(lam0, dtype=DT, requires_grad=True)
    lr = torch.tensor(lr0, dtype=DT, requires_grad=True)
    w0 = torch.linspace(-1, 1, 5, dtype=DT)
    res = method(
        [w0], [lam, lr], gd_map(r.inner, lr=lambda h: h[1]), r.outer, n_steps=steps, **settings
    )
    w_t, d_lam, d_lr = unrolled_closed_form(r, w0, lam0, lr0, steps)
    e = r.outer_grad(w_t)
    torch.testing.assert_close(res.final_params[0], w_t, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(res.hypergrads[0], e @ d_lam, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(res.hypergrads[1], e @ d_lr, rtol=1e-9, atol=1e-12)


# ----------------------------------------------------------------- fixed point, closed form


@pytest.mark.parametrize("solver", ["cg", "neumann"])
def test_implicit_per_feature_penalty_matches_ridge_closed_form(solver):
    r = make_ridge(seed=1)
    lam = torch.tensor([0.1, 0.5, 1.0, 0.2, 0.05], dtype=DT, requires_grad=True)
    res = implicit_hypergrad(
        [torch.zeros(5, dtype=DT)],
        [lam],
        gd_map(r.inner, lr=1.0 / r.lipschitz(1.0)),
        r.outer,
        n_steps=CONVERGED_STEPS,
        solver=solver,
        solver_steps=400,
    )
    torch.testing.assert_close(res.hypergrads[0], r.hypergrad(lam.detach()), rtol=1e-8, atol=1e-12)
    assert float(res.stats["fixed_point_residual"]) < 1e-10


def per_example_problem(seed: int = 2):
    """Weighted ridge ``½ Σ c_i r_i²/n + ½ρ‖w‖²`` with one weight per example, closed form."""
    r = make_ridge(n=30, d=4, seed=seed)
    rho = 0.5
    n = len(r.y)

    def inner(w, h):
        return 0.5 * (h[0] * (r.x @ w[0] - r.y) ** 2).mean() + 0.5 * rho * (w[0] ** 2).sum()

    def exact(c: torch.Tensor) -> torch.Tensor:
        m = r.x.T @ (c[:, None] * r.x) / n + rho * torch.eye(4, dtype=DT)
        w = torch.linalg.solve(m, r.x.T @ (c * r.y) / n)
        v = torch.linalg.solve(m, r.outer_grad(w))
        return -(r.x @ v) * (r.x @ w - r.y) / n

    lipschitz = float(torch.linalg.eigvalsh(r.a).max()) * 2 + rho
    return r, inner, exact, gd_map(inner, lr=1.0 / lipschitz)


@pytest.mark.parametrize(
    ("method", "settings"),
    [
        (implicit_hypergrad, {"solver": "cg"}),
        (implicit_hypergrad, {"solver": "neumann", "solver_steps": 600}),
        (reverse_hypergrad, {"checkpoint_every": 50}),
    ],
    ids=["implicit-cg", "implicit-neumann", "reverse-ckpt"],
)
def test_one_hyperparameter_per_example_matches_closed_form(method, settings):
    r, _, exact, step = per_example_problem()
    c = torch.linspace(0.2, 1.8, len(r.y), dtype=DT).requires_grad_()
    res = method([torch.zeros(4, dtype=DT)], [c], step, r.outer, n_steps=600, **settings)
    torch.testing.assert_close(res.hypergrads[0], exact(c.detach()), rtol=1e-7, atol=1e-12)


# ----------------------------------------------------------------- finite differences


def logistic_problem():
    """Non-quadratic inner problem: logistic regression, per-feature log-penalties, lr hyper."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(30, 3, generator=g, dtype=DT)
    y = torch.sign(
        x @ torch.tensor([1.0, -2.0, 0.5], dtype=DT) + 0.3 * torch.randn(30, generator=g, dtype=DT)
    )
    xv, yv = x[:10] + 0.1, y[:10]

    def inner(w, h):
        return F.softplus(-y * (x @ w[0] + w[1])).mean() + 0.5 * (h[0].exp() * w[0] ** 2).sum()

    def outer(w, h):
        return F.softplus(-yv * (xv @ w[0] + w[1])).mean() + 0.01 * h[1] ** 2

    w0 = (torch.tensor([0.1, -0.2, 0.3], dtype=DT), torch.tensor(0.05, dtype=DT))
    hp = (torch.tensor([-1.0, 0.0, -2.0], dtype=DT), torch.tensor(0.5, dtype=DT))
    return inner, outer, w0, hp


def unroll_value(inner, outer, w0, hp, steps, start=None):
    """E(w_T) by plain unrolling; with ``start=(t0, w_t0)`` the first t0 steps are replaced."""
    step = gd_map(inner, lr=lambda h: h[1])
    w, t0 = (w0, 0) if start is None else (start[1], start[0])
    for t in range(t0, steps):
        w = tuple(p.detach() for p in step(w, hp, t))
    return outer(w, hp), w


def central_differences(fn, hp, eps=1e-6):
    out = []
    for i, h in enumerate(hp):
        flat = torch.zeros(h.numel(), dtype=DT)
        for j in range(h.numel()):
            bumped = []
            for sign in (1, -1):
                shifted = [x.clone() for x in hp]
                shifted[i].view(-1)[j] += sign * eps
                bumped.append(fn(tuple(shifted)))
            flat[j] = (bumped[0] - bumped[1]) / (2 * eps)
        out.append(flat.reshape(h.shape))
    return out


@pytest.mark.parametrize("steps", [3, 12])
@pytest.mark.parametrize(
    ("method", "settings"),
    [
        (reverse_hypergrad, {}),
        (reverse_hypergrad, {"checkpoint_every": 5}),
        (forward_hypergrad, {}),
    ],
    ids=["reverse", "reverse-ckpt5", "forward"],
)
def test_unrolled_logistic_matches_finite_differences(method, settings, steps):
    inner, outer, w0, hp = logistic_problem()
    res = method(
        w0,
        [h.clone().requires_grad_() for h in hp],
        gd_map(inner, lr=lambda h: h[1]),
        outer,
        n_steps=steps,
        **settings,
    )
    fd = central_differences(lambda h: unroll_value(inner, outer, w0, h, steps)[0], hp)
    for got, want in zip(res.hypergrads, fd):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("solver", ["cg", "neumann"])
def test_implicit_matches_finite_differences_at_convergence(solver):
    """Non-quadratic inner problem: at the fixed point the lr no longer matters (hypergradient
    0) and the penalties' hypergradients are those of the converged unrolled solution."""
    inner, outer, w0, hp = logistic_problem()
    steps = 400

    def fixed_point_outer(w, h):  # drop the direct lr term: only the fixed point remains
        return outer(w, h) - 0.01 * h[1] ** 2

    res = implicit_hypergrad(
        w0,
        [h.clone().requires_grad_() for h in hp],
        gd_map(inner, lr=lambda h: h[1]),
        fixed_point_outer,
        n_steps=steps,
        solver=solver,
        solver_steps=200,
    )
    fd = central_differences(lambda h: unroll_value(inner, fixed_point_outer, w0, h, steps)[0], hp)
    assert float(res.stats["fixed_point_residual"]) < 1e-12
    torch.testing.assert_close(res.hypergrads[0], fd[0], rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(res.hypergrads[1], torch.zeros((), dtype=DT))
    assert abs(float(fd[1])) < 1e-8


@pytest.mark.parametrize("truncate", [1, 4, 10])
def test_truncated_reverse_matches_finite_differences_of_last_steps(truncate):
    inner, outer, w0, hp = logistic_problem()
    steps = 10
    _, w_start = unroll_value(inner, outer, w0, hp, steps - truncate)
    res = reverse_hypergrad(
        w0,
        [h.clone().requires_grad_() for h in hp],
        gd_map(inner, lr=lambda h: h[1]),
        outer,
        n_steps=steps,
        truncate=truncate,
    )
    fd = central_differences(
        lambda h: unroll_value(inner, outer, w0, h, steps, start=(steps - truncate, w_start))[0],
        hp,
    )
    for got, want in zip(res.hypergrads, fd):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("steps", [1, 25])
def test_reverse_and_forward_agree(steps):
    inner, outer, w0, hp = logistic_problem()
    runs = [
        m(
            w0,
            [h.clone().requires_grad_() for h in hp],
            gd_map(inner, lr=lambda h: h[1]),
            outer,
            n_steps=steps,
            **s,
        )
        for m, s in [
            (reverse_hypergrad, {}),
            (reverse_hypergrad, {"checkpoint_every": 3}),
            (forward_hypergrad, {}),
        ]
    ]
    for other in runs[1:]:
        for a, b in zip(runs[0].hypergrads, other.hypergrads):
            assert rel_err(b, a) < 1e-5
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-13)


# ----------------------------------------------------------------- memory accounting


def test_checkpointing_stores_less_than_the_full_graph():
    r = make_ridge(n=200, d=20)
    lam = torch.tensor(0.3, dtype=DT, requires_grad=True)
    step = gd_map(r.inner, lr=0.5 / r.lipschitz(0.3))
    w0 = [torch.zeros(20, dtype=DT)]
    full = reverse_hypergrad(w0, [lam], step, r.outer, n_steps=100, track_memory=True)
    ckpt = reverse_hypergrad(
        w0, [lam], step, r.outer, n_steps=100, checkpoint_every=10, track_memory=True
    )
    torch.testing.assert_close(full.hypergrads[0], ckpt.hypergrads[0], rtol=1e-12, atol=0)
    assert ckpt.stats["checkpoint_bytes"] == 10 * 20 * 8  # iterates 0, 10, ..., 90
    assert ckpt.stats["peak_bytes"] < full.stats["peak_bytes"] / 4


def test_forward_memory_does_not_grow_with_steps():
    r = make_ridge()
    lam = torch.tensor(0.3, dtype=DT, requires_grad=True)
    step = gd_map(r.inner, lr=0.5 / r.lipschitz(0.3))

    def peak(method, steps):
        w0 = [torch.zeros(5, dtype=DT)]
        res = method(w0, [lam], step, r.outer, n_steps=steps, track_memory=True)
        return res.stats["peak_bytes"]

    assert peak(forward_hypergrad, 5) == peak(forward_hypergrad, 50) > 0
    assert peak(reverse_hypergrad, 50) > 5 * peak(reverse_hypergrad, 5)


@pytest.mark.parametrize(
    ("method", "settings"),
    [(forward_hypergrad, {}), (reverse_hypergrad, {}), (implicit_hypergrad, {})],
    ids=["forward", "reverse", "implicit"],
)
def test_graphs_are_freed_when_methods_return(method, settings):
    """Regression: a saved-tensor hook returning its input made graphs reference themselves,
    so every step's graph stayed alive (forward-mode memory grew with T, never freed)."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(200, 20, generator=g, dtype=DT), torch.randint(0, 5, (200,), generator=g)
    lam = torch.tensor(-2.0, dtype=DT, requires_grad=True)

    def inner(w, h):  # log_softmax and exp save their outputs for backward
        return F.cross_entropy(x @ w[0], y) + h[0].exp() * (w[0] ** 2).sum()

    step = gd_map(inner, lr=0.5)
    peaks = []
    for steps in (5, 40):
        with LiveTensorBytes() as tracker:
            res = method([torch.zeros(20, 5, dtype=DT)], [lam], step, inner, n_steps=steps)
            kept = sum(t.numel() * 8 for t in (*res.hypergrads, *res.final_params))
            del res
        assert tracker.live <= kept + 64  # only the returned tensors (and stats scalars) remain
        peaks.append(tracker.peak)
    if method is forward_hypergrad:
        assert peaks[1] == peaks[0]


# ----------------------------------------------------------------- conformance


@pytest.mark.parametrize("name", list(METHODS))
class TestOfflineConformance:
    """Every offline method: same signature, same answer on the same converged problem."""

    @staticmethod
    def run(name, *args, **kwargs) -> HypergradResult:
        method, settings = METHODS[name]
        return method(*args, **{**settings, **kwargs})

    @staticmethod
    def problem(dtype=DT):
        r = make_ridge()
        lam = torch.tensor([0.3, 0.1, 0.6, 0.2, 0.4], dtype=dtype, requires_grad=True)
        step = gd_map(r.inner, lr=1.0 / r.lipschitz(0.6))
        return r, lam, step

    def test_matches_ridge_closed_form(self, name):
        r, lam, step = self.problem()
        res = self.run(
            name, [torch.zeros(5, dtype=DT)], [lam], step, r.outer, n_steps=CONVERGED_STEPS
        )
        torch.testing.assert_close(
            res.hypergrads[0], r.hypergrad(lam.detach()), rtol=1e-7, atol=1e-12
        )
        torch.testing.assert_close(
            res.final_params[0], r.solution(lam.detach()), rtol=1e-9, atol=1e-12
        )

    def test_result_structure_and_inputs_untouched(self, name):
        r, lam, step = self.problem()
        w0 = torch.zeros(5, dtype=DT)
        unused = torch.ones(2, 2, dtype=DT, requires_grad=True)
        res = self.run(name, w0, (lam, unused), step, r.outer, n_steps=20)
        assert isinstance(res, HypergradResult)
        assert [h.shape for h in res.hypergrads] == [lam.shape, unused.shape]
        assert all(h.dtype == DT and not h.requires_grad for h in res.hypergrads)
        torch.testing.assert_close(res.hypergrads[1], torch.zeros(2, 2, dtype=DT))
        assert len(res.final_params) == 1 and not res.final_params[0].requires_grad
        for key in ("method", "n_steps", "outer_loss", "grad_calls", "peak_bytes"):
            assert key in res.stats
        assert res.stats["n_steps"] == 20
        torch.testing.assert_close(res.stats["outer_loss"], r.outer(res.final_params, ()))
        assert lam.grad is None and unused.grad is None
        torch.testing.assert_close(w0, torch.zeros(5, dtype=DT))

    def test_memory_tracking_off_gives_the_same_answer(self, name):
        r, lam, step = self.problem()
        runs = [
            self.run(
                name,
                [torch.zeros(5, dtype=DT)],
                [lam],
                step,
                r.outer,
                n_steps=30,
                track_memory=track,
            )
            for track in (True, False)
        ]
        assert runs[0].stats["peak_bytes"] > 0 and runs[1].stats["peak_bytes"] is None
        torch.testing.assert_close(runs[1].hypergrads[0], runs[0].hypergrads[0], rtol=0, atol=0)

    def test_final_params_are_the_plain_iterate(self, name):
        r, lam, step = self.problem()
        w = (torch.zeros(5, dtype=DT),)
        for t in range(20):
            w = tuple(p.detach() for p in step(w, (lam.detach(),), t))
        res = self.run(name, [torch.zeros(5, dtype=DT)], [lam], step, r.outer, n_steps=20)
        torch.testing.assert_close(res.final_params[0], w[0], rtol=1e-13, atol=1e-14)

    def test_includes_direct_dependence_of_outer_loss(self, name):
        r, lam, step = self.problem()
        direct = torch.tensor(2.0, dtype=DT, requires_grad=True)

        def outer(w, h):
            return r.outer(w, h) + h[1] ** 3 + (h[0] * w[0]).sum()

        res = self.run(
            name, [torch.zeros(5, dtype=DT)], [lam, direct], step, outer, n_steps=CONVERGED_STEPS
        )
        w_star = r.solution(lam.detach())
        torch.testing.assert_close(res.hypergrads[1], torch.tensor(12.0, dtype=DT))
        # E = E_v(w*) + λ·w*: dE/dλ = closed form for E_v + w* + (A+diag λ)⁻¹-term for λ·w*.
        d = torch.linalg.solve(r.a + torch.diag(lam.detach()), lam.detach())
        expected = r.hypergrad(lam.detach()) + w_star - d * w_star
        torch.testing.assert_close(res.hypergrads[0], expected, rtol=1e-7, atol=1e-12)

    def test_float32_close_to_float64(self, name):
        r, lam, _ = self.problem()
        r32 = Ridge(*(t.float() for t in (r.x, r.y, r.xv, r.yv)))
        lam32 = lam.detach().float().requires_grad_()
        step32 = gd_map(r32.inner, lr=1.0 / r.lipschitz(0.6))
        res = self.run(name, [torch.zeros(5)], [lam32], step32, r32.outer, n_steps=200)
        assert res.hypergrads[0].dtype == torch.float32
        torch.testing.assert_close(
            res.hypergrads[0].double(), r.hypergrad(lam.detach()), rtol=2e-3, atol=1e-5
        )

    def test_rejects_bad_input(self, name):
        r, lam, step = self.problem()
        w0 = [torch.zeros(5, dtype=DT)]
        with pytest.raises(ValueError, match=r"n_steps must be an int >= 1, got 0"):
            self.run(name, w0, [lam], step, r.outer, n_steps=0)
        with pytest.raises(TypeError, match=r"n_steps must be an int >= 1, got 2\.5"):
            self.run(name, w0, [lam], step, r.outer, n_steps=2.5)
        with pytest.raises(ValueError, match=r"hparams\[0\] .* requires_grad=False"):
            self.run(name, w0, [lam.detach()], step, r.outer, n_steps=3)
        with pytest.raises(ValueError, match=r"update_map.*returned \[\(4,\)\].*\[\(5,\)\]"):
            self.run(name, w0, [lam], lambda w, h, t: (w[0][:4],), r.outer, n_steps=3)
        with pytest.raises(ValueError, match=r"outer_loss.*scalar tensor, got \(5,\)"):
            self.run(name, w0, [lam], step, lambda w, h: w[0], n_steps=3)
        with pytest.raises(TypeError, match=r"params\[0\] must be a floating-point tensor"):
            self.run(name, [torch.zeros(5, dtype=torch.long)], [lam], step, r.outer, n_steps=3)
