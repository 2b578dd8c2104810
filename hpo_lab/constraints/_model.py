"""Constraints a user adds while a search runs: on parameters (narrow a range, restrict choices,
fix a value) and on outcomes (any returned or reported quantity, e.g. ``"latency_ms <= 5"``)."""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field, replace
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

_UNSET = object()
_EXPR = re.compile(r"^\s*(?P<name>[^<>=!]+?)\s*(?P<op><=|>=|<|>)\s*(?P<bound>[^\s=<>]\S*)\s*$")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"{what} must be a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ParamConstraint:
    """A restriction of one parameter: a range (``low``/``high``), a subset of ``choices``, or a
    ``fixed`` value (exactly one kind)."""

    name: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    fixed: Any = field(default=_UNSET)

    @property
    def is_fixed(self) -> bool:
        return self.fixed is not _UNSET

    @property
    def kind(self) -> str:
        return "fixed" if self.is_fixed else "choices" if self.choices is not None else "range"

    def describe(self) -> str:
        if self.is_fixed:
            return f"{self.name} = {self.fixed!r}"
        if self.choices is not None:
            return f"{self.name} in {list(self.choices)!r}"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"{self.name} in [{lo}, {hi}]"

    def narrow(self, dist: BaseDistribution) -> BaseDistribution:
        """``dist`` intersected with this range (for float and int distributions).

        Raises:
            ValueError: the intersection is empty, or the distribution is not numeric.
        """
        if isinstance(dist, CategoricalDistribution):
            raise ValueError(f"{self.describe()}: {self.name!r} is categorical; constrain choices=")
        assert isinstance(dist, (FloatDistribution, IntDistribution))
        low = dist.low if self.low is None else max(dist.low, self.low)
        high = dist.high if self.high is None else min(dist.high, self.high)
        step = dist.step
        if isinstance(dist, IntDistribution):
            step = step or 1
            low = dist.low + math.ceil((low - dist.low) / step - 1e-12) * step
            high = low + math.floor((high - low) / step + 1e-12) * step if high >= low else high
            if low > high:
                raise ValueError(f"{self.describe()} leaves no value of {_show(dist)}")
            return IntDistribution(int(low), int(high), log=dist.log, step=int(step))
        if step is not None:
            low = dist.low + math.ceil((low - dist.low) / step - 1e-9) * step
            high = low + math.floor((high - low) / step + 1e-9) * step if high >= low else high
        if low > high:
            raise ValueError(f"{self.describe()} leaves no value of {_show(dist)}")
        return FloatDistribution(low, high, log=dist.log, step=step)

    def check_against(self, dist: BaseDistribution) -> None:
        """Raise ``ValueError`` if this constraint does not fit the parameter's distribution."""
        if self.is_fixed:
            try:
                ok = dist._contains(dist.to_internal_repr(self.fixed))
            except (ValueError, TypeError):
                ok = False
            if not ok:
                raise ValueError(
                    f"{self.describe()}: {self.fixed!r} is not a value of {_show(dist)}"
                )
        elif self.choices is not None:
            if not isinstance(dist, CategoricalDistribution):
                raise ValueError(
                    f"{self.describe()}: {self.name!r} is {_show(dist)}; use low=/high="
                )
            unknown = [c for c in self.choices if c not in dist.choices]
            if unknown:
                raise ValueError(
                    f"{self.describe()}: {unknown!r} not among the choices {list(dist.choices)!r}"
                )
        else:
            narrowed = self.narrow(dist)
            if isinstance(narrowed, FloatDistribution) and narrowed.log and narrowed.low <= 0:
                raise ValueError(f"{self.describe()}: a log-scale range needs low > 0")

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.is_fixed:
            out["fixed"] = self.fixed
        elif self.choices is not None:
            out["choices"] = list(self.choices)
        else:
            out["low"], out["high"] = self.low, self.high
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ParamConstraint:
        if "fixed" in d:
            return cls(d["name"], fixed=d["fixed"])
        if "choices" in d:
            return cls(d["name"], choices=tuple(d["choices"]))
        return cls(d["name"], low=d.get("low"), high=d.get("high"))


def _show(dist: BaseDistribution) -> str:
    if isinstance(dist, CategoricalDistribution):
        return f"the choices {list(dist.choices)!r}"
    kind = "int" if isinstance(dist, IntDistribution) else "float"
    return f"the {kind} range [{dist.low:g}, {dist.high:g}]"


