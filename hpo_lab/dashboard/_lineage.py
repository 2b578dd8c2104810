"""Lineage: which trial forked from which, at which step, as a tree (forks and PBT members)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ._controls import fmt_step
from ._hover import fmt_value
from ._model import DashboardModel

#: The tree lists at most this many trials (the rest are counted).
MAX_NODES = 400


class LineageNode(NamedTuple):
    """One trial of the tree.

    Attributes:
        number: The trial.
        parent: The trial it forked from (None: a root).
        depth: 0 for a root, 1 for its children, ...
        step: The parent's checkpoint step it started from, formatted ("" when unknown).
        state: Its display state (``"WAITING"`` for a fork that has not started).
        value: Its objective value(s), formatted ("" when none).
        source: Who forked it: ``"dashboard"``, ``"code"``, ``"pbt"``, ... ("" when unknown).
        changes: The parameters it changed, ``"lr 0.01→0.5"`` ("" when none or unknown).
        is_best: Whether it is the best trial.
    """

    number: int
    parent: int | None
    depth: int
    step: str
    state: str
    value: str
    source: str
    changes: str
    is_best: bool


class LineageData(NamedTuple):
    """The lineage tree, depth first (each parent before its children, both by number).

    Attributes:
        nodes: The trials shown.
        n_forks: How many trials were forked from another.
        truncated: Trials left out past ``max_nodes``.
        selected: The selected trial (highlighted when in the tree).
    """

    nodes: tuple[LineageNode, ...]
    n_forks: int
    truncated: int
    selected: int | None


class _Edge(NamedTuple):
    parent: int
    step: Any
    source: str
    overrides: Mapping[str, Any]


def lineage_data(
    model: DashboardModel, *, selected: int | None = None, max_nodes: int = MAX_NODES
) -> LineageData:
    """The forks of the session as a tree.

    Edges come from the action log's ``fork`` records (parent, child, step, overrides, source;
    they are loaded with the session, so a reloaded session keeps its tree) and from the
    ``parent`` of trials seen starting.

    Example:
        >>> from hpo_lab.events import ControlApplied, TrialFinished, TrialStarted
        >>> m = DashboardModel("demo", ["minimize"])
        >>> fork = {"parent": 0, "child": 1, "step": 3, "overrides": {"x": 0.5}}
        >>> _ = m.apply([TrialFinished(0, "COMPLETE", (0.2,), params={"x": 0.25}),
        ...              ControlApplied("fork", 0, source="dashboard", details=fork),
        ...              TrialStarted(1, parent=0)])
        >>> [(n.number, n.depth, n.step, n.state, n.changes) for n in lineage_data(m).nodes]
        [(0, 0, '', 'COMPLETE', ''), (1, 1, '3', 'RUNNING', 'x 0.25→0.5')]
    """
    edges: dict[int, _Edge] = {}
    for a in model.actions:
        child, parent = a.details.get("child"), a.details.get("parent", a.trial)
        if a.kind == "fork" and isinstance(child, int) and isinstance(parent, int):
            overrides = a.details.get("overrides") or {}
            edges[child] = _Edge(parent, a.details.get("step"), a.source, overrides)
    for n, t in model.trials.items():
        if t.parent is not None and n not in edges:
            edges[n] = _Edge(t.parent, None, "", {})
    children: dict[int, list[int]] = {}
    for child, e in edges.items():
        children.setdefault(e.parent, []).append(child)
    roots = sorted(n for n in children if n not in edges)
    # A cycle (impossible from a real session) would leave trials with no root: start there too.
    placed: set[int] = set()
    order: list[tuple[int, int]] = []
    pending = [(r, 0) for r in reversed(roots)]
    leftovers = sorted(set(edges) | set(children))
    while pending or len(placed) < len(leftovers):
        if not pending:
            pending.append((next(n for n in leftovers if n not in placed), 0))
        number, depth = pending.pop()
        if number in placed:
            continue
        placed.add(number)
        order.append((number, depth))
        pending.extend((c, depth + 1) for c in sorted(children.get(number, ()), reverse=True))
    best = model.best[0] if model.best is not None and model.n_objectives == 1 else None
    shown = order[: max(0, max_nodes)]
    nodes = tuple(_node(model, number, depth, edges.get(number), best) for number, depth in shown)
    return LineageData(nodes, len(edges), len(order) - len(shown), selected)


def _node(
    model: DashboardModel, number: int, depth: int, edge: _Edge | None, best: int | None
) -> LineageNode:
    t = model.trials.get(number)
    state = t.display_state if t is not None else "WAITING"
    value = " / ".join(fmt_value(v) for v in t.values) if t is not None and t.values else ""
    if edge is None:
        return LineageNode(number, None, depth, "", state, value, "", "", number == best)
    step = "" if edge.step is None else fmt_step(float(edge.step))
    parent = model.trials.get(edge.parent)
    before = parent.params if parent is not None else {}
    changes = ", ".join(
        f"{name} {fmt_value(before[name])}→{fmt_value(v)}"
        if name in before
        else f"{name}={fmt_value(v)}"
        for name, v in edge.overrides.items()
    )
    return LineageNode(
        number, edge.parent, depth, step, state, value, edge.source, changes, number == best
    )
