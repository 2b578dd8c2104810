"""What the fork and constrain forms show, and how their text fields are read.

Pure functions of the dashboard's model and of facts the panel reads from the session (the
selected trial's distributions and checkpoints, the constraints in force), so that tests assert
on plain data; :mod:`._controls_forms` puts it into widgets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from hpo_lab.constraints import Constraints, OutcomeConstraint, ParamConstraint

from ._hover import fmt_value
from ._model import DashboardModel


class ParamField(NamedTuple):
    """One parameter as a form shows it.

    Attributes:
        name: The parameter.
        kind: ``"float"``, ``"int"`` or ``"categorical"`` (``"unknown"``: no distribution known;
            the field then takes a number or a word as typed).
        value: The trial's value (fork form) or None (constrain form).
        text: ``value`` as the field shows it at first (numbers in 6 significant digits).
        low: The lower end of a numeric range.
        high: Its upper end.
        log: A log-scale range.
        step: Its grid step, if any.
        choices: A categorical's choices.
    """

    name: str
    kind: str
    value: Any = None
    text: str = ""
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "int")

    @property
    def hint(self) -> str:
        """``[0.001, 1] · log`` / ``int [2, 8]`` / ``3 choices``: what the field takes."""
        if self.kind == "categorical":
            return f"{len(self.choices or ())} choices"
        if self.low is None or self.high is None:
            return ""
        parts = [f"[{fmt_value(self.low)}, {fmt_value(self.high)}]"]
        if self.kind == "int":
            parts.insert(0, "int")
        if self.log:
            parts.append("log")
        if self.step is not None and not (self.kind == "int" and self.step == 1):
            parts.append(f"step {fmt_value(self.step)}")
        return " ".join(parts)


class ForkData(NamedTuple):
    """What the fork form shows.

    Attributes:
        number: The selected trial (None: none selected).
        state: Its display state.
        value: Its objective value(s), formatted ("" when it has none).
        fields: One per parameter, pre-filled with the trial's values.
        steps: The steps of the trial's kept checkpoints, newest first.
        enabled: Whether the trial can be forked now.
        reason: Why not (or, when it can, a one-line hint).
        running: Whether the trial runs (the form then offers to stop it).
    """

    number: int | None
    state: str | None
    value: str
    fields: tuple[ParamField, ...]
    steps: tuple[float, ...]
    enabled: bool
    reason: str
    running: bool


class ConstraintRow(NamedTuple):
    """One constraint in force, as the list shows it.

    Attributes:
        target: What :meth:`Session.relax` takes to remove it.
        kind: ``"range"``, ``"choices"``, ``"fixed"`` or ``"outcome"``.
        text: ``lr in [0.001, 0.01]``, ``latency_ms <= 5``.
        constraint: The constraint itself.
    """

    target: str
    kind: str
    text: str
    constraint: ParamConstraint | OutcomeConstraint


class ConstrainData(NamedTuple):
    """What the constrain form shows.

    Attributes:
        params: Every parameter seen, with its full range or choices (as suggested).
        outcomes: Names an outcome constraint can use (objectives and reported series).
        active: The constraints in force.
        version: The constraints' version (grows with each change).
    """

    params: tuple[ParamField, ...]
    outcomes: tuple[str, ...]
    active: tuple[ConstraintRow, ...]
    version: int


OPERATORS = ("<=", ">=")


def fmt_text(value: Any) -> str:
    """A value as a text field shows it: floats in 6 significant digits, the rest as ``str``.

    Example:
        >>> fmt_text(0.0123456789), fmt_text(64), fmt_text(1e-5), fmt_text("adam")
        ('0.0123457', '64', '1e-05', 'adam')
    """
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def fmt_step(step: float) -> str:
    """``3`` for ``3.0``, ``2.5`` as it is."""
    return str(int(step)) if float(step).is_integer() else f"{step:g}"


def steps_text(steps: Sequence[float], most: int = 6) -> str:
    """``1, 2, 3`` or, past ``most`` steps, ``1, 2, …, 9, 10 (10 kept)`` (in increasing order).

    Example:
        >>> steps_text([3.0, 1.0, 2.0]), steps_text(range(10), most=4)
        ('1, 2, 3', '0, 1, …, 8, 9 (10 kept)')
    """
    ordered = [fmt_step(s) for s in sorted(steps)]
    if len(ordered) <= most:
        return ", ".join(ordered)
    head, tail = ordered[: most // 2], ordered[-(most - most // 2) :]
    return f"{', '.join(head)}, …, {', '.join(tail)} ({len(ordered)} kept)"


def param_field(name: str, dist: BaseDistribution | None, value: Any = None) -> ParamField:
    """A :class:`ParamField` for parameter ``name`` (its distribution, if known)."""
    text = "" if value is None else fmt_text(value)
    if isinstance(dist, CategoricalDistribution):
        return ParamField(name, "categorical", value, text, choices=tuple(dist.choices))
    if isinstance(dist, (FloatDistribution, IntDistribution)):
        kind = "int" if isinstance(dist, IntDistribution) else "float"
        step = None if dist.step is None else float(dist.step)
        return ParamField(
            name, kind, value, text, float(dist.low), float(dist.high), dist.log, step
        )
    return ParamField(name, "unknown", value, text)


def fork_data(
    model: DashboardModel,
    selected: int | None,
    *,
    distributions: Mapping[str, BaseDistribution],
    checkpoint_steps: Sequence[float],
    can_run: bool,
) -> ForkData:
    """The fork form's content for trial ``selected``.

    Args:
        model: The dashboard's model.
        selected: The selected trial (None: none).
        distributions: The selected trial's parameter distributions (from storage; those of
            ``model`` are used for any it lacks).
        checkpoint_steps: The steps of its kept checkpoints (any order).
        can_run: Whether the session has an objective to run a fork with.

    Example:
        >>> from hpo_lab.events import TrialFinished
        >>> m = DashboardModel("demo", ["minimize"])
        >>> _ = m.apply([TrialFinished(0, "COMPLETE", (0.5,), params={"x": 0.25})])
        >>> d = fork_data(m, 0, distributions={}, checkpoint_steps=[], can_run=True)
        >>> d.enabled, d.reason
        (False, 'Trial 0 saved no checkpoint: call trial.save_checkpoint(state, step) in the objective to make its trials forkable.')
    """  # noqa: E501
    if selected is None or selected not in model.trials:
        reason = "Select a trial (in the table, a plot or the lineage) to fork it."
        if selected is not None:
            reason = f"Trial {selected} is not known yet."
        return ForkData(selected, None, "", (), (), False, reason, False)
    t = model.trials[selected]
    state = t.display_state
    dists = {**model.distributions, **distributions}
    fields = tuple(param_field(n, dists.get(n), v) for n, v in _ordered(t.params, model))
    steps = tuple(sorted({float(s) for s in checkpoint_steps}, reverse=True))
    value = " / ".join(fmt_value(v) for v in t.values) if t.values else ""
    running = t.state == "RUNNING"
    if not can_run:
        reason = "This session has no objective (it was loaded without one): it cannot run forks."
        return ForkData(selected, state, value, fields, steps, False, reason, running)
    if not steps:
        if t.state == "WAITING":
            reason = f"Trial {selected} has not started: it has no checkpoint to fork from yet."
        else:
            reason = (
                f"Trial {selected} saved no checkpoint: call trial.save_checkpoint(state, step) "
                "in the objective to make its trials forkable."
            )
        return ForkData(selected, state, value, fields, steps, False, reason, running)
    reason = (
        f"A new trial continues from a checkpoint of trial {selected} (kept steps: "
        f"{steps_text(steps)}) with the values below."
    )
    return ForkData(selected, state, value, fields, steps, True, reason, running)


def _ordered(params: Mapping[str, Any], model: DashboardModel) -> list[tuple[str, Any]]:
    """``params`` in the model's parameter order (the order they were first suggested)."""
    order = {n: i for i, n in enumerate(model.param_names)}
    return sorted(params.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0]))


