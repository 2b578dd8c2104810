"""Sessions with deterministic objectives for the dashboard's tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

import hpo_lab as hl
from hpo_lab.dashboard import DashboardModel
from hpo_lab.events import (
    MetricsReported,
    ParamsSuggested,
    SessionStateChanged,
    TrialFinished,
    TrialStarted,
)

if TYPE_CHECKING:
    from hpo_lab.dashboard import Dashboard


def quadratic(trial: hl.Trial) -> float:
    """Five steps of two series; its value is known from ``x``."""
    x = trial.suggest_float("x", -5, 5)
    trial.suggest_categorical("opt", ["adam", "sgd"])
    for step in range(5):
        trial.report(step, loss=(x - 1) ** 2 + 1 / (step + 1), acc=1 / (1 + abs(x)))
    return (x - 1) ** 2


def endless(trial: hl.Trial) -> float:
    """Reports every 5 ms until the user prunes or stops it (or 60 s pass)."""
    x = trial.suggest_float("x", 0, 1)
    for step in range(12_000):
        trial.report(step, loss=x + 1 / (step + 1))
        time.sleep(0.005)
    return x


class Gate:
    """An objective whose trials report once, then wait until :meth:`release` (or fail when
    asked to), so tests decide when each trial moves on."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.fail = False

    def __call__(self, trial: hl.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        trial.report(0, loss=1.0 + x)
        while not self.go.wait(0.005):
            trial.report(1, loss=0.5 + x)  # stays at step 1: controls are read here
        if self.fail:
            raise RuntimeError("boom: the gate was told to fail")
        trial.report(2, loss=x)
        return x

    def release(self) -> None:
        self.go.set()


def curve_events(number: int, steps: int, scale: float = 1.0, t0: float = 0.0) -> list:
    return [
        MetricsReported(number, s, {"loss": scale / (s + 1), "acc": s / steps}, time=t0 + s)
        for s in range(steps)
    ]


@pytest.fixture
def model() -> DashboardModel:
    """Trials 0-5 finished (complete, pruned, failed), 6 and 7 running; 0 is the best."""
    m = DashboardModel("views", ["minimize"], metric="loss")
    events: list = [SessionStateChanged("running", time=0.0)]
    outcomes = {
        0: ("COMPLETE", 0.1),
        1: ("COMPLETE", 0.3),
        2: ("PRUNED", None),
        3: ("COMPLETE", 0.2),
        4: ("FAIL", None),
        5: ("PRUNED", None),
    }
    for n in range(8):
        events += [
            TrialStarted(n, time=float(n)),
            ParamsSuggested(n, {"lr": 10.0 ** -(n % 4 + 1), "opt": "adam" if n % 2 else "sgd"}),
        ]
        events += curve_events(n, 10 if n < 6 else 4, scale=1 + n, t0=float(n))
        if n in outcomes:
            state, value = outcomes[n]
            events.append(
                TrialFinished(
                    n,
                    state,
                    None if value is None else (value,),
                    reason="boom" if state == "FAIL" else None,
                    time=n + 10.0,
                )
            )
    m.apply(events)
    return m


def make_session(objective: Callable[..., Any] | None = quadratic, **kw: Any) -> hl.Session:
    """A quiet session (random sampler, no pruner, seeded) in memory unless told otherwise."""
    kw.setdefault("progress", False)
    kw.setdefault("storage", ":memory:")
    kw.setdefault("sampler", "random")
    kw.setdefault("seed", 0)
    kw.setdefault("pruner", "none")
    kw.setdefault("metric", "loss")
    return hl.Session(objective, **kw)


@pytest.fixture
def sessions() -> Iterator[list[hl.Session]]:
    """Sessions a test makes (append them); closed at the end."""
    made: list[hl.Session] = []
    yield made
    for s in made:
        s.close(timeout=10)


@pytest.fixture
def boards() -> Iterator[list[Dashboard]]:
    """Dashboards a test makes (append them); closed at the end."""
    made: list[Dashboard] = []
    yield made
    for b in made:
        b.close()


def settle(board: Dashboard) -> None:
    """Applies every event published so far to ``board``."""
    board.session.bus.flush()
