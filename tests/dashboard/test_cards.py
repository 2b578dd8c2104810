"""The status bar and the trial card: their data from a known model, and their widgets'
messages."""

from __future__ import annotations

import pytest

from hpo_lab.dashboard import DashboardModel, StatusBar, TrialDetail, detail_data, status_data
from hpo_lab.dashboard._load import SessionInfo
from hpo_lab.events import ControlApplied, TrialFinished


def test_status_counts_budget_best_and_eta(model) -> None:
    info = SessionInfo("running", budget=6, active=True, can_run=True, n_workers=2)
    s = status_data(model, info, now=20.0)
    assert s.counts == {"COMPLETE": 3, "PRUNED": 2, "FAIL": 1, "RUNNING": 2}
    assert s.total == 6 + 2 + 6
    assert s.best == {"number": 0, "value": "0.1"}
    assert s.elapsed == 20.0 and s.ticking
    assert s.eta == pytest.approx((6 + 2) / (6 / 20.0))  # left / (done per second)
    assert s.controls == {"pause": True, "resume": False, "stop": True, "add_trials": True}
    assert s.objective == "value ↓" and not s.read_only

    paused = status_data(model, info._replace(state="paused"), now=20.0)
    assert paused.controls["resume"] and not paused.controls["pause"]
    loaded = status_data(
        model, SessionInfo("idle", None, active=False, can_run=False, n_workers=1), now=99.0
    )
    assert loaded.read_only and not any(loaded.controls.values())
    assert loaded.total == 8 and loaded.eta is None and not loaded.ticking


def test_status_of_several_objectives_names_the_pareto_front() -> None:
    m = DashboardModel("mo", ["minimize", "maximize"], objective_names=["err", "speed"])
    m.apply([TrialFinished(0, "COMPLETE", (1.0, 1.0)), TrialFinished(1, "COMPLETE", (2.0, 2.0))])
    s = status_data(m, SessionInfo("idle", None, active=False, can_run=True, n_workers=1))
    assert s.best == {"pareto": 2} and s.objective == "err ↓, speed ↑"


def test_detail_of_a_failed_and_a_running_trial(model) -> None:
    model.trials[4].traceback = "Traceback ...\nRuntimeError: boom"
    card = detail_data(model, 4, now=50.0)
    assert (card.number, card.state, card.reason, card.actions) == (4, "FAIL", "boom", [])
    assert card.traceback.endswith("boom")
    assert card.params == [("lr", "0.1"), ("opt", "sgd")]
    assert [s["name"] for s in card.series] == ["loss", "acc"]
    assert card.series[0]["last"] == "0.5" and card.series[0]["min"] == "0.5"
    assert card.history[-1][1:] == ("FAIL", "failed: boom")

    model.apply([ControlApplied("prune", 6, source="dashboard")])
    running = detail_data(model, 6, now=50.0)
    assert running.actions == ["prune", "stop"] and not running.is_best
    assert running.history[-1][2] == "prune requested (from dashboard)"
    assert ("duration", "44.0 s") in running.info
    assert detail_data(model, 6, can_act=False).actions == []
    assert detail_data(model, 0).is_best and detail_data(model, 0).values == [("value", "0.1")]
    assert detail_data(model, None).number is None
    assert detail_data(model, 999).number is None


def test_status_bar_dispatches_its_messages(caplog) -> None:
    bar = StatusBar()
    sent: list = []
    bar.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    controls, selected, views = [], [], []
    bar.on_control(lambda action, args: controls.append((action, dict(args))))
    bar.on_select(selected.append)
    bar.on_views(views.append)
    for content in (
        {"type": "control", "action": "pause"},
        {"type": "control", "action": "add_trials", "n": 3},
        {"type": "control", "action": "format_disk"},  # not a control: ignored
        {"type": "select", "number": 4},
        {"type": "select", "number": "4"},  # not a number: ignored
        {"type": "view", "open": True},
        {"type": "view", "open": True},
        {"type": "view", "open": False},
        "garbage",
    ):
        bar._handle_custom_msg(content, [])
    assert controls == [("pause", {}), ("add_trials", {"n": 3})]
    assert selected == [4] and views == [1, 2, 1] and bar.views == 1
    assert caplog.text.count("StatusBar ignored") == 3
    bar.fit_figures()
    assert sent == [{"type": "resize"}]
    bar.say("careful", "error")
    assert bar.message["text"] == "careful" and bar.message["level"] == "error"


def test_trial_card_dispatches_row_actions(caplog) -> None:
    card = TrialDetail(height=300)
    actions: list = []
    card.on_action(lambda action, number: actions.append((action, number)))
    card._handle_custom_msg({"type": "action", "action": "stop", "number": 2}, [])
    card._handle_custom_msg({"type": "action", "action": "delete", "number": 2}, [])
    card._handle_custom_msg({"type": "action", "action": "prune"}, [])
    assert actions == [("stop", 2)]
    assert caplog.text.count("TrialDetail ignored") == 2


def test_cards_ship_their_front_end() -> None:
    for widget in (StatusBar(), TrialDetail()):
        assert "export default" in widget._esm and ".hpo-sb" in widget._css
    empty = DashboardModel("e", ["minimize"])
    card = TrialDetail()
    card.show(detail_data(empty, None))
    assert card.data["number"] is None and "sent" in card.data
