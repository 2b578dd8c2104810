"""Bad input fails early with messages that name the argument, its value and what was expected."""

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
    implicit_hypergrad,
    reverse_hypergrad,
)

from .problems import DT, make_ridge


def params():
    return [torch.nn.Parameter(torch.ones(3))]


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda: SGDHD(params(), lr=0.1, hypergrad_lr=-1e-3),
            ValueError,
            r"hypergrad_lr \(param group 0\) must be a float >= 0, got -0\.001",
        ),
        (
            lambda: SGDHD(params(), lr=-0.1),
            ValueError,
            r"lr \(param group 0\) must be a float >= 0, got -0\.1",
        ),
        (
            lambda: SGDHD(params(), momentum=1.5),
            ValueError,
            r"momentum must be a float in \[0\.0, 1\.0\), got 1\.5",
        ),
        (
            lambda: SGDHD(params(), nesterov=True),
            ValueError,
            r"nesterov=True needs momentum > 0 and dampening == 0, got momentum=0\.0",
        ),
        (
            lambda: SGDHD([{"params": params(), "lr": 0.1}, {"params": params(), "lr": 0.2}]),
            ValueError,
            r"per_group=False needs one lr for every param group, got \[0\.1, 0\.2\]",
        ),
        (
            lambda: AdamHD(params(), hypergrad_lr=-1.0),
            ValueError,
            r"hypergrad_lr \(param group 0\) must be a float >= 0, got -1\.0",
        ),
        (
            lambda: AdamHD(params(), betas=(0.9, 1.0)),
            ValueError,
            r"betas\[1\] must be a float in \[0\.0, 1\.0\), got 1\.0",
        ),
        (lambda: AdamHD(params(), eps=0.0), ValueError, r"eps must be a float > 0, got 0\.0"),
        (
            lambda: MARTHE(params(), hypergrad_lr=-1.0),
            ValueError,
            r"hypergrad_lr must be a float >= 0, got -1\.0",
        ),
        (lambda: MARTHE(params(), mu=1.5), ValueError, r"mu must be a float in \[0, 1\], got 1\.5"),
        (
            lambda: MARTHE([{"params": params()}, {"params": params()}]),
            ValueError,
            r"MARTHE tunes one set of hyperparameters .* got 2 parameter groups, expected 1",
        ),
        (
            lambda: RTHO(params(), tune=("lr", "dropout")),
            ValueError,
            r"tune must be distinct names from \('lr', 'momentum', 'weight_decay'\), got \('lr', "
            r"'dropout'\)",
        ),
        (
            lambda: RTHO(params(), hypergrad_lr={"lr": 1.0}, tune=("lr", "momentum")),
            ValueError,
            r"hypergrad_lr must map exactly the tuned names \('lr', 'momentum'\), got \['lr'\]",
        ),
        (
            lambda: RTHO(params(), hypergrad_lr=-2.0),
            ValueError,
            r"hypergrad_lr must be a float >= 0, got -2\.0",
        ),
        (
            lambda: RTHO(params(), update_every=0),
            ValueError,
            r"update_every must be an int >= 1, got 0",
        ),
    ],
)
def test_online_constructors_reject_bad_arguments(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize("cls", [MARTHE, RTHO])
def test_forward_online_step_needs_a_loss_closure(cls):
    p = params()
    opt = cls(p)
    with pytest.raises(TypeError, match=rf"{cls.__name__}\.step needs closure: a callable"):
        opt.step(None)
    with pytest.raises(ValueError, match=r"closure\(\) must return a scalar tensor that requires"):
        opt.step(lambda: p[0] * 2)
    opt.step(lambda: (p[0] ** 2).sum())  # the outer loss is first needed at the second step
    with pytest.raises(ValueError, match=r"outer_closure\(\) must return a scalar tensor, got"):
        opt.step(lambda: (p[0] ** 2).sum(), lambda: p[0])


def test_hd_rejects_sparse_gradients():
    emb = torch.nn.Embedding(4, 2, sparse=True)
    opt = SGDHD(emb.parameters(), lr=0.1)
    emb(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match="SGDHD does not support sparse gradients"):
        opt.step()


def test_offline_specific_settings_are_checked():
    r = make_ridge()
    lam = torch.tensor(0.3, dtype=DT, requires_grad=True)
    step = gd_map(r.inner, lr=0.1)
    w0 = [torch.zeros(5, dtype=DT)]
    with pytest.raises(ValueError, match=r"truncate must be an int >= 1, got 0"):
        reverse_hypergrad(w0, [lam], step, r.outer, n_steps=5, truncate=0)
    with pytest.raises(ValueError, match=r"checkpoint_every must be an int >= 1, got 0"):
        reverse_hypergrad(w0, [lam], step, r.outer, n_steps=5, checkpoint_every=0)
    with pytest.raises(ValueError, match=r"solver must be one of \('cg', 'neumann'\), got 'lu'"):
        implicit_hypergrad(w0, [lam], step, r.outer, n_steps=5, solver="lu")
    with pytest.raises(ValueError, match=r"solver_steps must be an int >= 1, got 0"):
        implicit_hypergrad(w0, [lam], step, r.outer, n_steps=5, solver_steps=0)
    with pytest.raises(ValueError, match=r"tol must be a float >= 0, got -1"):
        implicit_hypergrad(w0, [lam], step, r.outer, n_steps=5, tol=-1)
    with pytest.raises(TypeError, match=r"hparams must be a tensor or a non-empty sequence"):
        reverse_hypergrad(w0, [], step, r.outer, n_steps=5)
    with pytest.raises(
        ValueError,
        match=r"lr must be a positive float or a callable of hparams, "
        r"got -0\.5",
    ):
        gd_map(r.inner, lr=-0.5)
    with pytest.raises(TypeError, match=r"inner_loss must be callable, got int"):
        gd_map(3, lr=0.1)
    with pytest.raises(ValueError, match=r"hparams\[0\] .* requires_grad=False"):
        OuterLoop(reverse_hypergrad, {"l2": torch.tensor(1.0)})
