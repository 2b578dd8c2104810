"""`IncrementalFront`: the Pareto front of a stream of trials, updated one point at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from hpo_lab.analysis._data import (
    FrontUpdate,
    HypervolumeHistory,
    ParetoFrontData,
    ParetoPoint,
    ParetoProjection,
    StepLine,
)
from hpo_lab.analysis._directions import check_values, parse_directions, signs
from hpo_lab.analysis._front2d import Front2D
from hpo_lab.analysis._frontnd import FrontND
from hpo_lab.analysis._steps import staircase
from hpo_lab.analysis._trials import complete_values, is_feasible


class IncrementalFront:
    """The Pareto front of trials that arrive one at a time, for a live view.

    Each :meth:`add` says which trials entered and left the front, so a view moves only the
    marks that changed. Cost per point: O(log n) with two objectives (a sorted staircase),
    one vectorised dominance check against the current front otherwise — never a rescan of
    every point. The hypervolume (with a reference point) is updated by the new point's
    exclusive contribution. Infeasible points (a constraint > 0) are kept apart and never
    join the front. All values are in the objectives' own units and directions.

    Not thread-safe: feed it from one thread (a view's event subscriber, for instance:
    ``front.add(e.number, e.values)`` for each ``TrialFinished`` event ``e`` whose state is
    ``"COMPLETE"``).

    Args:
        directions: ``"minimize"``/``"maximize"`` per objective, or a dict of objective names
            to directions.
        names: the objectives' names when ``directions`` is a list.
        reference_point: the hypervolume's reference point (one value per objective, worse
            than the points that should count); None: no hypervolume until
            :meth:`set_reference_point`.

    Example:
        >>> front = IncrementalFront({"error": "minimize", "accuracy": "maximize"},
        ...                          reference_point=[1.0, 0.0])
        >>> front.add(0, [0.5, 0.5])
        FrontUpdate(number=0, feasible=True, entered=(0,), left=(), hypervolume=0.25)
        >>> front.add(1, [0.4, 0.6]).left   # trial 1 is better on both: trial 0 leaves
        (0,)
        >>> front.add(2, [0.2, 0.3]).entered
        (2,)
        >>> front.front, front.hypervolume
        ((2, 1), 0.42)
        >>> front.step_line()
        StepLine(x=(0.2, 0.2, 0.4, 0.4, 1.0), y=(0.0, 0.3, 0.3, 0.6, 0.6))
    """

    def __init__(
        self,
        directions: Sequence[Any] | Mapping[str, Any],
        *,
        names: Sequence[str] | None = None,
        reference_point: Sequence[float] | None = None,
    ) -> None:
        self._directions, self._names = parse_directions(directions, names)
        self._m = len(self._directions)
        self._signs = signs(self._directions)
        self._numbers: list[int] = []
        self._values: list[tuple[float, ...]] = []
        self._feasible: list[bool] = []
        self._index: dict[int, int] = {}
        self._on_front: set[int] = set()
        self._reference: tuple[float, ...] | None = None
        self._history: list[float] = []
        self._structure = self._new_structure()
        if reference_point is not None:
            self.set_reference_point(reference_point)

    @classmethod
    def from_trials(
        cls,
        trials: Iterable[Any],
        directions: Sequence[Any] | Mapping[str, Any],
        *,
        names: Sequence[str] | None = None,
        reference_point: Sequence[float] | None = None,
    ) -> IncrementalFront:
        """A front of Optuna ``FrozenTrial`` objects, added in trial-number order.

        Only complete trials count; those whose ``constraints`` system attribute has a value
        above zero are infeasible.
        """
        front = cls(directions, names=names, reference_point=reference_point)
        for t in sorted(trials, key=lambda t: t.number):
            front.add_trial(t)
        return front

    @classmethod
    def from_study(
        cls, study: Any, *, reference_point: Sequence[float] | None = None
    ) -> IncrementalFront:
        """The front of an ``optuna.Study`` (or an ``hl.Session``'s ``study``), with its
        objectives' names when the study has them."""
        study = getattr(study, "study", study)
        names = study.metric_names
        directions = [d.name.lower() for d in study.directions]
        return cls.from_trials(
            study.get_trials(deepcopy=False),
            directions,
            names=names,
            reference_point=reference_point,
        )

    # ------------------------------------------------------------------ adding points
    def add(self, number: int, values: Sequence[float], feasible: bool = True) -> FrontUpdate:
        """Add trial ``number``'s objective values.

        Raises:
            ValueError: the trial was already added, or ``values`` has the wrong length or a
                non-finite value.
            TypeError: ``number`` is not an int, or ``values`` not a sequence of numbers.
        """
        if isinstance(number, bool) or not isinstance(number, (int, np.integer)):
            raise TypeError(f"number must be a trial number (int), got {number!r}")
        number = int(number)
        if number in self._index:
            raise ValueError(f"trial {number} was already added to this front")
        vals = check_values(values, self._m, f"values of trial {number}")
        self._index[number] = len(self._numbers)
        self._numbers.append(number)
        self._values.append(vals)
        self._feasible.append(bool(feasible))
        entered, left = self._insert(number, vals) if feasible else (False, [])
        hv = self._structure.hv
        if hv is not None:
            self._history.append(hv)
        return FrontUpdate(number, bool(feasible), (number,) if entered else (), tuple(left), hv)

    def add_trial(self, trial: Any) -> FrontUpdate | None:
        """Add an Optuna ``FrozenTrial``; None (nothing added) unless it is complete."""
        values = complete_values(trial)
        if values is None:
            return None
        return self.add(trial.number, values, is_feasible(trial))

    def _insert(self, number: int, vals: tuple[float, ...]) -> tuple[bool, list[int]]:
        oriented = tuple(float(v) for v in np.asarray(vals) * self._signs)
        entered, left = self._structure.insert(number, oriented)
        if entered:
            self._on_front.add(number)
            self._on_front.difference_update(left)
        return entered, left

    def _new_structure(self) -> Front2D | FrontND:
        ref = None
        if self._reference is not None:
            ref = tuple(float(v) for v in np.asarray(self._reference) * self._signs)
        return Front2D(ref) if self._m == 2 else FrontND(self._m, ref)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ reference point
    def set_reference_point(self, point: Sequence[float] | None) -> None:
        """Set (or with None, drop) the hypervolume's reference point.

        The hypervolume and its history are recomputed by replaying every point in order
        (O(n log n) with two objectives).
        """
        ref = None if point is None else check_values(point, self._m, "reference_point")
        self._reference = ref
        self._structure = self._new_structure()
        self._on_front.clear()
        self._history = []
        for number, vals, ok in zip(self._numbers, self._values, self._feasible):
            if ok:
                self._insert(number, vals)
            if self._structure.hv is not None:
                self._history.append(self._structure.hv)

    @property
    def reference_point(self) -> tuple[float, ...] | None:
        return self._reference

    @property
    def hypervolume(self) -> float | None:
        """The front's hypervolume against the reference point (None without one)."""
        return self._structure.hv

    def hypervolume_history(self) -> HypervolumeHistory | None:
        """The hypervolume after each point added, in arrival order (None without a reference
        point)."""
        if self._reference is None:
            return None
        return HypervolumeHistory(tuple(self._numbers), tuple(self._history), self._reference)

    # ------------------------------------------------------------------ reading
    @property
    def directions(self) -> tuple[str, ...]:
        return self._directions

    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    @property
    def n_points(self) -> int:
        """How many points were added (feasible or not)."""
        return len(self._numbers)

    @property
    def front(self) -> tuple[int, ...]:
        """Trial numbers on the front, sorted by the first objective (best first), then by the
        others, then by number."""
        return tuple(self._structure.numbers())

    def is_on_front(self, number: int) -> bool:
        return number in self._on_front

    def values(self, number: int) -> tuple[float, ...]:
        """The objective values added for trial ``number``.

        Raises:
            KeyError: the trial was not added.
        """
        try:
            return self._values[self._index[number]]
        except KeyError:
            raise KeyError(f"trial {number} is not in this front") from None

    def data(self) -> ParetoFrontData:
        """A snapshot of everything a view draws."""
        front = tuple(ParetoPoint(n, self.values(n)) for n in self.front)
        dominated, infeasible = [], []
        for n, v, ok in zip(self._numbers, self._values, self._feasible):
            if not ok:
                infeasible.append(ParetoPoint(n, v))
            elif n not in self._on_front:
                dominated.append(ParetoPoint(n, v))
        return ParetoFrontData(
            self._names,
            self._directions,
            front,
            tuple(dominated),
            tuple(infeasible),
            self._reference,
            self.hypervolume,
        )

    def step_line(self, x: int = 0, y: int = 1, *, to_reference: bool = True) -> StepLine:
        """The staircase of the front on objectives ``x`` and ``y``.

        With two objectives this is the front itself. With more, it is the envelope of the
        front's points projected on ``x`` and ``y`` (those not dominated on these two alone).
        With a reference point and ``to_reference``, only points better than the reference on
        both count and the line closes on the reference (see :class:`StepLine`).

        Raises:
            ValueError: ``x`` or ``y`` is not an objective index, or they are equal.
        """
        for arg, i in (("x", x), ("y", y)):
            if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self._m:
                raise ValueError(f"{arg} must be an objective index in 0..{self._m - 1}, got {i!r}")
        if x == y:
            raise ValueError(f"x and y must be two different objectives, got both {x}")
        if self._m == 2 and (x, y) == (0, 1):
            pts = self._structure.points()
        else:
            rows = [self._values[self._index[n]] for n in self._on_front]
            pts = np.array(rows).reshape(-1, self._m)[:, [x, y]] * self._signs[[x, y]]
        ref = None
        if to_reference and self._reference is not None:
            ref = np.asarray(self._reference)[[x, y]] * self._signs[[x, y]]
        return staircase(pts, ref, self._signs[[x, y]])

    def projections(self, *, to_reference: bool = True) -> tuple[ParetoProjection, ...]:
        """One :class:`ParetoProjection` per pair of objectives ``(i, j)``, ``i < j``."""
        return tuple(
            ParetoProjection(
                i,
                j,
                self._names[i],
                self._names[j],
                self.step_line(i, j, to_reference=to_reference),
            )
            for i in range(self._m)
            for j in range(i + 1, self._m)
        )

    def __repr__(self) -> str:
        return (
            f"IncrementalFront(names={list(self._names)}, directions={list(self._directions)}, "
            f"points={self.n_points}, front={len(self._on_front)}, hypervolume={self.hypervolume})"
        )
