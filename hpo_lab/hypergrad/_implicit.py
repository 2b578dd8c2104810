"""Implicit hypergradients (implicit function theorem) at an approximate fixed point of the inner
update map, with conjugate-gradient or Neumann-series inverse-Jacobian-vector products
(Pedregosa 2016; Lorraine et al. 2020; Grazzi et al. 2020)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from ._base import (
    HypergradResult,
    OuterLoss,
    Tensors,
    UpdateMap,
    apply_map,
    check_int,
    check_prepared,
    eval_outer,
    grads,
    leaves,
    nbytes,
    plain_step,
)
from ._memory import SavedBytes

_SOLVERS = ("cg", "neumann")


def implicit_hypergrad(
    params: Tensor | Sequence[Tensor],
    hparams: Tensor | Sequence[Tensor],
    update_map: UpdateMap,
    outer_loss: OuterLoss,
    *,
    n_steps: int,
    solver: str = "cg",
    solver_steps: int = 20,
    tol: float = 1e-10,
    track_memory: bool = False,
) -> HypergradResult:
    """Hypergradient at the fixed point ``w* = Φ(w*, λ)`` reached after ``n_steps`` inner steps.

    By the implicit function theorem ``dE/dλ = ∂E/∂λ + (∂Φ/∂λ)ᵀ v`` with
    ``(I - ∂Φ/∂w)ᵀ v = ∇_w E``. The linear system is solved matrix-free with
    vector-Jacobian products of ``Φ`` at ``w_T``:

    * ``solver="neumann"``: ``v ≈ Σ_{k=0}^{K} (∂Φ/∂w)ᵀᵏ ∇_w E`` with ``K = solver_steps``
      (needs the spectral radius of ``∂Φ/∂w`` below 1, true for gradient descent with a stable
      step size). Cost: ``K`` VJPs plus 2 gradient calls.
    * ``solver="cg"``: conjugate gradient, assuming ``I - ∂Φ/∂w`` symmetric positive definite
      (gradient descent on a locally convex inner loss: ``I - ∂Φ/∂w = lr·∇²L``). Stops after
      ``solver_steps`` iterations or when the residual norm falls below ``tol`` times the
      right-hand side norm.

    Memory and time do not depend on the number of hyperparameters; the answer is exact in the
    limit of an exact fixed point and solve.

    Args:
        params: initial inner parameters ``w_0``.
        hparams: hyperparameters, each with ``requires_grad=True``.
        update_map: ``update_map(params, hparams, step) -> new_params``; its fixed points are the
            inner solutions.
        outer_loss: ``outer_loss(params, hparams) -> scalar``.
        n_steps: number of inner steps ``T >= 1`` run (without graph) to approach the fixed point.
        solver: ``"cg"`` or ``"neumann"``.
        solver_steps: CG iterations or Neumann terms (``>= 1``).
        tol: relative residual tolerance for CG (``>= 0``; ignored by Neumann).
        track_memory: count the bytes autograd saves for the map's graph (off by default);
            when ``False``, ``"graph_bytes"`` and ``"peak_bytes"`` are ``None``.

    Returns:
        :class:`HypergradResult`; ``stats`` adds ``"solver"``, ``"solver_steps"`` (iterations
        used), ``"vjp_calls"`` (VJPs of ``Φ`` by the solver), ``"fixed_point_residual"`` and
        ``"solver_residual"`` (0-dim tensors: ``‖Φ(w_T) - w_T‖``; for CG the recursive residual
        norm of the linear system, for Neumann the norm of the last series term).

    Example:
        >>> import torch
        >>> from hpo_lab.hypergrad import gd_map, implicit_hypergrad
        >>> lam = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        >>> inner = lambda w, h: 0.5 * ((w[0] - 2.0) ** 2).sum() + 0.5 * h[0] * (w[0] ** 2).sum()
        >>> res = implicit_hypergrad(
        ...     [torch.zeros(1, dtype=torch.float64)], [lam], gd_map(inner, lr=0.5),
        ...     lambda w, h: 0.5 * ((w[0] - 1.0) ** 2).sum(), n_steps=100, solver="neumann",
        ... )
        >>> round(res.hypergrads[0].item(), 6)
        -0.296296
    """
    w, hp, n_steps = check_prepared(params, hparams, n_steps)
    if solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {_SOLVERS}, got {solver!r}")
    check_int("solver_steps", solver_steps, 1)
    if not isinstance(tol, (int, float)) or isinstance(tol, bool) or tol < 0:
        raise ValueError(f"tol must be a float >= 0, got {tol!r}")
    for t in range(n_steps):
        w = plain_step(update_map, w, hp, t)

    w_leaf = leaves(w)
    saved = SavedBytes(track_memory)
    with saved.track():
        phi = apply_map(update_map, w_leaf, hp, n_steps)
    outer = eval_outer(outer_loss, w_leaf, hp)
    both = grads(outer, w_leaf + hp)
    e_w, e_h = both[: len(w)], both[len(w) :]

    def jt(v: Tensors) -> Tensors:
        return grads(phi, w_leaf, v, retain_graph=True)

    if solver == "neumann":
        v, used, residual = _neumann(jt, e_w, solver_steps)
    else:
        v, used, residual = _cg(jt, e_w, solver_steps, tol)
    indirect = grads(phi, hp, v)
    hypergrads = tuple((a + b).detach() for a, b in zip(e_h, indirect))
    stats = {
        "method": "implicit",
        "n_steps": n_steps,
        "outer_loss": outer.detach(),
        "solver": solver,
        "solver_steps": used,
        "vjp_calls": used,
        "grad_calls": used + 2,
        "fixed_point_residual": _norm(_sub(phi, w)).detach(),
        "solver_residual": residual.detach(),
        "graph_bytes": saved.total,
        "peak_bytes": None if saved.total is None else saved.total + 4 * nbytes(w),
    }
    return HypergradResult(hypergrads, w, stats)


def _sub(a: Sequence[Tensor], b: Sequence[Tensor]) -> Tensors:
    return tuple(x - y for x, y in zip(a, b))


def _dot(a: Sequence[Tensor], b: Sequence[Tensor]) -> Tensor:
    return sum((x * y).sum() for x, y in zip(a, b))


def _norm(a: Sequence[Tensor]) -> Tensor:
    return torch.sqrt(_dot(a, a))


def _neumann(
    jt: Callable[[Tensors], Tensors], rhs: Tensors, terms: int
) -> tuple[Tensors, int, Tensor]:
    total, term = rhs, rhs
    for _ in range(terms):
        term = jt(term)
        total = tuple(s + p for s, p in zip(total, term))
    # The residual of the truncated series is -(Jᵀ)^{K+1} rhs; report the last term's norm
    # as its (free) estimate instead of paying one more VJP.
    return total, terms, _norm(term)


def _cg(
    jt: Callable[[Tensors], Tensors], rhs: Tensors, iters: int, tol: float
) -> tuple[Tensors, int, Tensor]:
    x = tuple(torch.zeros_like(r) for r in rhs)
    r = rhs
    p = rhs
    rs = _dot(r, r)
    stop = (tol * tol) * rs
    used = 0
    for _ in range(iters):
        if bool(rs <= stop):
            break
        ap = _sub(p, jt(p))
        used += 1
        alpha = rs / _dot(p, ap)
        x = tuple(xi + alpha * pi for xi, pi in zip(x, p))
        r = tuple(ri - alpha * ai for ri, ai in zip(r, ap))
        rs_new = _dot(r, r)
        p = tuple(ri + (rs_new / rs) * pi for ri, pi in zip(r, p))
        rs = rs_new
    return x, used, torch.sqrt(rs)
