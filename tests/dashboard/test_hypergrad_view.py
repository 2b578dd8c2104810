"""The hypergradient view: traces found by name, trials picked, downsampled, live; its tab
appears once a trial reports a trace."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from plotly.callbacks import Points

import hpo_lab as hl
from hpo_lab.dashboard import Dashboard, DashboardModel, HypergradPanel, hypergrad_data
from hpo_lab.dashboard._hypergrad import hyperparameters
from hpo_lab.events import MetricsReported, TrialFinished, TrialStarted
from hpo_lab.hypergrad import SGDHD, report_trace

from .conftest import make_session, quadratic, settle


def trace_events(number: int, steps: int, lr0: float = 0.1) -> list:
    return [
        MetricsReported(
            number,
            s,
            {
                "loss": 1.0 / (s + 1),
                "hyper/lr": lr0 * (1 + 0.01 * s),
                "hypergrad/lr": -1.0 / (s + 1),
                "hyper/w/mean": 0.5,
                "hyper/w/min": 0.1,
                "hyper/w/max": 0.9 + s,
                "hypergrad/w/norm": 2.0,
                "hypergrad_norm": 3.0,
            },
        )
        for s in range(steps)
    ]


@pytest.fixture
def model() -> DashboardModel:
    """Trials 0 (best) and 1 complete, 2 and 3 running, 4 running without traces."""
    m = DashboardModel("hd", ["minimize"], metric="loss")
    events: list = []
    for n in range(5):
        events.append(TrialStarted(n))
        if n < 4:
            events += trace_events(n, 20, lr0=0.1 * (n + 1))
        else:
            events.append(MetricsReported(n, 0, {"loss": 1.0}))
    events += [TrialFinished(0, "COMPLETE", (0.1,)), TrialFinished(1, "COMPLETE", (0.2,))]
    m.apply(events)
    return m


def keys(data) -> list[str]:
    return [t.key for t in data.traces]


def test_hyperparameters_are_found_by_series_name() -> None:
    groups = ["hyper/lr/group0", "hypergrad/lr/group0", "hyper/lr/group1", "hypergrad_norm"]
    tensor = ["hyper/w/mean", "hyper/w/min", "hyper/w/max", "hypergrad/w/norm"]
    hps = hyperparameters(["loss", *groups, *tensor, "hypergrad/beta"])
    assert [h.name for h in hps] == ["lr/group0", "lr/group1", "w", "beta"]
    w = hps[2]
    assert (w.value, w.low, w.high, w.grad) == (
        "hyper/w/mean",
        "hyper/w/min",
        "hyper/w/max",
        "hypergrad/w/norm",
    )
    assert hps[1].grad is None and hps[3].value is None  # traced in part


def test_auto_shows_the_selected_trial_else_the_running_ones_else_the_best(model) -> None:
    data = hypergrad_data(model)
    assert data.trials == (2, 3) and data.total == 4 and data.has_norm
    assert [h.name for h in data.hyperparameters] == ["lr", "w"]
    assert hypergrad_data(model, selected=1).trials == (1,)
    assert hypergrad_data(model, selected=4).trials == (2, 3)  # 4 has no traces
    model.apply([TrialFinished(n, "COMPLETE", (0.5,)) for n in (2, 3, 4)])
    assert hypergrad_data(model).trials == (0,)  # nothing runs: the best
    assert hypergrad_data(model, show="all", max_trials=3).trials == (1, 2, 3)


def test_explicit_choices_say_why_they_show_nothing(model) -> None:
    assert hypergrad_data(model, show="selected").message.startswith("Select a trial")
    assert hypergrad_data(model, show="selected", selected=4).message == (
        "Trial 4 reported no hypergradient traces"
    )
    assert hypergrad_data(model, show="best").trials == (0,)
    assert hypergrad_data(model, show="running", selected=0).trials == (2, 3)
    empty = hypergrad_data(DashboardModel("e", ["minimize"]))
    assert empty.traces == () and "report_trace" in empty.message
    with pytest.raises(ValueError, match="show must be one of"):
        hypergrad_data(model, show="everything")


def test_one_trace_per_hyperparameter_values_above_gradients_below(model) -> None:
    one = hypergrad_data(model, selected=0)
    assert keys(one) == ["band:0:w", "value:0:lr", "grad:0:lr", "value:0:w", "grad:0:w", "norm:0"]
    by_key = {t.key: t for t in one.traces}
    assert by_key["value:0:lr"].props["yaxis"] == "y" and by_key["grad:0:lr"].props["yaxis"] == "y2"
    assert by_key["value:0:lr"].props["y"][0] == pytest.approx(0.1)
    assert by_key["value:0:lr"].numbers == 0  # a click selects trial 0
    band = by_key["band:0:w"].props
    assert band["fill"] == "toself" and band["y"].max() == pytest.approx(0.9 + 19)
    # one trial: a colour per hyperparameter; several: a colour per trial, a dash per name
    assert by_key["value:0:lr"].props["line"]["color"] != by_key["value:0:w"].props["line"]["color"]
    two = {t.key: t for t in hypergrad_data(model, selected=2, show="running").traces}
    lr2, w2, lr3 = two["value:2:lr"].props, two["value:2:w"].props, two["value:3:lr"].props
    assert lr2["line"]["color"] == w2["line"]["color"] != lr3["line"]["color"]
    assert lr2["line"]["dash"] != w2["line"]["dash"] and lr2["name"] == "#2 lr"
    assert lr2["line"]["width"] > lr3["line"]["width"]  # the selected one stands out
    assert not lr2["showlegend"] and lr2["legendgroup"] == "trial 2"  # its legend entry hides it
    legend = [t.props["name"] for t in two.values() if t.key.startswith("legend:")]
    assert legend == ["#2", "#3", "lr", "w", "‖hypergrad‖"]


def test_long_traces_are_downsampled_and_tokens_follow_new_points(model) -> None:
    model.apply([MetricsReported(2, s, {"hyper/lr": np.sin(s / 100.0)}) for s in range(20, 5_000)])
    data = hypergrad_data(model, selected=2, max_points=64)
    lr = next(t for t in data.traces if t.key == "value:2:lr")
    assert len(lr.props["x"]) <= 64 and lr.props["x"][-1] == 4_999
    assert lr.props["y"].max() == pytest.approx(1.0, abs=1e-3)  # the peak survives
    model.apply([MetricsReported(2, 5_000, {"hyper/lr": 0.0})])
    again = next(t for t in hypergrad_data(model, selected=2).traces if t.key == "value:2:lr")
    assert again.token != lr.token


def hd_objective(trial: hl.Trial) -> float:
    """SGD-HD with one learning rate per parameter group on a quadratic: 25 quick steps."""
    lr0 = trial.suggest_float("lr0", 0.01, 0.1, log=True)
    w = torch.nn.Parameter(torch.tensor([3.0, -2.0]))
    b = torch.nn.Parameter(torch.tensor([1.0]))
    opt = SGDHD([{"params": [w]}, {"params": [b]}], lr=lr0, hypergrad_lr=0.01, per_group=True)
    loss = torch.zeros(())
    for step in range(25):
        opt.zero_grad()
        loss = (w**2).sum() + 3 * (b**2).sum()
        loss.backward()
        opt.step()
        trial.report(step, loss=loss.detach())
        report_trace(trial, step, opt)
    return float(loss.detach())


def test_the_tab_appears_with_the_first_trace_and_draws_it_live(sessions, boards) -> None:
    s = make_session(hd_objective)
    sessions.append(s)
    board = Dashboard(s)
    boards.append(board)
    assert "hypergrad" not in [p.name for p in board.panels]  # nothing traced yet
    s.start(n_trials=3).wait()
    settle(board)
    # Hypergradients joined as the last tab:
    titles = [board._tabs.get_title(i) for i in range(len(board.panels))]
    assert titles == ["Curves & history", "Parameters", "Controls", "Hypergradients"]
    assert len(board._tabs.children) == 4
    board._tabs.selected_index = 3
    panel = board.panels[3]
    assert isinstance(panel, HypergradPanel)
    best = board.model.best[0]
    values = [t for t in panel.figure.data if t.visible and t.yaxis == "y"]
    grads = [t for t in panel.figure.data if t.visible and t.yaxis == "y2"]
    assert len(values) == 2 and len(grads) == 3  # lr/group0, lr/group1; and the norm
    assert {t.name for t in values} == {"lr/group0", "lr/group1"}
    assert values[0].x[-1] == 24 and values[0].y[0] == pytest.approx(
        s.study.trials[best].params["lr0"], rel=1e-5
    )
    assert f"<b>#{best}</b>" in panel.info.value

    other = next(n for n in range(3) if n != best)
    board.select(other)
    assert panel.traces.keys[0].split(":")[1] == str(other)
    panel.picker.value = "all"
    assert len([k for k in panel.traces.keys if k.startswith("value:")]) == 3 * 2
    legend = sorted((t.legendrank, t.name) for t in panel.figure.data if t.showlegend)
    assert [name for _, name in legend] == [
        "#0",
        "#1",
        "#2",
        "lr/group0",
        "lr/group1",
        "‖hypergrad‖",
    ]
    trace = panel.traces.trace(f"value:{best}:lr/group1")
    trace._dispatch_on_click(Points(point_inds=[3]), None)
    assert board.selected == best
    panel.log_toggle.value = True
    assert panel.figure.layout.yaxis.type == "log"


def test_sessions_without_traces_never_get_the_tab(sessions, boards) -> None:
    s = make_session(quadratic)
    sessions.append(s)
    board = Dashboard(s)
    boards.append(board)
    s.start(n_trials=2).wait()
    settle(board)
    assert [p.name for p in board.panels] == ["curves", "params", "controls"]
