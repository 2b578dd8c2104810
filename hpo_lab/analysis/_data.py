"""What the Pareto view draws: small, immutable records computed from trials (compute, then
draw — as Optuna's plots do), so a view only maps them to marks and tests need no rendering.

All values are in the objectives' own units and directions (a maximised accuracy stays a
positive accuracy); only the internals turn every objective into one to minimise.
"""

from __future__ import annotations

from typing import NamedTuple


class FrontUpdate(NamedTuple):
    """What one new point changed.

    Attributes:
        number: the trial just added.
        feasible: whether it satisfies its constraints (infeasible points never join the front).
        entered: trial numbers that joined the front: ``(number,)`` or ``()``.
        left: trial numbers that left the front, dominated by the new point.
        hypervolume: the front's hypervolume after this update (None without a reference
            point).
    """

    number: int
    feasible: bool
    entered: tuple[int, ...]
    left: tuple[int, ...]
    hypervolume: float | None

    @property
    def changed(self) -> bool:
        """Whether the front changed (a view redraws the front only then)."""
        return bool(self.entered or self.left)


class ParetoPoint(NamedTuple):
    """One trial's objective values."""

    number: int
    values: tuple[float, ...]


class StepLine(NamedTuple):
    """The staircase bounding the region a 2-D front dominates, as a polyline.

    ``x[k], y[k]`` are its vertices in order (sorted along the x objective, best first). With a
    reference point the line starts on the reference's y and ends on its x, closing the region
    whose area is the hypervolume; without one it runs from the first front point to the last.
    Empty when the front is.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]


class ParetoProjection(NamedTuple):
    """The front seen on two of its objectives (for 3 or more objectives: a scatter matrix).

    Attributes:
        x: index of the objective on the x axis.
        y: index of the objective on the y axis.
        x_name: its name; y_name likewise.
        step_line: the staircase of the front points that stay non-dominated on these two
            objectives alone (the envelope of the projected front).
    """

    x: int
    y: int
    x_name: str
    y_name: str
    step_line: StepLine


class HypervolumeHistory(NamedTuple):
    """The front's hypervolume after each point, in the order points arrived.

    ``values[k]`` is the hypervolume once ``numbers[k]`` was added (a dominated or infeasible
    point repeats the previous value), so ``(range(len(values)), values)`` or
    ``(numbers, values)`` plots the history directly.
    """

    numbers: tuple[int, ...]
    values: tuple[float, ...]
    reference_point: tuple[float, ...]


class ParetoFrontData(NamedTuple):
    """Everything a Pareto view needs at one moment.

    Attributes:
        names: the objectives' names (``"values_0"``... when unnamed).
        directions: ``"minimize"`` or ``"maximize"`` for each.
        front: the non-dominated feasible points, sorted by the first objective (best first),
            then by trial number; points with equal values are all on the front.
        dominated: feasible points that are not on the front, in arrival order.
        infeasible: points that violate a constraint, in arrival order.
        reference_point: the hypervolume's reference point, or None.
        hypervolume: the front's hypervolume, or None without a reference point.
    """

    names: tuple[str, ...]
    directions: tuple[str, ...]
    front: tuple[ParetoPoint, ...]
    dominated: tuple[ParetoPoint, ...]
    infeasible: tuple[ParetoPoint, ...]
    reference_point: tuple[float, ...] | None
    hypervolume: float | None
