"""Dashboard on real sessions, without a browser: widgets and figures after events, controls
from widget callbacks, several dashboards, closing, loaded and plain-Optuna studies."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

import hpo_lab as hl
from hpo_lab.dashboard import Dashboard, _curves_panel, _dashboard
from tests.conftest import wait_for

from .conftest import Gate, endless, make_session, quadratic, settle


def front_end(widget, content: dict) -> None:
    """Delivers ``content`` to ``widget`` as a custom message from its front end."""
    widget._handle_custom_msg(content, [])


def curve_keys(board: Dashboard) -> list[str]:
    return [k for k in board.panels[0].curves.keys if not k.startswith("legend")]


def test_a_run_fills_every_view(sessions, boards) -> None:
    s = make_session(quadratic, n_workers=2, progress=True)
    sessions.append(s)
    board = s.dashboard()
    boards.append(board)
    assert s._show_progress is False  # the dashboard shows progress from now on
    s.start(n_trials=8).wait()
    settle(board)
    assert board.model.counts() == {"COMPLETE": 8}
    assert sorted(board.table.rows) == list(range(8))
    assert {r["state"] for r in board.table.rows.values()} == {"COMPLETE"}
    assert all(r["last_step"] == 4 for r in board.table.rows.values())
    best = s.best_trial
    assert board.table.best == best.number
    assert board.status.data["best"]["number"] == best.number
    assert board.status.data["state"] == "finished" and board.status.data["total"] == 8
    fig = board.panels[0].figure
    complete = board.panels[0].curves.trace("COMPLETE:0")
    assert complete.visible and len(complete.x) == 8 * 6  # 8 curves of 5 points + separators
    assert board.panels[0].curves.trace("best").y[-1] == pytest.approx(
        s.metrics(best.number)["loss"].iloc[-1]
    )
    values = board.panels[0].history.trace("values")
    assert sorted(values.y) == sorted(t.value for t in s.trials)
    assert fig.layout.yaxis.title.text == "loss"
    assert board.panels[0].picker.options == ("loss", "acc")
    stats = board.frame_stats()
    assert stats["frames"] == len(board.frame_cpu_times) > 0
    assert 0 < stats["cpu_p50_ms"] <= stats["cpu_p95_ms"] and stats["p50_ms"] <= stats["max_ms"]


def test_a_dashboard_made_after_the_run_loads_it_from_storage(sessions, boards) -> None:
    s = make_session(quadratic, storage="runs")
    sessions.append(s)
    s.start(n_trials=5).wait()
    board = s.dashboard(series="acc", max_points=16, chunk=2)
    boards.append(board)
    assert board.panels[0].series == "acc"
    assert board.panels[0].figure.layout.yaxis.title.text == "acc"
    assert {k.split(":")[0] for k in curve_keys(board)} >= {"COMPLETE", "best"}
    assert len([k for k in curve_keys(board) if k.startswith("COMPLETE")]) == 3  # chunks of 2


def test_prune_from_the_table_ends_the_trial_pruned_within_a_second(sessions, boards) -> None:
    s = make_session(endless, n_workers=1)
    sessions.append(s)
    board = s.dashboard()
    boards.append(board)
    s.start(n_trials=2)
    wait_for(lambda: board.table.rows.get(0, {}).get("state") == "RUNNING", timeout=10)
    wait_for(lambda: (board.table.rows[0].get("last_step") or 0) > 3, timeout=10)
    clicked = time.monotonic()
    front_end(board.table, {"type": "action", "action": "prune", "number": 0})
    wait_for(lambda: board.table.rows[0]["state"] == "PRUNED", timeout=5)
    assert time.monotonic() - clicked < 1.0
    assert s.trials[0].state == optuna.trial.TrialState.PRUNED  # PRUNED, not FAIL
    log = s.actions()
    prune = log[log.kind == "prune"].iloc[0]
    assert (prune.source, prune.trial, prune.result) == ("dashboard", 0, "requested")
    assert "prune" in board.status.message["text"] and board.status.message["level"] == "ok"
    wait_for(lambda: board.table.rows.get(1, {}).get("state") == "RUNNING", timeout=10)
    front_end(board.detail, {"type": "action", "action": "stop", "number": 1})  # the card's stop
    wait_for(lambda: board.table.rows[1]["state"] == "COMPLETE", timeout=5)
    assert s.wait(timeout=10)
    assert s.trials[1].state == optuna.trial.TrialState.COMPLETE  # stopped: keeps its last value
    assert list(s.actions().source) == ["code", "dashboard", "dashboard"]


def test_session_controls_from_the_status_bar(sessions, boards) -> None:
    gate = Gate()
    s = make_session(gate, n_workers=1)
    sessions.append(s)
    board = s.dashboard()
    boards.append(board)
    s.start(n_trials=1)
    wait_for(lambda: s.running == [0])
    front_end(board.status, {"type": "control", "action": "pause"})
    assert s.state == "paused"
    settle(board)
    wait_for(lambda: 0 in board.model.trials and board.model.trials[0].held)  # at its next report
    settle(board)
    assert board.table.rows[0]["state"] == "PAUSED"
    assert board.status.data["controls"]["resume"] and not board.status.data["controls"]["pause"]
    front_end(board.status, {"type": "control", "action": "resume"})
    front_end(board.status, {"type": "control", "action": "add_trials", "n": 2})
    assert s._driver.budget == 2
    front_end(board.status, {"type": "control", "action": "stop"})
    gate.release()
    assert s.wait(timeout=10) and s.state == "stopped"
    settle(board)
    log = s.actions()
    assert list(zip(log.kind, log.source)) == [
        ("start", "code"),
        ("pause", "dashboard"),
        ("resume", "dashboard"),
        ("add_trials", "dashboard"),
        ("stop", "dashboard"),
    ]
    assert board.status.data["state"] == "stopped"
    assert not any(v for k, v in board.status.data["controls"].items() if k != "add_trials")


def test_refused_controls_are_shown_not_raised(sessions, boards) -> None:
    s = make_session(quadratic)
    sessions.append(s)
    s.start(n_trials=2).wait()
    board = s.dashboard()
    boards.append(board)
    assert board.control("prune", number=0) is False
    assert board.status.message["level"] == "error"
    assert "trial 0 is COMPLETE, not RUNNING" in board.status.message["text"]
    assert board.control("add_trials", n=0) is False
    assert "n must be" in board.status.message["text"]
    with pytest.raises(ValueError, match="action must be one of"):
        board.control("explode")


def test_two_dashboards_both_update_and_closing_one_unsubscribes_it(sessions) -> None:
    gate = Gate()
    s = make_session(gate, n_workers=2)
    sessions.append(s)
    subscribers = len(s.bus._subs)
    first, second = s.dashboard(), s.dashboard()
    assert len(s.bus._subs) == subscribers + 2
    s.start(n_trials=4)
    wait_for(lambda: len(s.running) == 2)
    settle(first)
    assert set(first.table.rows) == set(second.table.rows) == {0, 1}
    first.close()
    assert first.closed and len(s.bus._subs) == subscribers + 1
    gate.release()  # the trials go on: closing a dashboard never touches them
    assert s.wait(timeout=10)
    settle(second)
    assert second.model.counts() == {"COMPLETE": 4}
    assert first.model.counts() != {"COMPLETE": 4}  # the closed one stopped following
    first.close()  # twice is fine
    second.close()
    assert len(s.bus._subs) == subscribers


def test_a_failed_trial_is_marked_with_its_reason(sessions, boards) -> None:
    gate = Gate()
    gate.fail = True
    s = make_session(gate)
    sessions.append(s)
    board = s.dashboard()
    boards.append(board)
    gate.release()
    s.start(n_trials=1).wait()
    settle(board)
    assert board.table.rows[0]["state"] == "FAIL"
    assert {"FAIL:0", "fail-marks"} <= set(curve_keys(board))
    board.select(0)
    card = board.detail.data
    assert card["state"] == "FAIL" and "boom: the gate was told to fail" in card["reason"]
    assert "RuntimeError" in card["traceback"]


def test_selection_is_the_same_everywhere(sessions, boards) -> None:
    s = make_session(quadratic)
    sessions.append(s)
    s.start(n_trials=4).wait()
    board = s.dashboard()
    boards.append(board)
    board.select(2)
    assert board.table.selected == 2 and board.detail.data["number"] == 2
    assert board.panels[0].curves.trace("selected").visible
    assert board.panels[0].figure.data  # still drawn
    board.table.selected = 3  # a row clicked in the table
    assert board.selected == 3 and board.detail.data["number"] == 3
    chunk = board.panels[0].curves.trace("COMPLETE:0")
    from plotly.callbacks import InputDeviceState, Points

    chunk._dispatch_on_click(
        Points(point_inds=[0], trace_name="", trace_index=0), InputDeviceState()
    )
    assert board.selected == 0 and board.table.selected == 0  # a click on trial 0's curve
    front_end(board.status, {"type": "select", "number": 1})  # the best trial's badge
    assert board.selected == 1
    chunk._dispatch_on_hover(
        Points(point_inds=[0], trace_name="", trace_index=0), InputDeviceState()
    )
    assert "<b>Trial 0</b>" in board.panels[0].info.value and "x = " in board.panels[0].info.value
    board.select(None)
    assert board.table.selected is None and board.detail.data["number"] is None
    with pytest.raises(TypeError, match="number must be a trial number"):
        board.select("3")  # type: ignore[arg-type]


def test_series_picker_and_log_scale(sessions, boards) -> None:
    s = make_session(quadratic)
    sessions.append(s)
    s.start(n_trials=3).wait()
    board = s.dashboard()
    boards.append(board)
    panel = board.panels[0]
    panel.picker.value = "acc"
    assert panel.figure.layout.yaxis.title.text == "acc"
    acc = s.metrics(0)["acc"].tolist()
    assert panel.curves.trace("COMPLETE:0").y[: len(acc)].tolist() == pytest.approx(acc)
    panel.log_toggle.value = True
    assert panel.figure.layout.yaxis.type == "log"


def test_the_parameters_tab_is_built_when_opened(sessions, boards) -> None:
    s = make_session(quadratic)
    sessions.append(s)
    s.start(n_trials=4).wait()
    board = s.dashboard()
    boards.append(board)
    params = board.panels[1]
    assert params.figure is None  # nothing built (nor sent) until the tab is opened
    board._tabs.selected_index = 1
    assert params.figure is not None
    parcoords = params.figure.data[0].to_plotly_json()
    assert parcoords["visible"] and [d["label"] for d in parcoords["dimensions"]] == [
        "x",
        "opt",
        "value ↓",
    ]
    assert sorted(params.slices.keys)[:2] == ["best:opt", "best:x"]
    s.add_trials(2)
    assert s.wait(timeout=10)
    settle(board)
    assert len(params.figure.data[0].to_plotly_json()["dimensions"][0]["values"]) == 6


def test_a_plain_optuna_study_shows_its_intermediate_values(tmp_path: Path, boards) -> None:
    path = str(tmp_path / "plain.log")
    study = optuna.create_study(
        study_name="plain", storage=JournalStorage(JournalFileBackend(path))
    )

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(4):
            trial.report(x + 1 / (step + 1), step)
        return x

    study.optimize(objective, n_trials=3)
    loaded = hl.Session.load("plain", storage=path, progress=False)
    board = loaded.dashboard()
    boards.append(board)
    assert board.model.series_names == ["intermediate"]
    assert board.panels[0].series == "intermediate"
    assert len(board.panels[0].curves.trace("COMPLETE:0").x) == 3 * 5
    assert board.status.data["read_only"] and not board.status.data["controls"]["add_trials"]
    assert board.table.actions == []  # no objective here: nothing to control


def test_closing_the_session_makes_its_dashboard_read_only(tmp_path: Path, boards) -> None:
    s = make_session(quadratic, name="closed", storage=str(tmp_path / "runs"))
    board = s.dashboard()
    boards.append(board)
    s.start(n_trials=2).wait()
    board.refresh()
    assert not board.status.data["read_only"] and board.status.data["controls"]["add_trials"]
    s.close()
    assert board.status.data["read_only"] and not board.status.data["controls"]["add_trials"]
    assert [a.kind for a in board.model.actions] == ["start", "close"]  # the last batch came
    assert board.control("add_trials", n=1) is False
    assert "closed" in board.status.message["text"]
    assert len(s.trials) == 2


def test_a_loaded_session_without_objective_is_read_only(tmp_path: Path, sessions, boards) -> None:
    s = make_session(quadratic, name="kept", storage=str(tmp_path / "runs"))
    s.start(n_trials=3).wait()
    s.close()
    again = hl.Session.load("kept", storage=str(tmp_path / "runs"), progress=False)  # new kernel
    sessions.append(again)
    board = again.dashboard()
    boards.append(board)
    assert board.model.counts() == {"COMPLETE": 3}
    assert board.model.series_names == ["loss", "acc"]
    assert [a.kind for a in board.model.actions] == ["start", "close"]
    assert board.status.data["read_only"] and board.table.actions == []
    assert board.status.data["elapsed"] is not None and board.status.data["eta"] is None
    assert board.control("add_trials", n=1) is False
    assert "has no objective" in board.status.message["text"]


def test_errors_in_the_pump_are_logged_and_the_rest_goes_on(
    sessions, boards, monkeypatch, caplog
) -> None:
    s = make_session(quadratic)
    sessions.append(s)
    board = s.dashboard()
    boards.append(board)

    def broken(model):
        raise RuntimeError("a panel bug")

    monkeypatch.setattr(board.panels[0], "compute", broken)
    with caplog.at_level(logging.ERROR, logger="hpo_lab.dashboard._dashboard"):
        s.start(n_trials=3).wait()
        settle(board)
    assert "panel 'curves' failed to update" in caplog.text and "a panel bug" in caplog.text
    assert all(t.state.name == "COMPLETE" for t in s.trials)  # trials never saw it
    assert len(board.table.rows) == 3  # the other views kept updating


def test_curves_switch_to_webgl_past_the_threshold(sessions, boards, monkeypatch) -> None:
    monkeypatch.setattr(_curves_panel, "GL_THRESHOLD", 20)
    s = make_session(quadratic)
    sessions.append(s)
    board = s.dashboard()
    boards.append(board)
    s.start(n_trials=6).wait()
    settle(board)
    types = {board.panels[0].curves.trace(k).type for k in board.panels[0].curves.keys}
    assert types == {"scattergl"}
    assert {t.type for t in board.panels[0].figure.data if t.xaxis == "x2"} == {"scatter"}


def test_no_view_pauses_drawing_and_a_new_view_redraws(sessions, boards) -> None:
    gate = Gate()
    s = make_session(gate)
    sessions.append(s)
    board = s.dashboard()
    boards.append(board)
    front_end(board.status, {"type": "view", "open": True})
    front_end(board.status, {"type": "view", "open": False})  # the cell was cleared
    gate.release()
    s.start(n_trials=2).wait()
    settle(board)
    assert board.model.counts() == {"COMPLETE": 2}  # the model follows...
    assert board.table.rows == {}  # ...but nothing is drawn
    front_end(board.status, {"type": "view", "open": True})  # the page was reloaded
    assert {r["state"] for r in board.table.rows.values()} == {"COMPLETE"}
    assert "COMPLETE:0" in board.panels[0].curves.keys


def test_bad_options_name_the_argument(sessions) -> None:
    s = make_session(quadratic)
    sessions.append(s)
    cases = [
        ({"series": ""}, "series must be"),
        ({"max_points": 3}, "max_points must be an int of at least 16"),
        ({"chunk": 0}, "chunk must be an int of at least 1"),
        ({"budget": 5}, "budget must be an int of at least 100"),
        ({"height": 10}, "height must be"),
        ({"interval": 0.01}, "interval must be a number of seconds of at least 0.1"),
        ({"panels": ["nope"]}, "unknown panel 'nope'"),
        ({"panels": []}, "panels must name at least one panel"),
    ]
    subscribers = len(s.bus._subs)
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            Dashboard(s, **options)
    with pytest.raises(TypeError, match="panels must hold panel names"):
        Dashboard(s, panels=[42])
    assert len(s.bus._subs) == subscribers  # nothing left subscribed


def test_a_bare_session_shows_a_dashboard_only_in_a_kernel(sessions, monkeypatch) -> None:
    s = make_session(quadratic)
    sessions.append(s)
    assert s._repr_mimebundle_() is None  # a terminal: the HTML summary is used

    class Shell:
        kernel = object()

    monkeypatch.setattr("IPython.get_ipython", lambda: Shell())
    kept = s.dashboard()  # made on purpose: stays
    bundle = s._repr_mimebundle_()
    first = _dashboard._DISPLAYED[s]
    try:
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert bundle["text/html"].startswith("<div class='hpo-lab-session'>")
        assert bundle["text/plain"].startswith("Session(")
        assert first.session is s and not first.closed
        again = s._repr_mimebundle_()  # the cell ran again: one live dashboard, not two
        second = _dashboard._DISPLAYED[s]
        assert second is not first and first.closed and not second.closed
        assert (
            again["application/vnd.jupyter.widget-view+json"]
            != bundle["application/vnd.jupyter.widget-view+json"]
        )
        assert not kept.closed
    finally:
        _dashboard._DISPLAYED.pop(s).close()
        kept.close()


def test_a_running_trials_row_follows_its_reports_once_a_second(sessions, boards) -> None:
    s = make_session(endless, n_workers=1)
    sessions.append(s)
    board = s.dashboard()
    boards.append(board)
    sent = []
    upsert = board.table.upsert
    board.table.upsert = lambda rows: (sent.append([r["number"] for r in rows]), upsert(rows))
    s.start(n_trials=1)
    wait_for(lambda: (board.table.rows.get(0, {}).get("last_step") or 0) >= 1, timeout=10)
    with board._lock:
        board._last_tick = time.time()  # a tick just happened
        sent.clear()
        step = board.table.rows[0]["last_step"]
    wait_for(lambda: board.model.trials[0].last_step >= step + 3, timeout=10)
    with board._lock:  # reports came, the table did not get them
        assert board.table.rows[0]["last_step"] == step and sent == []
        board._last_tick -= 1.0  # as if a second had passed
    wait_for(lambda: board.table.rows[0]["last_step"] > step, timeout=5)
    assert sent and all(numbers == [0] for numbers in sent)
    s.stop(cancel=True)
    assert s.wait(timeout=10)
    settle(board)
    assert board.table.rows[0]["last_step"] == board.model.trials[0].last_step  # ended: at once


def test_the_best_shown_is_optunas_best_feasible_trial(tmp_path: Path, sessions, boards) -> None:
    def sized(trial: hl.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        trial.set_user_attr("size", 100 * (1 - x))  # the lower the value, the bigger
        return x

    s = make_session(sized, name="sized", metric=None)
    sessions.append(s)
    board = s.dashboard()
    boards.append(board)
    s.start(n_trials=1).wait()
    s.constrain("size <= 50")  # only x >= 0.5 is feasible from now on
    s.start(n_trials=15).wait()
    settle(board)
    infeasible = {t.number for t in s.trials if t.constraints.get("size <= 50", 0) > 0}
    assert infeasible and board.model.infeasible == infeasible
    lowest = min(s.trials, key=lambda t: t.value)
    assert lowest.number in infeasible  # the lowest value is not the best
    assert board.status.data["best"]["number"] == s.best_trial.number != lowest.number
    assert board.model.best == (s.best_trial.number, s.best_trial.value)
    assert board.table.best == s.best_trial.number