def constrain_data(
    model: DashboardModel,
    constraints: Constraints,
    *,
    distributions: Mapping[str, BaseDistribution],
) -> ConstrainData:
    """The constrain form's content.

    Args:
        model: The dashboard's model.
        constraints: The constraints in force (``session.constraints``).
        distributions: Parameter distributions known to the session (those of ``model`` are
            used for any it lacks).

    Example:
        >>> c = Constraints().with_param(ParamConstraint("lr", low=0.001, high=0.01))
        >>> d = constrain_data(DashboardModel("demo", ["minimize"]), c, distributions={})
        >>> [(r.target, r.kind, r.text) for r in d.active]
        [('lr', 'range', 'lr in [0.001, 0.01]')]
    """
    dists = {**model.distributions, **distributions}
    names = list(model.param_names) + [n for n in dists if n not in model.param_names]
    params = tuple(param_field(n, dists.get(n)) for n in names)
    outcomes = list(model.objective_names or [])
    outcomes += [n for n in model.series_names if n not in outcomes]
    active = [ConstraintRow(c.name, c.kind, c.describe(), c) for c in constraints.params.values()]
    active += [ConstraintRow(o.key, "outcome", o.describe(), o) for o in constraints.outcomes]
    return ConstrainData(params, tuple(outcomes), tuple(active), constraints.version)


