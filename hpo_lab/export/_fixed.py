"""`FixedTrial`: a trial whose parameters are given, for re-running an objective outside a
session (an exported script, a test, a debugger)."""

from __future__ import annotations

import datetime
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from hpo_lab.trial._values import check_step, convert_metrics, is_deferred, resolve_deferred


class FixedTrial:
    """A trial with fixed parameters that speaks :class:`hl.Trial`'s language.

    ``suggest_*`` return the given values (and raise for a parameter that was not given),
    ``report`` records every value (and prints it when ``verbose``), ``should_prune`` is always
    False, and ``number`` is the original trial's number, so an objective that seeds from it
    draws the same random numbers.

    Args:
        params: parameter values by name.
        number: the trial number the objective sees (the original trial's, to reproduce it).
        device: ``"auto"`` (the first CUDA GPU if there is one, else the CPU) or a device name.
        user_attrs: initial user attributes (an exported trial's lineage: ``parent``,
            ``fork_step``, ``checkpoint``).
        verbose: print each report as ``step 3: val_loss=0.1234 ...``.

    Example:
        >>> import hpo_lab as hl
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", -10, 10)
        ...     trial.report(0, loss=(x - 2) ** 2)
        ...     return (x - 2) ** 2
        >>> trial = hl.FixedTrial({"x": 3.0}, number=7, device="cpu")
        >>> objective(trial)
        step 0: loss=1
        1.0
        >>> trial.series
        {'loss': {0: 1.0}}
        >>> trial.suggest_int("layers", 1, 3)
        Traceback (most recent call last):
        ...
        KeyError: "FixedTrial has no value for parameter 'layers'; it has: 'x'"
    """

    def __init__(
        self,
        params: Mapping[str, Any],
        *,
        number: int = 0,
        device: Any = "auto",
        user_attrs: Mapping[str, Any] | None = None,
        verbose: bool = True,
    ) -> None:
        if not isinstance(params, Mapping):
            raise TypeError(f"params must be a dict of parameter values, got {params!r}")
        for name in params:
            if not isinstance(name, str) or not name:
                raise TypeError(f"parameter names must be non-empty strings, got {name!r}")
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"number must be a trial number (an int >= 0), got {number!r}")
        self._fixed = dict(params)
        self._number = number
        self._device_name = device
        self._device: Any = None
        self._user_attrs = dict(user_attrs or {})
        self._system_attrs: dict[str, Any] = {}
        self._suggested: dict[str, Any] = {}
        self._distributions: dict[str, Any] = {}
        self.verbose = verbose
        #: Every reported value: ``{name: {step: value}}``.
        self.series: dict[str, dict[float, float]] = {}
        self.last_step: float | None = None
        self.datetime_start = datetime.datetime.now()

    @classmethod
    def from_export(cls, export: Any, *, device: Any = "auto", verbose: bool = True) -> FixedTrial:
        """The fixed trial of a JSON or YAML export (a path, or an ``ExportRecord``): its
        parameters, number and lineage."""
        from hpo_lab.export._export import load_export
        from hpo_lab.export._record import ExportRecord

        record = export if isinstance(export, ExportRecord) else load_export(export)
        return cls(
            record.params,
            number=record.trial,
            device=device,
            user_attrs=record.lineage_attrs,
            verbose=verbose,
        )

    # ------------------------------------------------------------------ Optuna's vocabulary
    @property
    def number(self) -> int:
        return self._number

    @property
    def params(self) -> dict[str, Any]:
        """Parameters suggested so far (as in Optuna)."""
        return dict(self._suggested)

    @property
    def distributions(self) -> dict[str, Any]:
        """Distributions of the parameters suggested so far."""
        return dict(self._distributions)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    @property
    def system_attrs(self) -> dict[str, Any]:
        return dict(self._system_attrs)

    def set_user_attr(self, key: str, value: Any) -> None:
        self._user_attrs[key] = value

    def set_system_attr(self, key: str, value: Any) -> None:
        self._system_attrs[key] = value

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """The fixed value of ``name`` as a float (a warning if outside ``[low, high]``)."""
        from optuna.distributions import FloatDistribution

        value = float(self._value(name))
        self._check_range(name, value, low, high)
        return self._noted(name, value, FloatDistribution(low, high, step=step, log=log))

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        """The fixed value of ``name`` as an int (a warning if outside ``[low, high]``)."""
        from optuna.distributions import IntDistribution

        raw = self._value(name)
        value = int(raw)
        if value != raw:
            raise ValueError(f"parameter {name!r} is fixed to {raw!r}, not an integer")
        self._check_range(name, value, low, high)
        return self._noted(name, value, IntDistribution(low, high, step=step, log=log))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """The fixed value of ``name`` (a warning if it is not among ``choices``)."""
        from optuna.distributions import CategoricalDistribution

        value = self._value(name)
        if value not in choices:
            warnings.warn(
                f"parameter {name!r} is fixed to {value!r}, which is not among the choices "
                f"{list(choices)!r}",
                stacklevel=2,
            )
            return self._noted(name, value, None)
        return self._noted(name, value, CategoricalDistribution(choices))

    def _value(self, name: str) -> Any:
        if name not in self._fixed:
            have = ", ".join(repr(k) for k in self._fixed) or "none"
            raise KeyError(f"FixedTrial has no value for parameter {name!r}; it has: {have}")
        return self._fixed[name]

    @staticmethod
    def _check_range(name: str, value: float, low: float, high: float) -> None:
        if not low <= value <= high:
            warnings.warn(
                f"parameter {name!r} is fixed to {value!r}, outside its range [{low}, {high}]",
                stacklevel=3,
            )

    def _noted(self, name: str, value: Any, distribution: Any) -> Any:
        self._suggested[name] = value
        if distribution is not None:
            self._distributions[name] = distribution
        return value

    def should_prune(self) -> bool:
        """Always False: a fixed trial runs to the end."""
        return False

    # ------------------------------------------------------------------ hpo_lab's additions
    @property
    def device(self) -> Any:
        """The ``torch.device`` to use (``"auto"``: the first CUDA GPU, else the CPU)."""
        if self._device is None:
            import torch

            name = self._device_name
            if name == "auto":
                name = "cuda" if torch.cuda.is_available() else "cpu"
            self._device = torch.device(name)
        return self._device

    def report(self, step: Any, metrics: Mapping[str, Any] | None = None, /, **named: Any) -> None:
        """Record named values at ``step`` (as :meth:`hl.Trial.report`; never prunes)."""
        step = check_step(step)
        values = convert_metrics(metrics, named)
        deferred = [k for k, v in values.items() if is_deferred(v)]
        if deferred:
            for k, v in zip(deferred, resolve_deferred([values[k] for k in deferred])):
                values[k] = v
        for k, v in values.items():
            self.series.setdefault(k, {})[step] = v
        self.last_step = step
        if self.verbose:
            text = " ".join(f"{k}={_short(v)}" for k, v in values.items())
            print(f"step {step}: {text}")

    def __repr__(self) -> str:
        return f"FixedTrial(number={self._number}, params={self._fixed})"


def _short(value: float) -> str:
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"
