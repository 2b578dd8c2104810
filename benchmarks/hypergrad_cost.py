"""Cost of hpo_lab.hypergrad relative to plain training, measured side by side in one run.

Run: ``PYTHONPATH=. python benchmarks/hypergrad_cost.py [--quick]``. Prints one table per
question:

1. SGD-HD / Adam-HD step time vs plain torch.optim SGD / Adam (goal <= 1.25x).
2. Reverse-mode hypergradient over T=100 steps vs T plain steps (goal <= 3x), bytes stored per
   step, and the reduction from checkpointing.
3. Forward-mode memory at T = 10, 100, 1000 (goal: flat in T).
4. Implicit differentiation with 10 Neumann terms: gradient evaluations (goal <= 20).
5. The same on CUDA when a device is available.

Timings alternate the compared variants round by round and report medians, so slow drift of
the machine affects all variants alike. Memory is measured two ways: the method's own
accounting (``stats["peak_bytes"]``, rerun untimed with ``track_memory=True``; it counts every
storage autograd saves, inputs such as the data included) and, independently, the peak of live
bytes of the tensors created inside the measured call, seen by a ``TorchDispatchMode`` (on CUDA:
``torch.cuda.max_memory_allocated``).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from hpo_lab.examples.hyper_cleaning import load_digits_split
from hpo_lab.hypergrad import (
    SGDHD,
    AdamHD,
    forward_hypergrad,
    gd_map,
    implicit_hypergrad,
    reverse_hypergrad,
)
from hpo_lab.hypergrad._memory import LiveTensorBytes

# ----------------------------------------------------------------------------- measuring


def peak_live_bytes(fn: Callable[[], object], device: torch.device) -> int:
    """Peak bytes of tensors allocated by ``fn`` and alive at the same time."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        fn()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    with LiveTensorBytes() as tracker:
        fn()
    return tracker.peak