# ---------------------------------------------------------------------- reading the forms
def parse_field(field: ParamField, text: Any) -> Any:
    """The value typed into ``field`` (a categorical's field holds its value already).

    Raises:
        ValueError: The text is empty, not a number, or not an integer for an int parameter;
            the message names the parameter, the text and what it takes.

    Example:
        >>> f = ParamField("width", "int", 4, "4", 2, 8)
        >>> parse_field(f, " 6 ")
        6
        >>> parse_field(f, "6.5")
        Traceback (most recent call last):
        ...
        ValueError: width: '6.5' is not an integer (it takes int [2, 8])
    """
    if field.kind == "categorical":
        return text
    raw = str(text).strip()
    takes = f" (it takes {field.hint})" if field.hint else ""
    if not raw:
        return _fail(f"{field.name}: empty; type a value{takes}")
    if field.kind == "unknown":
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw else number
    try:
        number = float(raw)
    except ValueError:
        return _fail(f"{field.name}: {raw!r} is not a number{takes}")
    if not math.isfinite(number):
        return _fail(f"{field.name}: {raw!r} is not a finite number{takes}")
    if field.kind == "int":
        if not number.is_integer():
            return _fail(f"{field.name}: {raw!r} is not an integer{takes}")
        return int(number)
    return number


def _fail(message: str) -> Any:
    raise ValueError(message)


def fork_overrides(
    fields: Sequence[ParamField], entries: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The parameters the user changed in the fork form, and the errors in what was typed.

    A field whose text is still the one it was pre-filled with is unchanged (a float shown in 6
    digits is not "changed" to its rounded value).

    Args:
        fields: The form's fields (from :func:`fork_data`).
        entries: What each field holds now: text, or a categorical's chosen value.

    Returns:
        ``(overrides, errors)``: changed values by name, and one message per bad field.

    Example:
        >>> fields = [ParamField("lr", "float", 0.01, "0.01", 1e-3, 1.0, True),
        ...           ParamField("act", "categorical", "relu", "relu", choices=("relu", "tanh"))]
        >>> fork_overrides(fields, {"lr": "0.5", "act": "relu"})
        ({'lr': 0.5}, [])
        >>> fork_overrides(fields, {"lr": "fast", "act": "tanh"})
        ({'act': 'tanh'}, ["lr: 'fast' is not a number (it takes [0.001, 1] log)"])
    """
    overrides: dict[str, Any] = {}
    errors: list[str] = []
    for f in fields:
        entry = entries.get(f.name, f.value if f.kind == "categorical" else f.text)
        if f.kind == "categorical":
            if entry != f.value or type(entry) is not type(f.value):
                overrides[f.name] = entry
            continue
        if str(entry).strip() == f.text:
            continue
        try:
            value = parse_field(f, entry)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        if value != f.value:
            overrides[f.name] = value
    return overrides, errors


def parse_bound(text: Any, what: str) -> float | None:
    """A range end typed in the constrain form (empty: no bound on that side).

    Raises:
        ValueError: Not a finite number (the message names ``what`` and the text).
    """
    raw = str(text).strip()
    if not raw:
        return None
    try:
        number = float(raw)
    except ValueError:
        raise ValueError(f"{what}: {raw!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{what}: {raw!r} is not a finite number")
    return number


def outcome_expression(name: Any, op: str, bound: Any) -> str:
    """``"latency_ms <= 5"`` from the outcome row of the constrain form.

    Raises:
        ValueError: No name, a name with ``<``, ``>``, ``=`` or ``!``, an operator other than
            ``<=``/``>=``, or a bound that is not a finite number.

    Example:
        >>> outcome_expression(" latency_ms ", "<=", "5")
        'latency_ms <= 5'
    """
    name = str(name or "").strip()
    if not name:
        raise ValueError("outcome: type the name of an objective, a series or an attribute")
    if any(c in name for c in "<>=!"):
        raise ValueError(f"outcome: {name!r} must be a plain name (no <, >, = or !)")
    if op not in OPERATORS:
        raise ValueError(f"outcome: the operator must be one of {list(OPERATORS)}, got {op!r}")
    if parse_bound(bound, "bound") is None:
        raise ValueError(f"outcome: type a bound for {name} {op} …")
    return f"{name} {op} {str(bound).strip()}"
