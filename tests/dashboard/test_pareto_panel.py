"""The Pareto tab on real sessions: a live front, clicks that select, brushes that constrain."""

from __future__ import annotations

from typing import Any

import pytest
from plotly.callbacks import Points

import hpo_lab as hl
from hpo_lab.analysis import IncrementalFront, is_feasible
from hpo_lab.constraints import OutcomeConstraint
from hpo_lab.dashboard import Dashboard, ParetoPanel

from .conftest import make_session, settle

DIRECTIONS = {"err": "minimize", "size": "minimize"}


def two_objectives(trial: hl.Trial) -> dict[str, float]:
    """A known trade-off: err falls as size grows, plus a penalty in y."""
    x = trial.suggest_float("x", 0, 1)
    y = trial.suggest_float("y", 0, 1)
    return {"err": (1 - x) ** 2 + 0.3 * y, "size": 100 * x + 10 * y}


def open_pareto(board: Dashboard) -> ParetoPanel:
    index = [p.name for p in board.panels].index("pareto")
    board._tabs.selected_index = index
    panel = board.panels[index]
    assert isinstance(panel, ParetoPanel)
    return panel


def trace(panel: ParetoPanel, key: str) -> Any:
    return (panel.hv if key == "hv" else panel.points).trace(key)


@pytest.fixture
def run(sessions, boards) -> tuple[hl.Session, Dashboard, ParetoPanel]:
    s = make_session(two_objectives, directions=DIRECTIONS, metric=None)
    sessions.append(s)
    board = Dashboard(s)
    boards.append(board)
    panel = open_pareto(board)
    s.start(n_trials=24).wait()
    settle(board)
    return s, board, panel


def test_the_tab_shows_the_front_of_a_run(run) -> None:
    s, board, panel = run
    titles = [board._tabs.get_title(i) for i in range(len(board.panels))]
    assert titles == ["Curves & history", "Parameters", "Pareto front", "Controls"]
    data = panel._data
    expected = IncrementalFront.from_study(s.study, reference_point=data.reference_point)
    assert data.front == expected.front and data.hypervolume == pytest.approx(expected.hypervolume)
    assert data.n_dominated + len(data.front) == 24 and data.auto_reference
    front = trace(panel, "front:0")
    assert len(front.x) == len(data.front) and front.visible
    assert trace(panel, "hv").xaxis == "x2" and trace(panel, "hv").x[-1] == 24
    assert [f.value for f in panel.fields] == list(data.reference_point)
    assert [f.description for f in panel.fields] == ["err", "size"]
    assert "Hypervolume <b>" in panel.summary.value and f"front {len(data.front)}" in (
        panel.summary.value
    )
    legend = sorted((t.legendrank, t.name) for t in panel.figure.data if t.showlegend)
    assert [name for _, name in legend] == [
        f"front ({len(data.front)})",
        f"dominated ({data.n_dominated})",
        "reference point",
    ]


def test_clicking_a_point_selects_its_trial(run) -> None:
    _s, board, panel = run
    front = trace(panel, "front:0")
    target = panel._data.front[2]
    front._dispatch_on_click(Points(point_inds=[2], xs=[front.x[2]], ys=[front.y[2]]), None)
    assert board.selected == target
    assert board.table.selected == target  # selected everywhere
    assert panel._data.selected == target
    assert list(trace(panel, "selected:0").customdata) == [target]
    hv = trace(panel, "hv")
    hv._dispatch_on_click(Points(point_inds=[0]), None)
    assert board.selected == int(hv.customdata[0])