def make_param_constraint(
    name: str, *, low: Any = None, high: Any = None, choices: Any = None, fixed: Any = _UNSET
) -> ParamConstraint:
    """Check the arguments of ``session.constrain(name, ...)`` and build the constraint."""
    kinds = [low is not None or high is not None, choices is not None, fixed is not _UNSET]
    if sum(kinds) != 1:
        raise ValueError(
            f"constrain({name!r}, ...) takes one of: low=/high= (a range), choices= (a subset), "
            "fixed= (one value)"
        )
    if fixed is not _UNSET:
        return ParamConstraint(name, fixed=fixed)
    if choices is not None:
        if isinstance(choices, (str, bytes)) or not hasattr(choices, "__iter__"):
            raise TypeError(f"choices must be a list of values, got {choices!r}")
        choices = tuple(choices)
        if not choices:
            raise ValueError("choices must not be empty")
        return ParamConstraint(name, choices=choices)
    lo = None if low is None else _number(low, "low")
    hi = None if high is None else _number(high, "high")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"low must be <= high, got low={lo:g}, high={hi:g}")
    return ParamConstraint(name, low=lo, high=hi)


@dataclass(frozen=True)
class OutcomeConstraint:
    """``name op bound`` on a returned objective, a reported series (its last value) or a user
    attribute. Feasible when it holds; its Optuna constraint value is the violation."""

    name: str
    op: str
    bound: float

    @property
    def key(self) -> str:
        return f"{self.name} {self.op} {self.bound:g}"

    def describe(self) -> str:
        return self.key

    def violation(self, value: float | None) -> float:
        """How much ``value`` breaks the constraint (<= 0: it holds; inf: no value)."""
        if value is None or not math.isfinite(value):
            return math.inf
        return value - self.bound if self.op in ("<=", "<") else self.bound - value

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "op": self.op, "bound": self.bound}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OutcomeConstraint:
        return cls(d["name"], d["op"], float(d["bound"]))


def parse_outcome(expr: str) -> OutcomeConstraint:
    """``"latency_ms <= 5"`` as an :class:`OutcomeConstraint`.

    Raises:
        ValueError: not of the form ``name <= number`` (or ``>=``, ``<``, ``>``).
    """
    m = _EXPR.match(expr)
    if not m:
        raise ValueError(
            f"outcome constraint {expr!r} must read 'name <= number' (or >=, <, >), e.g. "
            "'model_params <= 1e6'"
        )
    try:
        bound = float(m["bound"])
    except ValueError:
        raise ValueError(f"outcome constraint {expr!r}: {m['bound']!r} is not a number") from None
    if not math.isfinite(bound):
        raise ValueError(f"outcome constraint {expr!r}: the bound must be finite")
    return OutcomeConstraint(m["name"].strip(), m["op"], bound)


def is_outcome_expression(target: str) -> bool:
    return any(op in target for op in ("<", ">"))


@dataclass(frozen=True)
class Constraints:
    """A session's constraints at one moment (immutable; ``version`` grows with each change)."""

    params: dict[str, ParamConstraint] = field(default_factory=dict)
    outcomes: tuple[OutcomeConstraint, ...] = ()
    version: int = 0

    def __bool__(self) -> bool:
        return bool(self.params or self.outcomes)

    def with_param(self, c: ParamConstraint) -> Constraints:
        return replace(self, params={**self.params, c.name: c}, version=self.version + 1)

    def with_outcome(self, c: OutcomeConstraint) -> Constraints:
        kept = tuple(o for o in self.outcomes if (o.name, o.op) != (c.name, c.op))
        return replace(self, outcomes=(*kept, c), version=self.version + 1)

    def without(self, target: str | None) -> tuple[Constraints, list[str]]:
        """Remove the constraints on ``target`` (a parameter, an outcome name or expression; None:
        all). Returns the new set and what was removed."""
        if target is None:
            removed = [c.describe() for c in (*self.params.values(), *self.outcomes)]
            return Constraints(version=self.version + 1), removed
        name = parse_outcome(target).name if is_outcome_expression(target) else target
        removed = [c.describe() for c in self.params.values() if c.name == name]
        removed += [c.describe() for c in self.outcomes if c.name == name]
        params = {k: v for k, v in self.params.items() if k != name}
        outcomes = tuple(o for o in self.outcomes if o.name != name)
        return replace(self, params=params, outcomes=outcomes, version=self.version + 1), removed

    def describe(self) -> list[str]:
        return [c.describe() for c in (*self.params.values(), *self.outcomes)]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "params": [c.to_json() for c in self.params.values()],
            "outcomes": [c.to_json() for c in self.outcomes],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any] | None) -> Constraints:
        if not d:
            return cls()
        params = [ParamConstraint.from_json(p) for p in d.get("params", [])]
        return cls(
            params={p.name: p for p in params},
            outcomes=tuple(OutcomeConstraint.from_json(o) for o in d.get("outcomes", [])),
            version=int(d.get("version", 0)),
        )
