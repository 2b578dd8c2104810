"""Problems with exact references, shared by the hypergradient tests (float64 throughout)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

DT = torch.float64


@dataclass
class Ridge:
    """Ridge regression: inner ½‖Xw - y‖²/n + ½ Σ_j λ_j w_j², outer ½‖X_v w - y_v‖²/n_v."""

    x: torch.Tensor
    y: torch.Tensor
    xv: torch.Tensor
    yv: torch.Tensor

    @property
    def a(self) -> torch.Tensor:
        return self.x.T @ self.x / len(self.y)

    @property
    def b(self) -> torch.Tensor:
        return self.x.T @ self.y / len(self.y)

    def inner(self, w, h):
        return 0.5 * ((self.x @ w[0] - self.y) ** 2).mean() + 0.5 * (h[0] * w[0] ** 2).sum()

    def outer(self, w, h):
        return 0.5 * ((self.xv @ w[0] - self.yv) ** 2).mean()

    def outer_grad(self, w: torch.Tensor) -> torch.Tensor:
        return self.xv.T @ (self.xv @ w - self.yv) / len(self.yv)

    def solution(self, lam: torch.Tensor) -> torch.Tensor:
        """w*(λ) = (A + diag λ)⁻¹ b (λ scalar or one per feature)."""
        d = self.x.shape[1]
        return torch.linalg.solve(self.a + torch.diag(lam.expand(d)), self.b)

    def hypergrad(self, lam: torch.Tensor) -> torch.Tensor:
        """dE(w*(λ))/dλ in closed form: -[(A + diag λ)⁻¹ ∇E]_j w*_j (summed for scalar λ)."""
        d = self.x.shape[1]
        w = self.solution(lam)
        v = torch.linalg.solve(self.a + torch.diag(lam.expand(d)), self.outer_grad(w))
        per_feature = -v * w
        return per_feature.sum() if lam.numel() == 1 else per_feature

    def lipschitz(self, lam: float) -> float:
        return float(torch.linalg.eigvalsh(self.a).max()) + lam


def make_ridge(n: int = 40, d: int = 5, seed: int = 0, device: str = "cpu") -> Ridge:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=DT)
    w_true = torch.randn(d, generator=g, dtype=DT)
    y = x @ w_true + 0.5 * torch.randn(n, generator=g, dtype=DT)
    xv = torch.randn(n // 2, d, generator=g, dtype=DT)
    yv = xv @ w_true + 0.5 * torch.randn(n // 2, generator=g, dtype=DT)
    return Ridge(*(t.to(device) for t in (x, y, xv, yv)))


class FakeTrial:
    """Records ``report(step, metrics)`` calls like an hpo_lab trial."""

    def __init__(self) -> None:
        self.reports: list[tuple[int, dict]] = []

    def report(self, step, metrics) -> None:
        self.reports.append((step, dict(metrics)))
