"""Checking and converting what ``trial.report`` and objectives hand us.

Values may be Python numbers, numpy scalars (or 0-d arrays) and single-element torch tensors.
CPU tensors are read at once; tensors on an accelerator are *deferred*: copied (asynchronously)
and converted later in batches, one device synchronisation per batch instead of one per value.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

Deferred = Any  # a detached, cloned, 0-d torch tensor on an accelerator


def check_step(step: Any) -> float | int:
    """``step`` as an int (whole numbers) or a float; raise unless it is a finite number >= 0."""
    if isinstance(step, bool) or not isinstance(step, (numbers.Real, np.generic)):
        step = _tensor_or_array_scalar(step, "step")
    if isinstance(step, (np.integer, int)) and not isinstance(step, bool):
        step = int(step)
    else:
        try:
            step = float(step)
        except (TypeError, ValueError):
            raise TypeError(f"step must be a number, got {type(step).__name__}: {step!r}") from None
        if not math.isfinite(step):
            raise ValueError(f"step must be a finite number, got {step!r}")
        if step.is_integer():
            step = int(step)
    if step < 0:
        raise ValueError(f"step must be >= 0 (Optuna's steps start at zero), got {step!r}")
    return step


def _tensor_or_array_scalar(value: Any, what: str) -> Any:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"{what} must be a single number, got a tensor of shape {tuple(value.shape)}"
            )
        return value.detach().reshape(()).item()
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise ValueError(f"{what} must be a single number, got an array of shape {value.shape}")
        return value.reshape(()).item()
    raise TypeError(f"{what} must be a number, got {type(value).__name__}: {value!r}")


def convert_value(name: str, value: Any) -> float | Deferred:
    """A reported value as a float, or a deferred accelerator tensor. NaN and inf pass through
    (a diverging loss is data); anything that is not a number raises ``TypeError``."""
    if isinstance(value, float):
        return value
    if isinstance(value, (numbers.Real, np.number, np.bool_)):
        return float(value)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"metric {name!r} must be a single number, got a tensor of shape "
                f"{tuple(value.shape)}; reduce it first (e.g. .mean())"
            )
        if value.is_complex():
            raise TypeError(f"metric {name!r} must be real, got a complex tensor")
        t = value.detach().reshape(())
        if t.device.type in ("cpu", "meta"):
            if t.device.type == "meta":
                raise ValueError(f"metric {name!r} is a meta tensor, which has no value")
            return float(t.item())
        return t.clone()  # an async copy: later in-place changes to `value` cannot alter it
    if isinstance(value, np.ndarray):
        return float(_tensor_or_array_scalar(value, f"metric {name!r}"))
    raise TypeError(
        f"metric {name!r} must be a number (int, float, numpy scalar or one-element tensor), "
        f"got {type(value).__name__}: {value!r}"
    )


def convert_metrics(metrics: Mapping[str, Any] | None, named: Mapping[str, Any]) -> dict[str, Any]:
    """Merge and check ``report``'s mapping and keyword metrics."""
    if metrics is None:
        values: dict[str, Any] = {}
    elif isinstance(metrics, Mapping):
        values = dict(metrics)
    else:
        raise TypeError(
            "report takes report(step, {name: value, ...}) or report(step, name=value, ...); "
            f"got a {type(metrics).__name__} ({metrics!r}) after the step. Optuna's "
            "report(value, step) is written trial.report(step, val_loss=value) here."
        )
    for k, v in named.items():
        if k in values:
            raise ValueError(f"metric {k!r} is given twice (in the mapping and as a keyword)")
        values[k] = v
    if not values:
        raise ValueError("report needs at least one metric, e.g. trial.report(step, val_loss=0.3)")
    out = {}
    for k, v in values.items():
        if not isinstance(k, str) or not k:
            raise TypeError(f"metric names must be non-empty strings, got {k!r}")
        out[k] = convert_value(k, v)
    return out


def is_deferred(value: Any) -> bool:
    """Whether ``value`` came back from :func:`convert_value` as a deferred tensor."""
    return not isinstance(value, float)


def resolve_deferred(values: list[Any]) -> list[float]:
    """Convert deferred tensors to floats with one transfer (one sync) per device."""
    torch = sys.modules["torch"]
    by_device: dict[Any, list[int]] = {}
    for i, v in enumerate(values):
        by_device.setdefault(v.device, []).append(i)
    out: list[float] = [0.0] * len(values)
    for device, idx in by_device.items():
        dtype = torch.float64 if device.type == "cuda" else torch.float32
        stacked = torch.stack([values[i].to(dtype) for i in idx]).cpu().tolist()
        for i, f in zip(idx, stacked):
            out[i] = float(f)
    return out


def objective_values(result: Any, n_objectives: int, names: list[str] | None) -> tuple[float, ...]:
    """Check an objective's return value and give it as a tuple of finite floats.

    Raises:
        ValueError / TypeError: with a message saying what was returned and what was expected.
    """
    if result is None:
        raise ValueError("the objective returned None; return the value to optimize")
    if isinstance(result, Mapping):
        if names is None:
            raise ValueError(
                f"the objective returned a dict ({sorted(result)}) but the session's objectives "
                "are not named; pass directions={'name': 'minimize', ...} to name them"
            )
        missing = [n for n in names if n not in result]
        if missing:
            raise ValueError(
                f"the objective's dict lacks {missing}; expected the keys {names}, "
                f"got {sorted(result)}"
            )
        seq = [result[n] for n in names]
    elif isinstance(result, (list, tuple)):
        seq = list(result)
    else:
        seq = [result]
    if len(seq) != n_objectives:
        raise ValueError(
            f"the objective returned {len(seq)} value(s) but the session has {n_objectives} "
            "objective(s)"
        )
    out = []
    for i, v in enumerate(seq):
        label = names[i] if names else f"value {i}"
        f = convert_value(label, v)
        if is_deferred(f):
            f = resolve_deferred([f])[0]
        if not math.isfinite(f):
            raise ValueError(f"the objective returned a non-finite {label}: {f!r}")
        out.append(f)
    return tuple(out)