def side_by_side(variants: dict[str, Callable[[], object]], rounds: int, device) -> dict:
    """Median seconds per call of each variant, alternating variants every round."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for fn in variants.values():  # warm-up
        fn()
    for _ in range(rounds):
        for name, fn in variants.items():
            sync()
            start = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, r in enumerate(cells):
        print("  " + " | ".join(c.ljust(w) for c, w in zip(r, widths)))
        if i == 0:
            print("  " + "-+-".join("-" * w for w in widths))


# ----------------------------------------------------------------------------- problems


def digits(device: torch.device, n: int = 1024):
    data = load_digits_split(n, 200, seed=0)
    return (
        data.x_train.to(device),
        data.y_train.to(device),
        data.x_val.to(device),
        data.y_val.to(device),
    )


def mlp(device: torch.device, hidden: int) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Linear(64, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 10),
    ).to(device)


def functional_mlp(device: torch.device, hidden: int):
    """Initial MLP weights, an inner loss with one log-L2 hyperparameter per tensor, val loss."""
    x, y, xv, yv = digits(device)
    w0 = tuple(p.detach().clone() for p in mlp(device, hidden).parameters())

    def forward(w, inp):
        h = torch.relu(inp @ w[0].T + w[1])
        h = torch.relu(h @ w[2].T + w[3])
        return h @ w[4].T + w[5]

    def inner(w, h):
        l2 = sum(torch.exp(h[0][i]) * (w[2 * i] ** 2).sum() for i in range(3))
        return F.cross_entropy(forward(w, x), y) + 0.5 * l2

    def outer(w, h):
        return F.cross_entropy(forward(w, xv), yv)

    hp = torch.full((3,), -6.0, device=device, requires_grad=True)
    return w0, (hp,), inner, outer


# ----------------------------------------------------------------------------- sections


def hd_step_cost(device: torch.device, rounds: int) -> None:
    x, y, _, _ = digits(device)
    hidden, batch, iters = 512, 128, 20
    configs = {
        "SGD": lambda p: torch.optim.SGD(p, lr=0.01),
        "SGD-HD": lambda p: SGDHD(p, lr=0.01, hypergrad_lr=1e-3),
        "SGD momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9, nesterov=True),
        "SGDN-HD": lambda p: SGDHD(p, lr=0.01, hypergrad_lr=1e-3, momentum=0.9, nesterov=True),
        "Adam": lambda p: torch.optim.Adam(p, lr=1e-3),
        "Adam-HD": lambda p: AdamHD(p, lr=1e-3, hypergrad_lr=1e-7),
    }
    train, step_only = {}, {}
    for name, make in configs.items():
        model = mlp(device, hidden)
        opt = make(model.parameters())

        def train_iters(model=model, opt=opt):
            for i in range(iters):
                idx = slice((i * batch) % 896, (i * batch) % 896 + batch)
                opt.zero_grad()
                F.cross_entropy(model(x[idx]), y[idx]).backward()
                opt.step()

        def steps(opt=opt):
            for _ in range(iters):
                opt.step()

        train[name], step_only[name] = train_iters, steps
    t_train = side_by_side(train, rounds, device)
    t_step = side_by_side(step_only, rounds, device)
    rows = []
    for base, hd in (("SGD", "SGD-HD"), ("SGD momentum", "SGDN-HD"), ("Adam", "Adam-HD")):
        rows.append(
            [
                f"{hd} vs {base}",
                f"{1e6 * t_train[base] / iters:.0f}",
                f"{1e6 * t_train[hd] / iters:.0f}",
                f"{t_train[hd] / t_train[base]:.2f}x",
                f"{1e6 * t_step[base] / iters:.0f}",
                f"{1e6 * t_step[hd] / iters:.0f}",
                f"{t_step[hd] / t_step[base]:.2f}x",
            ]
        )
    table(
        f"[{device.type}] 1. HD step cost, MLP 64-{hidden}-{hidden}-10, batch {batch} "
        "(µs per iteration; goal <= 1.25x)",
        ["pair", "train base", "train HD", "ratio", "step() base", "step() HD", "ratio"],
        rows,
    )


def reverse_cost(device: torch.device, rounds: int, steps: int = 100) -> None:
    w0, hp, inner, outer = functional_mlp(device, hidden=64)
    update = gd_map(inner, lr=0.1)
    variants = {
        "plain T steps": lambda: _plain(w0, hp, update, steps),
        "reverse": lambda: reverse_hypergrad(w0, hp, update, outer, n_steps=steps),
        "reverse, track_memory=True": lambda: reverse_hypergrad(
            w0, hp, update, outer, n_steps=steps, track_memory=True
        ),
        "reverse, checkpoint_every=10": lambda: reverse_hypergrad(
            w0, hp, update, outer, n_steps=steps, checkpoint_every=10
        ),
        "reverse, truncate=20": lambda: reverse_hypergrad(
            w0, hp, update, outer, n_steps=steps, truncate=20
        ),
    }
    times = side_by_side(variants, rounds, device)
    rows = []
    for name, fn in variants.items():
        # Bytes from the method's own accounting: rerun with track_memory=True (not timed).
        stats = (
            None if name == "plain T steps" else _with_memory(name, w0, hp, update, outer, steps)
        )
        live = peak_live_bytes(fn, device)
        rows.append(
            [
                name,
                f"{1e3 * times[name]:.1f}",
                f"{times[name] / times['plain T steps']:.2f}x",
                _scaled(stats, "peak_bytes", 1e6, ".2f"),
                _scaled(stats, "bytes_per_step", 1e3, ".1f"),
                f"{live / 1e6:.2f}",
            ]
        )
    n_params = sum(p.numel() for p in w0)
    table(
        f"[{device.type}] 2. Reverse mode over T={steps}, MLP 64-64-64-10 ({n_params} weights), "
        "3 L2 hyperparameters, 1024 examples (goal <= 3x)",
        ["variant", "ms", "vs plain", "stored MB", "stored kB/step", "peak live MB"],
        rows,
    )


def _with_memory(name, w0, hp, update, outer, steps) -> dict:
    settings = {"checkpoint_every": 10} if "checkpoint" in name else {}
    settings.update({"truncate": 20} if "truncate" in name else {})
    return reverse_hypergrad(
        w0, hp, update, outer, n_steps=steps, track_memory=True, **settings
    ).stats


def _scaled(stats: dict | None, key: str, scale: float, fmt: str) -> str:
    value = None if stats is None else stats[key]
    return "-" if value is None else format(value / scale, fmt)


def _plain(w0, hp, update, steps):
    """Plain training: ``steps`` gradient steps of the same map, no graph kept."""
    w, h = w0, tuple(x.detach() for x in hp)
    for t in range(steps):
        w = tuple(p.detach() for p in update(tuple(q.detach().requires_grad_() for q in w), h, t))
    return w


def forward_memory(device: torch.device) -> None:
    x, y, xv, yv = digits(device, n=512)
    w0 = (torch.zeros(64, 10, device=device), torch.zeros(10, device=device))
    hp = (
        torch.tensor(-4.0, device=device, requires_grad=True),
        torch.tensor(0.5, device=device, requires_grad=True),
    )

    def inner(w, h):
        return F.cross_entropy(x @ w[0] + w[1], y) + 0.5 * torch.exp(h[0]) * (w[0] ** 2).sum()

    def outer(w, h):
        return F.cross_entropy(xv @ w[0] + w[1], yv)

    update = gd_map(inner, lr=lambda h: h[1])
    rows = []
    for steps in (10, 100, 1000):
        fwd = forward_hypergrad(w0, hp, update, outer, n_steps=steps, track_memory=True)
        live = peak_live_bytes(
            lambda s=steps: forward_hypergrad(w0, hp, update, outer, n_steps=s), device
        )
        rev = reverse_hypergrad(w0, hp, update, outer, n_steps=steps, track_memory=True)
        rev_live = peak_live_bytes(
            lambda s=steps: reverse_hypergrad(w0, hp, update, outer, n_steps=s), device
        )
        rows.append(
            [
                steps,
                f"{fwd.stats['peak_bytes'] / 1e3:.1f}",
                f"{live / 1e3:.1f}",
                f"{rev.stats['peak_bytes'] / 1e3:.1f}",
                f"{rev_live / 1e3:.1f}",
            ]
        )
    table(
        f"[{device.type}] 3. Forward-mode memory vs T, softmax regression 64x10, hyperparameters "
        "log-L2 and lr (kB; goal: forward flat in T)",
        ["T", "forward stored", "forward peak live", "reverse stored", "reverse peak live"],
        rows,
    )


def implicit_cost(device: torch.device, rounds: int) -> None:
    w0, hp, inner, outer = functional_mlp(device, hidden=64)
    update = gd_map(inner, lr=0.1)
    w_star = _plain(w0, hp, update, 200)

    def one_gradient():
        w = tuple(p.detach().requires_grad_() for p in w_star)
        torch.autograd.grad(inner(w, tuple(h.detach() for h in hp)), w)

    variants = {"1 inner gradient": one_gradient}
    for solver in ("neumann", "cg"):
        variants[f"IFT {solver}, 10 steps"] = lambda s=solver: implicit_hypergrad(
            w_star, hp, update, outer, n_steps=1, solver=s, solver_steps=10, tol=0.0
        )
    times = side_by_side(variants, rounds, device)
    unit = times["1 inner gradient"]
    plain_step = side_by_side({"s": lambda: _plain(w_star, hp, update, 1)}, rounds, device)["s"]
    rows = []
    for name, fn in variants.items():
        if name == "1 inner gradient":
            continue
        stats = fn().stats
        # Gradient evaluations of the IFT itself: the map's own gradient (with graph), then
        # stats["grad_calls"] = the outer gradient + the solver's VJPs + the final VJP w.r.t. λ.
        # The one plain inner step that n_steps=1 requires is subtracted from the time.
        counted = 1 + stats["grad_calls"]
        ift_only = times[name] - plain_step
        rows.append(
            [name, stats["vjp_calls"], counted, f"{1e3 * ift_only:.2f}", f"{ift_only / unit:.1f}"]
        )
    table(
        f"[{device.type}] 4. Implicit hypergradient cost, same MLP at its 200-step iterate "
        f"(1 inner gradient = {1e3 * unit:.2f} ms; goal <= 20 gradient evaluations)",
        ["variant", "VJPs", "gradient evaluations counted", "ms", "time / 1 inner gradient"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timing rounds")
    args = parser.parse_args()
    rounds = 5 if args.quick else 15
    torch.set_num_threads(torch.get_num_threads())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    devices = [torch.device("cpu")]
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
        print(f"CUDA: {torch.cuda.get_device_name()}")
    else:
        print("CUDA: not available, CUDA section skipped")
    for device in devices:
        hd_step_cost(device, rounds)
        reverse_cost(device, rounds)
        forward_memory(device)
        implicit_cost(device, rounds)


if __name__ == "__main__":
    main()
