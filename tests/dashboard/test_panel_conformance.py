"""Every registered panel honours the Panel contract, on every kind of session.

A new panel (fork form, lineage, action log, hypergradients, Pareto front...) is registered with
``@register_panel``; importing its module is enough for it to be tested here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import ipywidgets
import pytest

from hpo_lab.dashboard import (
    Changes,
    Dashboard,
    DashboardModel,
    Panel,
    PanelContext,
    register_panel,
    registered_panels,
    unregister_panel,
)
from hpo_lab.events import (
    ControlApplied,
    MetricsReported,
    ParamsSuggested,
    SessionStateChanged,
    TrialFinished,
    TrialStarted,
)

from .conftest import make_session, quadratic, settle


def _single() -> DashboardModel:
    m = DashboardModel("single", ["minimize"], metric="loss")
    events: list = [SessionStateChanged("running")]
    for n, (state, value) in enumerate(
        [("COMPLETE", 0.3), ("PRUNED", None), ("FAIL", None), ("COMPLETE", 0.1), ("RUNNING", 0)]
    ):
        events += [TrialStarted(n), ParamsSuggested(n, {"lr": 0.1 / (n + 1), "opt": "adam"})]
        events += [MetricsReported(n, s, {"loss": 1 / (s + 1), "hyper/lr": 0.1}) for s in range(6)]
        if state != "RUNNING":
            events.append(TrialFinished(n, state, None if value is None else (value,)))
    events.append(ControlApplied("prune", 4, source="dashboard"))
    m.apply(events)
    return m


def _multi() -> DashboardModel:
    m = DashboardModel("multi", ["minimize", "maximize"], objective_names=["err", "speed"])
    m.apply(
        [TrialFinished(n, "COMPLETE", (1.0 / (n + 1), float(n)), params={"w": n}) for n in range(5)]
    )
    return m


def _intermediate_only() -> DashboardModel:
    """What a study run by plain Optuna looks like: one unnamed curve per trial."""
    import numpy as np

    m = DashboardModel("plain", ["maximize"])
    m.apply([TrialFinished(0, "COMPLETE", (0.5,), params={"x": 0.5})])
    m.load_points(
        np.array([0, 0]),
        np.array(["intermediate"] * 2, dtype=object),
        np.array([0.0, 1.0]),
        np.array([0.1, 0.5]),
        np.array([1.0, 2.0]),
    )
    return m


MODELS = {
    "empty": lambda: DashboardModel("empty", ["minimize"]),
    "single objective, every state": _single,
    "several objectives": _multi,
    "plain Optuna": _intermediate_only,
}


class Recorder:
    """Stands in for the dashboard behind a PanelContext."""

    def __init__(self, model: DashboardModel) -> None:
        self.model = model
        self.selected: int | None = None
        self.controls: list[tuple[str, dict[str, Any]]] = []
        self.refreshed: list[Panel] = []

    def context(self) -> PanelContext:
        import threading

        return PanelContext(
            make_session(None),
            {"max_points": 50, "chunk": 2, "height": 300},
            lock=threading.RLock(),
            get_model=lambda: self.model,
            get_selected=lambda: self.selected,
            select=lambda n: setattr(self, "selected", n),
            control=lambda action, **kw: self.controls.append((action, kw)) or True,
            refresh=self.refreshed.append,
        )


def snapshot(m: DashboardModel) -> tuple[Any, ...]:
    lengths = tuple(sorted((n, k, len(s)) for n, d in m.series.items() for k, s in d.items()))
    trials = tuple(
        sorted((n, t.state, t.version, tuple(sorted(t.params))) for n, t in m.trials.items())
    )
    return (m.version, m.outcome_version, lengths, trials, len(m.actions), m.best)


def is_small_record(data: Any) -> bool:
    return (isinstance(data, tuple) and hasattr(data, "_fields")) or dataclasses.is_dataclass(data)


PANELS = registered_panels()


@pytest.mark.parametrize("model_name", list(MODELS))
@pytest.mark.parametrize("cls", PANELS, ids=[c.name for c in PANELS])
def test_panel_contract(cls: type[Panel], model_name: str) -> None:
    model = MODELS[model_name]()
    assert isinstance(cls.available(model), bool)
    if not cls.available(model):
        pytest.skip(f"{cls.name} does not apply to a {model_name} session")
    recorder = Recorder(model)
    panel = cls(recorder.context())

    before = snapshot(model)
    data = panel.compute(model)  # before build: compute needs no widget
    assert snapshot(model) == before, "compute must not change the model"
    assert is_small_record(data), "compute returns a NamedTuple or a dataclass"

    widget = panel.build()
    assert isinstance(widget, ipywidgets.Widget)
    panel.apply(data)
    panel.apply(panel.compute(model))  # applying again is harmless
    recorder.selected = next(iter(model.trials), None)
    panel.apply(panel.compute(model))  # and with a selection
    assert snapshot(model) == before

    assert panel.wants(Changes()) is False, "no change, no work"
    assert panel.wants(Changes.everything()) is True
    assert isinstance(panel.wants(Changes(points={"loss": {0}})), bool)
    panel.close()
    panel.close()  # twice is fine


def test_registered_panels_have_unique_names_titles_and_an_order() -> None:
    names = [c.name for c in PANELS]
    assert len(names) == len(set(names)) and {"curves", "params"} <= set(names)
    for cls in PANELS:
        assert cls.title and isinstance(cls.order, int)
    assert [c.order for c in PANELS] == sorted(c.order for c in PANELS)


class ActionLogPanel(Panel):
    """The example of the ``_panel`` module docstring: the action log as HTML."""

    name = "test_actions"
    title = "Action log"
    order = 60

    def build(self) -> ipywidgets.Widget:
        self.html = ipywidgets.HTML()
        return self.html

    def wants(self, changes: Changes) -> bool:
        return changes.actions or changes.reset

    def compute(self, model: DashboardModel) -> Any:
        from typing import NamedTuple

        class Log(NamedTuple):
            lines: tuple[str, ...]

        return Log(tuple(f"{a.kind} ({a.source}): {a.result}" for a in model.actions[-50:]))

    def apply(self, data: Any) -> None:
        self.html.value = "<br>".join(data.lines)


@pytest.fixture
def action_log() -> Iterator[type[Panel]]:
    register_panel(ActionLogPanel)
    yield ActionLogPanel
    unregister_panel(ActionLogPanel.name)


def test_a_new_panel_plugs_in_as_a_tab(action_log, sessions, boards) -> None:
    assert action_log in registered_panels()
    test_panel_contract(action_log, "single objective, every state")
    s = make_session(quadratic)
    sessions.append(s)
    board = Dashboard(s)
    boards.append(board)
    titles = [board._tabs.get_title(i) for i in range(len(board.panels))]
    # Sorted by order: the built-in tabs (10, 20, then 30-59), then this one (60).
    assert titles[:2] == ["Curves & history", "Parameters"] and titles[-1] == "Action log"
    index = len(titles) - 1
    board._tabs.selected_index = index
    s.start(n_trials=2).wait()
    settle(board)
    log = board.panels[index]
    assert log.html.value == "start (code): requested"
    board.control("add_trials", n=1)
    s.wait(timeout=10)
    settle(board)
    # The run had ended, so adding trials started a new one: recorded as the dashboard's too.
    assert log.html.value.endswith("start (dashboard): requested")


def test_register_panel_checks_what_it_registers() -> None:
    with pytest.raises(TypeError, match="expects a Panel subclass"):
        register_panel(int)  # type: ignore[arg-type]

    class Nameless(ActionLogPanel):
        name = ""

    with pytest.raises(ValueError, match="name must be a non-empty identifier"):
        register_panel(Nameless)

    class Clash(ActionLogPanel):
        name = "curves"

    with pytest.raises(ValueError, match=r"'curves' of .*Clash is already registered"):
        register_panel(Clash)