def test_brushing_a_region_constrains_the_rest_of_the_search(run) -> None:
    s, board, panel = run
    front = list(panel._data.front[:3])  # the lowest errors on the front
    hv = panel._data.front[5]
    # What the browser sends for a box around them: (xaxis, customdata) of each point in it;
    # the hypervolume's points (axis x2) are not the region's.
    panel.relay._handle_message(
        panel.relay, {"type": "brush", "points": [["x", n] for n in front] + [["x2", hv]]}, []
    )
    assert not panel.constrain_button.disabled
    values = [s.study.trials[n].values for n in front]
    region = panel._region[1]
    assert "3 trials</b> brushed" in panel.region.value
    assert f"err ≤ {region[0].split(' <= ')[1]}" in panel.region.value
    bound_err = float(region[0].split(" <= ")[1])
    assert region[0].startswith("err <= ") and max(v[0] for v in values) <= bound_err
    panel.relay._handle_message(panel.relay, {"type": "brush", "points": []}, [])  # cleared
    assert panel.constrain_button.disabled and "Click a point" in panel.region.value
    assert not panel.constrain_to_region()
    assert panel.brush(0, front) == region
    panel.constrain_button.click()
    assert {c.key for c in s.constraints.outcomes} == set(region)
    log = s.actions()
    assert set(log[log.kind == "constrain"].source) == {"dashboard"}
    assert "Constrained the rest of the search" in panel.region.value

    # The 24 trials that ended before are judged by the dashboard, at once.
    settle(board)
    constraints = [OutcomeConstraint(c.name, c.op, c.bound) for c in s.constraints.outcomes]
    names = list(DIRECTIONS)

    def outside(t: Any) -> bool:
        return any(c.violation(t.values[names.index(c.name)]) > 0 for c in constraints)

    judged = {t.number for t in s.study.trials if outside(t)}
    assert judged and panel._data.n_infeasible == len(judged)
    assert not set(panel._data.front) & judged

    s.start(n_trials=16).wait()
    settle(board)
    data = panel._data
    stored = {t.number for t in s.study.trials if not is_feasible(t)}
    assert stored and all(n >= 24 for n in stored)  # recorded on trials that end afterwards
    assert {t.number for t in s.study.trials if outside(t)} == judged | stored
    assert data.n_infeasible == len(judged | stored)
    assert not set(data.front) & (judged | stored)
    # The status bar's count and the detail's front are the panel's front.
    assert board.model.infeasible == judged | stored
    assert set(board.model.pareto) == set(data.front)
    assert board.status.data["best"] == {"pareto": len(data.front)}
    assert len(trace(panel, "infeasible:0:0").x) == len(judged | stored)
    assert len(panel.figure.layout.shapes) == len(region)  # a dashed line per bound
    assert "constraints: err ≤" in panel.summary.value

    assert not panel.relax_button.disabled
    panel.relax_button.click()
    settle(board)
    assert not s.constraints.outcomes and panel._data.bounds == ()
    assert panel.figure.layout.shapes == ()
    # Judgements go with the constraints; stored values stay (Optuna's samplers read them).
    assert panel._data.n_infeasible == len(stored)
    expected = IncrementalFront.from_study(s.study, reference_point=panel._data.reference_point)
    assert panel._data.front == expected.front


def test_brushing_again_replaces_the_bounds_on_the_brushed_objectives(run) -> None:
    s, _board, panel = run
    s.constrain("err >= 0.01")
    region = panel.brush(0, panel._data.front[:2])  # the two lowest errors
    assert region and not any(e.startswith("err >=") for e in region)
    assert panel.constrain_to_region()
    keys = {f"{c.name} {c.op} {c.bound:g}" for c in s.constraints.outcomes}
    assert keys == set(region)  # err >= 0.01 went with the bounds the region replaced


def test_the_reference_point_can_be_typed_and_suggested_again(run) -> None:
    s, _board, panel = run
    suggested = panel._data.reference_point
    panel.fields[0].value = 3.0
    data = panel._data
    assert data.reference_point == (3.0, suggested[1]) and not data.auto_reference
    assert not panel.auto.value
    expected = IncrementalFront.from_study(s.study, reference_point=[3.0, suggested[1]])
    assert data.hypervolume == pytest.approx(expected.hypervolume)
    assert trace(panel, "reference:0").x == (3.0,)
    panel.auto.value = True
    assert panel._data.reference_point == suggested and panel._data.auto_reference
    with pytest.raises(ValueError, match="reference point must be 2 finite numbers"):
        panel.set_reference_point([1.0])


def test_unnamed_objectives_cannot_be_constrained_from_a_brush(sessions, boards) -> None:
    def tupled(trial: hl.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        return x, 1 - x

    s = make_session(tupled, directions=["minimize", "minimize"], metric=None)
    sessions.append(s)
    board = Dashboard(s)
    boards.append(board)
    panel = open_pareto(board)
    s.start(n_trials=6).wait()
    settle(board)
    panel.brush(0, panel._data.front[:2])
    assert panel.constrain_button.disabled and "name the objectives" in panel.region.value
    assert not panel.constrain_to_region()


def test_a_constraint_error_is_shown_not_raised(run, monkeypatch) -> None:
    s, _board, panel = run
    panel.brush(0, panel._data.front[:2])

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ValueError("no, thank you")

    monkeypatch.setattr(s, "constrain", refuse)
    assert not panel.constrain_to_region()
    assert "no, thank you" in panel.region.value


def test_single_objective_sessions_have_no_pareto_tab(sessions, boards) -> None:
    s = make_session()
    sessions.append(s)
    board = Dashboard(s)
    boards.append(board)
    assert "pareto" not in [p.name for p in board.panels]
