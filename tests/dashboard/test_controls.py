"""The Controls tab: fork and constrain forms, lineage and action log.

The data functions are checked on hand-made models; the forms on real sessions whose objective
saves checkpoints, through the same callbacks the buttons call.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator

import pytest
import torch
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

import hpo_lab as hl
from hpo_lab.constraints import Constraints, OutcomeConstraint, ParamConstraint
from hpo_lab.dashboard import (
    ControlsPanel,
    Dashboard,
    DashboardModel,
    action_log_data,
    controls_data,
    lineage_data,
)
from hpo_lab.dashboard._controls import (
    ParamField,
    constrain_data,
    fork_data,
    fork_overrides,
    outcome_expression,
    parse_field,
)
from hpo_lab.events import ControlApplied, TrialFinished, TrialStarted

from .conftest import make_session, quadratic, settle

DISTS = {
    "lr": FloatDistribution(1e-3, 1.0, log=True),
    "width": IntDistribution(2, 8),
    "act": CategoricalDistribution(["relu", "tanh"]),
}


def forkable(trial: hl.Trial) -> float:
    """Eight epochs of a linear model; a checkpoint after every epoch; starts from its fork
    parent's checkpoint when it has one."""
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    trial.suggest_int("width", 2, 8)
    trial.suggest_categorical("act", ["relu", "tanh"])
    torch.manual_seed(trial.number)
    model = torch.nn.Linear(4, 1)
    start = 0
    state = trial.load_checkpoint()
    if state is not None:
        model.load_state_dict(state["model"])
        start = state["epoch"] + 1
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = torch.ones(8, 4), torch.zeros(8, 1)
    for epoch in range(start, 8):
        loss = ((model(x) - y) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        trial.report(epoch, loss=loss.item())
        trial.save_checkpoint({"model": model.state_dict(), "epoch": epoch})
    with torch.no_grad():
        return float(((model(x) - y) ** 2).mean())


@pytest.fixture(autouse=True)
def _no_panel_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The dashboard logs (and swallows) a panel's exceptions: none may happen here."""
    yield
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


# ---------------------------------------------------------------------- data, no widgets
def finished_model() -> DashboardModel:
    m = DashboardModel("forks", ["minimize"], metric="loss")
    m.distributions.update(DISTS)
    m.apply(
        [
            TrialFinished(0, "COMPLETE", (0.5,), params={"lr": 0.01, "width": 4, "act": "relu"}),
            TrialFinished(1, "PRUNED", None, params={"lr": 0.1, "width": 2, "act": "tanh"}),
        ]
    )
    return m


def test_fork_form_says_why_it_cannot_fork() -> None:
    m = finished_model()
    none = fork_data(m, None, distributions={}, checkpoint_steps=[], can_run=True)
    assert not none.enabled and none.fields == () and "Select a trial" in none.reason
    bare = fork_data(m, 0, distributions={}, checkpoint_steps=[], can_run=True)
    assert not bare.enabled and "saved no checkpoint" in bare.reason
    assert [f.name for f in bare.fields] == ["lr", "width", "act"]  # shown, not usable
    read_only = fork_data(m, 0, distributions={}, checkpoint_steps=[3.0], can_run=False)
    assert not read_only.enabled and "no objective" in read_only.reason
    unknown = fork_data(m, 9, distributions={}, checkpoint_steps=[], can_run=True)
    assert not unknown.enabled and "not known" in unknown.reason


def test_fork_form_prefills_the_trials_params_by_kind() -> None:
    m = finished_model()
    d = fork_data(m, 0, distributions={}, checkpoint_steps=[1.0, 3.0, 2.0], can_run=True)
    assert d.enabled and d.steps == (3.0, 2.0, 1.0) and d.value == "0.5"
    assert "kept steps: 1, 2, 3" in d.reason and not d.running
    lr, width, act = d.fields
    assert (lr.kind, lr.text, lr.low, lr.high, lr.log, lr.hint) == (
        "float",
        "0.01",
        1e-3,
        1.0,
        True,
        "[0.001, 1] log",
    )
    assert (width.kind, width.text, width.hint) == ("int", "4", "int [2, 8]")
    assert (act.kind, act.value, act.choices) == ("categorical", "relu", ("relu", "tanh"))
    # The trial's own distributions (from storage) win over the model's.
    narrow = {"lr": FloatDistribution(1e-4, 0.1)}
    d = fork_data(m, 0, distributions=narrow, checkpoint_steps=[1.0], can_run=True)
    assert d.fields[0].hint == "[0.0001, 0.1]"


def test_form_entries_parse_with_messages_that_name_the_field() -> None:
    f = ParamField("lr", "float", 0.0123456789, "0.0123457", 1e-3, 1.0, True)
    assert parse_field(f, " 1e-2 ") == 0.01
    for text, message in (
        ("", "lr: empty"),
        ("fast", "lr: 'fast' is not a number (it takes [0.001, 1] log)"),
        ("nan", "lr: 'nan' is not a finite number"),
    ):
        with pytest.raises(ValueError) as info:
            parse_field(f, text)
        assert str(info.value).startswith(message)
    fields = [f, ParamField("width", "int", 4, "4", 2, 8)]
    # The pre-filled (rounded) text is no change; a typed value is, when it differs.
    assert fork_overrides(fields, {"lr": "0.0123457", "width": "4"}) == ({}, [])
    assert fork_overrides(fields, {"lr": "0.5", "width": "4.0"}) == ({"lr": 0.5}, [])
    overrides, errors = fork_overrides(fields, {"lr": "x", "width": "4.5"})
    assert overrides == {} and errors == [
        "lr: 'x' is not a number (it takes [0.001, 1] log)",
        "width: '4.5' is not an integer (it takes int [2, 8])",
    ]
    assert outcome_expression("latency_ms", ">=", " 1e-3 ") == "latency_ms >= 1e-3"
    for args, message in (
        (("", "<=", "1"), "type the name"),
        (("a<b", "<=", "1"), "plain name"),
        (("loss", "==", "1"), "operator"),
        (("loss", "<=", ""), "type a bound"),
        (("loss", "<=", "one"), "'one' is not a number"),
    ):
        with pytest.raises(ValueError, match=message):
            outcome_expression(*args)


def test_constrain_data_lists_params_outcomes_and_constraints_in_force() -> None:
    m = finished_model()
    m.apply([TrialStarted(2)])
    from hpo_lab.events import MetricsReported

    m.apply([MetricsReported(2, 0, {"loss": 1.0, "latency_ms": 3.0})])
    c = (
        Constraints()
        .with_param(ParamConstraint("lr", low=1e-3, high=1e-2))
        .with_param(ParamConstraint("act", choices=("relu",)))
        .with_outcome(OutcomeConstraint("latency_ms", "<=", 5.0))
    )
    d = constrain_data(m, c, distributions={"extra": IntDistribution(0, 3)})
    assert [f.name for f in d.params] == ["lr", "width", "act", "extra"]
    assert d.outcomes == ("loss", "latency_ms") and d.version == 3
    assert [(r.target, r.kind, r.text) for r in d.active] == [
        ("lr", "range", "lr in [0.001, 0.01]"),
        ("act", "choices", "act in ['relu']"),
        ("latency_ms <= 5", "outcome", "latency_ms <= 5"),
    ]


def fork_action(parent: int, child: int, step: float, source: str = "dashboard", **overrides):
    details = {"parent": parent, "child": child, "step": step, "overrides": overrides}
    return ControlApplied("fork", parent, source=source, details=details)


def test_lineage_is_a_tree_with_steps_changes_and_sources() -> None:
    m = finished_model()
    m.apply(
        [
            fork_action(0, 2, 5.0, lr=0.5),
            TrialStarted(2, parent=0),
            fork_action(2, 3, 7.0, "pbt", width=6),
            fork_action(0, 4, 6.0, "code"),  # not started yet
            TrialStarted(5, parent=1),  # known from the trial only: no step
        ]
    )
    d = lineage_data(m, selected=2)
    rows = [(n.number, n.parent, n.depth, n.step, n.state, n.source, n.changes) for n in d.nodes]
    assert rows == [
        (0, None, 0, "", "COMPLETE", "", ""),
        (2, 0, 1, "5", "RUNNING", "dashboard", "lr 0.01→0.5"),
        (3, 2, 2, "7", "WAITING", "pbt", "width=6"),
        (4, 0, 1, "6", "WAITING", "code", ""),
        (1, None, 0, "", "PRUNED", "", ""),
        (5, 1, 1, "", "RUNNING", "", ""),
    ]
    assert d.n_forks == 4 and d.truncated == 0 and d.selected == 2
    assert d.nodes[0].is_best
    short = lineage_data(m, max_nodes=2)
    assert len(short.nodes) == 2 and short.truncated == 4
    assert lineage_data(DashboardModel("x", ["minimize"])).nodes == ()


def test_action_log_is_newest_first_with_what_each_did() -> None:
    m = DashboardModel("log", ["minimize"])
    m.apply(
        [
            ControlApplied("start", None, details={"n_trials": 4, "timeout": None}, time=1.0),
            fork_action(0, 4, 3.0, lr=0.5),
            ControlApplied("constrain", None, "dashboard", details={"target": "lr", "low": 0.01}),
            ControlApplied("constrain", None, "code", details={"target": "loss <= 2"}),
            ControlApplied("relax", None, "dashboard", details={"removed": ["lr in [0.01, inf]"]}),
            ControlApplied("prune", 2, "dashboard", "applied", details={"step": 4.0}),
        ]
    )
    log = action_log_data(m)
    assert [(r.kind, r.trial, r.source, r.result, r.text) for r in log.rows] == [
        ("prune", 2, "dashboard", "applied", "at step 4"),
        ("relax", None, "dashboard", "requested", "removed lr in [0.01, inf]"),
        ("constrain", None, "code", "requested", "loss <= 2"),
        ("constrain", None, "dashboard", "requested", "lr in [0.01, inf]"),
        ("fork", 0, "dashboard", "requested", "→ trial 4 from step 3 · lr=0.5"),
        ("start", None, "code", "requested", "4 trials"),
    ]
    assert log.total == 6 and log.sources == (("code", 2), ("dashboard", 4))
    assert len(log.rows[0].clock) == 8  # HH:MM:SS
    assert [r.kind for r in action_log_data(m, limit=2).rows] == ["prune", "relax"]


def test_controls_data_bundles_the_four_views() -> None:
    m = finished_model()
    d = controls_data(m, selected=0, checkpoint_steps=[2.0], known=DISTS)
    assert d.fork.enabled and d.fork.number == 0
    assert [f.name for f in d.constrain.params] == ["lr", "width", "act"]
    assert d.lineage.nodes == () and d.actions.total == 0


# ---------------------------------------------------------------------- real sessions
@pytest.fixture
def board(sessions, boards, tmp_path) -> Dashboard:
    """Two finished trials of ``forkable``; the dashboard's Controls tab open."""
    s = make_session(forkable, artifacts=tmp_path / "artifacts", keep_checkpoints=10)
    sessions.append(s)
    s.start(n_trials=2).wait(60)
    b = Dashboard(s)
    boards.append(b)
    b._tabs.selected_index = [p.name for p in b.panels].index("controls")
    settle(b)
    return b


def controls(board: Dashboard) -> ControlsPanel:
    panel = next(p for p in board.panels if p.name == "controls")
    assert isinstance(panel, ControlsPanel)
    return panel


def message(form) -> str:
    return html.unescape(form.message.value)


def test_fork_button_makes_a_child_that_continues_from_the_checkpoint(board) -> None:
    s, panel = board.session, controls(board)
    form = panel.fork_form
    assert form.button.disabled and "Select a trial" in form.subtitle.value
    board.select(0)
    assert not form.button.disabled
    assert form.inputs["lr"].value == f"{s.trials[0].params['lr']:.6g}"
    assert form.entries()["act"] == s.trials[0].params["act"]
    assert form.step.options[:2] == (("latest (step 7)", "latest"), ("step 7", 7.0))
    form.inputs["lr"].value = "0.05"
    other = "tanh" if s.trials[0].params["act"] == "relu" else "relu"
    form.inputs["act"].value = ("relu", "tanh").index(other)  # a Dropdown of choice indices
    form.step.value = 3.0
    form.button.click()
    assert "from step 3 → trial 2" in message(form) and "lr=0.05" in message(form)
    assert s.wait(60)
    child = s.trials[2]
    assert child.user_attrs["parent"] == 0 and child.user_attrs["fork_step"] == 3
    assert child.params == {**s.trials[0].params, "lr": 0.05, "act": other}
    assert child.state.name == "COMPLETE"
    assert min(s.metrics(2).index) == 4  # its curve continues from the fork step
    settle(board)
    lineage = panel.lineage.data["nodes"]
    assert [(n["number"], n["parent"], n["step"], n["source"]) for n in lineage] == [
        (0, None, "", ""),
        (2, 0, "3", "dashboard"),
    ]
    first = panel.log.data["rows"][0]
    assert (first["kind"], first["trial"], first["source"]) == ("fork", 0, "dashboard")
    assert s.actions().iloc[-1].source == "dashboard"
    # The form kept the trial selected and what was typed.
    assert board.selected == 0 and form.inputs["lr"].value == "0.05"


def test_bad_fork_values_show_an_error_and_change_nothing(board) -> None:
    s, form = board.session, controls(board).fork_form
    board.select(1)
    n_actions = len(s.actions())
    for lr, expected in (
        ("abc", "lr: 'abc' is not a number"),
        ("5", "outside its range"),  # the session refuses it
    ):
        form.inputs["lr"].value = lr
        form.button.click()
        assert "Nothing forked" in message(form) and expected in message(form)
        assert "hpo-ctl-msg--error" in message(form)
        assert len(s.trials) == 2 and len(s.actions()) == n_actions
        assert form.inputs["lr"].value == lr  # nothing typed is lost
    form.fill_values()
    assert form.inputs["lr"].value == f"{s.trials[1].params['lr']:.6g}"


def test_typed_values_survive_live_updates_but_follow_the_selection(board) -> None:
    s, panel = board.session, controls(board)
    form = panel.fork_form
    board.select(0)
    typed = "3" if s.trials[0].params["width"] == 2 else "2"
    form.inputs["width"].value = typed
    assert "hpo-ctl-changed" in form._boxes["width"]._dom_classes
    s.add_trials(1)
    assert s.wait(60)
    settle(board)
    board.refresh()  # everything reloaded from storage and redrawn
    assert form.inputs["width"].value == typed
    board.select(1)
    assert form.inputs["width"].value == str(s.trials[1].params["width"])
    assert "hpo-ctl-changed" not in form._boxes["width"]._dom_classes


def test_a_trial_without_checkpoints_cannot_be_forked(sessions, boards) -> None:
    s = make_session(quadratic)
    sessions.append(s)
    s.start(n_trials=1).wait(30)
    board = Dashboard(s, panels=["controls"])
    boards.append(board)
    board.select(0)
    form = controls(board).fork_form
    assert form.button.disabled and "saved no checkpoint" in form.subtitle.value
    form.button.click()  # a click that reaches Python anyway
    assert "Nothing forked" in message(form) and len(s.trials) == 1


def test_constrain_form_narrows_fixes_restricts_and_relaxes(board) -> None:
    s, panel = board.session, controls(board)
    form = panel.constrain_form
    assert form.param.options == ("lr", "width", "act")
    assert (form.low.value, form.high.value) == ("0.001", "1")  # lr's whole range
    form.low.value, form.high.value = "0.01", "0.1"
    form.apply.click()
    assert "Constrained: lr in [0.01, 0.1]" in message(form)
    assert s.constraints.params["lr"] == ParamConstraint("lr", low=0.01, high=0.1)

    form.param.value = "act"
    assert form.mode.options == ("Choices", "Fix")
    form._toggles[1].value = False  # tanh off
    form.apply.click()
    assert s.constraints.params["act"].choices == ("relu",)

    form.param.value = "width"
    form.mode.value = "Fix"
    form.value.value = "5"
    form.apply.click()
    assert s.constraints.params["width"].fixed == 5

    form.target.value = "Outcome"
    assert "loss" in form.outcome.options
    form.outcome.value, form.op.value, form.bound.value = "loss", "<=", "2"
    form.apply.click()
    assert [o.key for o in s.constraints.outcomes] == ["loss <= 2"]

    settle(board)
    rows = [r.text for r in panel._shown["constrain"].active]
    assert rows == ["lr in [0.01, 0.1]", "act in ['relu']", "width = 5", "loss <= 2"]
    assert len([c for c in form.active.children if "hpo-ctl-constraint" in c._dom_classes]) == 4
    log = panel.log.data["rows"]
    assert [(r["kind"], r["source"]) for r in log[:4]] == [("constrain", "dashboard")] * 4

    s.add_trials(3)
    assert s.wait(60)
    for t in s.trials[2:]:
        assert 0.01 <= t.params["lr"] <= 0.1 and t.params["act"] == "relu"
        assert t.params["width"] == 5

    form._on_relax("lr")  # what the row's Relax button calls
    assert "lr" not in s.constraints.params and "Relaxed lr" in message(form)
    form.relax_all.click()
    assert not s.constraints
    settle(board)
    assert panel.log.data["rows"][0]["kind"] == "relax"
    assert {r["source"] for r in panel.log.data["rows"][:2]} == {"dashboard"}


def test_fixing_a_categorical_and_an_int(board) -> None:
    s, form = board.session, controls(board).constrain_form
    form.param.value = "act"
    form.mode.value = "Fix"
    form.choice.value = 1
    form.apply.click()
    assert s.constraints.params["act"].fixed == "tanh"
    settle(board)
    form.param.value = "width"
    form.param.value = "act"  # back: the form shows what is in force
    assert (form.mode.value, form.choice.value) == ("Fix", 1)
    assert "now act = 'tanh'" in form.hint.value.replace("&#x27;", "'")


def test_bad_constraints_show_an_error_and_change_nothing(board) -> None:
    s, form = board.session, controls(board).constrain_form
    version = s.constraints.version
    for low, high, expected in (
        ("abc", "", "lr low: 'abc' is not a number"),
        ("", "", "type a low end, a high end or both"),
        ("5", "10", "leaves no value"),  # the session refuses it
    ):
        form.low.value, form.high.value = low, high
        form.apply.click()
        assert "Nothing changed" in message(form) and expected in message(form)
        assert s.constraints.version == version
        assert (form.low.value, form.high.value) == (low, high)
    form.target.value = "Outcome"
    form.outcome.value, form.bound.value = "no_such_series", "1"
    form.apply.click()
    assert "Nothing changed" in message(form) and "no_such_series" in message(form)
    assert s.constraints.version == version
    form._on_relax("lr")
    assert "Nothing relaxed" in message(form)


def test_clicking_a_trial_in_the_lineage_or_the_log_selects_it(board) -> None:
    panel = controls(board)
    board.select(0)
    panel.fork_form.button.click()
    settle(board)
    panel.lineage._handle_message(None, {"type": "select", "number": 2}, [])
    assert board.selected == 2
    panel.log._handle_message(None, {"type": "select", "number": 0}, [])
    assert board.selected == 0
    panel.log._handle_message(None, {"type": "select", "number": "x"}, [])  # ignored
    assert board.selected == 0


def test_a_new_dashboard_shows_the_stored_lineage_and_log(board, boards) -> None:
    s = board.session
    board.select(0)
    controls(board).fork_form.button.click()
    assert s.wait(60)
    again = Dashboard(s, panels=["controls"])
    boards.append(again)
    panel = controls(again)
    nodes = [(n["number"], n["parent"], n["source"]) for n in panel.lineage.data["nodes"]]
    assert nodes == [(0, None, ""), (2, 0, "dashboard")]
    assert [r["kind"] for r in panel.log.data["rows"]][:2] == ["fork", "start"]
