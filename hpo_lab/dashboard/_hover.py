"""Formatting values and parameters for hover labels and the trial card."""

from __future__ import annotations

import html
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

#: At most this many parameters are listed in a hover label.
MAX_HOVER_PARAMS = 8


def fmt_value(value: Any) -> str:
    """A number in 4 significant digits (ints as they are), anything else as ``str``.

    Example:
        >>> fmt_value(0.000123456), fmt_value(64), fmt_value("adam"), fmt_value(None)
        ('0.0001235', '64', 'adam', '—')
    """
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.4g}"


def state_word(state: str) -> str:
    """How a state reads in a sentence: ``"FAIL"`` → ``"failed"``, ``"RUNNING"`` → ``"running"``.

    Example:
        >>> state_word("FAIL"), state_word("COMPLETE")
        ('failed', 'complete')
    """
    return "failed" if state == "FAIL" else state.lower()


def params_html(params: Mapping[str, Any], names: Sequence[str]) -> str:
    """``name = value`` lines for a hover label (HTML-escaped)."""
    shown = [n for n in names if n in params][:MAX_HOVER_PARAMS]
    lines = [f"{html.escape(n)} = {html.escape(fmt_value(params[n]))}" for n in shown]
    extra = len([n for n in params if n in names]) - len(shown)
    if extra > 0:
        lines.append(f"… {extra} more")
    return "<br>".join(lines)


def trial_line(
    number: int,
    state: str,
    values: Sequence[float] | None,
    params: Mapping[str, Any],
    names: Sequence[str],
) -> str:
    """One line of HTML about a trial: number, state, value and every parameter.

    Example:
        >>> trial_line(7, "COMPLETE", (0.25,), {"lr": 0.01, "opt": "adam"}, ["lr", "opt"])
        '<b>Trial 7</b> · complete · 0.25 · lr = 0.01 · opt = adam'
    """
    parts = [f"<b>Trial {number}</b>", html.escape(state_word(state))]
    if values:
        parts.append(" / ".join(html.escape(fmt_value(v)) for v in values))
    parts += [
        f"{html.escape(n)} = {html.escape(fmt_value(params[n]))}" for n in names if n in params
    ]
    return " · ".join(parts)
