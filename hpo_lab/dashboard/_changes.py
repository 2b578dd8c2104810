"""`Changes`: what a batch of events (or a reload, or a click) changed in the dashboard's model.

Panels look at it to decide whether to recompute, and the curves look at ``points`` to resend
only the traces that grew.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass
class Changes:
    """Sets of trial numbers and flags; empty (falsy) when nothing changed.

    Attributes:
        rows: trials whose table row changed (any field but the last step).
        steps: trials whose last step moved (new points): the table shows a running trial's at
            the dashboard's clock tick (once a second), not at every report.
        states: trials whose state changed (started, held, resumed, finished).
        finished: trials that reached COMPLETE, PRUNED or FAIL.
        params: trials that drew new parameter values.
        points: series name → trials with new points in that series.
        series_names: a series name was seen for the first time.
        param_names: a parameter name was seen for the first time.
        session: the session's state, budget or run clock changed.
        best: the best trial (or the Pareto front) changed.
        actions: the action log grew.
        selection: the selected trial changed.
        reset: everything may have changed (first load, reload).

    Example:
        >>> c = Changes(rows={1})
        >>> c.merge(Changes(points={"loss": {1}}, session=True))
        >>> bool(c), c.points, c.session
        (True, {'loss': {1}}, True)
    """

    rows: set[int] = field(default_factory=set)
    steps: set[int] = field(default_factory=set)
    states: set[int] = field(default_factory=set)
    finished: set[int] = field(default_factory=set)
    params: set[int] = field(default_factory=set)
    points: dict[str, set[int]] = field(default_factory=dict)
    series_names: bool = False
    param_names: bool = False
    session: bool = False
    best: bool = False
    actions: bool = False
    selection: bool = False
    reset: bool = False

    @classmethod
    def everything(cls) -> Changes:
        """Changes that make every view recompute."""
        return cls(reset=True, session=True, best=True, series_names=True, param_names=True)

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def add_points(self, name: str, number: int) -> None:
        """Notes that series ``name`` of trial ``number`` grew."""
        self.points.setdefault(name, set()).add(number)

    def merge(self, other: Changes) -> None:
        """Adds ``other``'s changes to these, in place."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, set):
                mine |= theirs
            elif isinstance(mine, dict):
                for name, numbers in theirs.items():
                    mine.setdefault(name, set()).update(numbers)
            else:
                setattr(self, f.name, mine or theirs)

    @property
    def trials(self) -> set[int]:
        """Every trial mentioned anywhere."""
        out = self.rows | self.steps | self.states | self.finished | self.params
        for numbers in self.points.values():
            out |= numbers
        return out
