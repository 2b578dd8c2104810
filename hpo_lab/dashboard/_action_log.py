"""The action log as the dashboard lists it: every control, who asked (dashboard, code, a
scheduler, a replay), when, on which trial, and how it went; newest first."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, NamedTuple

from hpo_lab.constraints import ParamConstraint

from ._controls import fmt_step
from ._hover import fmt_value
from ._model import ActionRecord, DashboardModel

#: The log lists at most this many actions (the newest).
MAX_ROWS = 200


class ActionRow(NamedTuple):
    """One action, formatted.

    Attributes:
        time: When (seconds since the epoch).
        clock: ``time`` as ``HH:MM:SS`` (the kernel's local time).
        kind: ``fork``, ``constrain``, ``prune``, ...
        trial: The trial it acted on (None: the session).
        source: ``dashboard``, ``code``, ``pbt``, ``replay``, ...
        result: ``requested``, ``applied``, ``posted for ...``, ...
        text: What it did, in a few words (``→ trial 7 from step 3 · lr=0.5``).
    """

    time: float
    clock: str
    kind: str
    trial: int | None
    source: str
    result: str
    text: str


class ActionLogData(NamedTuple):
    """The latest actions, newest first.

    Attributes:
        rows: At most ``limit`` actions.
        total: How many actions the log holds.
        sources: How many came from each source, over the whole log.
    """

    rows: tuple[ActionRow, ...]
    total: int
    sources: tuple[tuple[str, int], ...]


def action_log_data(model: DashboardModel, *, limit: int = MAX_ROWS) -> ActionLogData:
    """The action log's latest ``limit`` rows.

    Example:
        >>> from hpo_lab.events import ControlApplied
        >>> m = DashboardModel("demo", ["minimize"])
        >>> _ = m.apply([ControlApplied("start", None, details={"n_trials": 4}, time=0.0),
        ...              ControlApplied("prune", 2, source="dashboard", time=1.0)])
        >>> log = action_log_data(m)
        >>> [(r.kind, r.trial, r.source, r.text) for r in log.rows]
        [('prune', 2, 'dashboard', ''), ('start', None, 'code', '4 trials')]
        >>> log.sources
        (('code', 1), ('dashboard', 1))
    """
    actions = model.actions
    latest = actions[-limit:] if limit > 0 else []
    rows = tuple(_row(a) for a in reversed(latest))
    counts: dict[str, int] = {}
    for a in actions:
        counts[a.source] = counts.get(a.source, 0) + 1
    return ActionLogData(rows, len(actions), tuple(sorted(counts.items())))


def _row(a: ActionRecord) -> ActionRow:
    clock = time.strftime("%H:%M:%S", time.localtime(a.time))
    return ActionRow(a.time, clock, a.kind, a.trial, a.source, a.result, describe_action(a))


def describe_action(a: ActionRecord) -> str:
    """What action ``a`` did, in a few words (its kind and trial are shown apart)."""
    p: Mapping[str, Any] = a.details
    kind = a.kind
    if kind == "fork":
        parts = [f"→ trial {p['child']}" if "child" in p else "fork"]
        if p.get("step") is not None:
            parts[0] += f" from step {fmt_step(float(p['step']))}"
        overrides = p.get("overrides") or {}
        if overrides:
            parts.append(", ".join(f"{k}={fmt_value(v)}" for k, v in overrides.items()))
        return " · ".join(parts)
    if kind == "constrain":
        target = str(p.get("target", ""))
        fields = {k: v for k, v in p.items() if k in ("low", "high", "choices", "fixed")}
        if not fields:
            return target
        try:
            return ParamConstraint.from_json({"name": target, **fields}).describe()
        except (TypeError, ValueError):
            return target
    if kind == "relax":
        removed = p.get("removed") or []
        return "removed " + "; ".join(map(str, removed)) if removed else "everything"
    if kind == "start":
        n = p.get("n_trials")
        text = "open-ended" if n is None else f"{n} trials"
        return text + (f", timeout {fmt_value(p['timeout'])} s" if p.get("timeout") else "")
    if kind == "add_trials" and "n" in p:
        return f"+{p['n']} trials"
    if kind == "set_workers" and "n_workers" in p:
        return f"{p['n_workers']} workers"
    if kind in ("prune", "stop", "stop_trial", "pause", "resume") and p.get("step") is not None:
        return f"at step {fmt_step(float(p['step']))}"
    shown = {k: v for k, v in p.items() if not str(k).startswith("_")}
    return ", ".join(f"{k}={fmt_value(v)}" for k, v in shown.items())
