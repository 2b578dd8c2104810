"""A value as Python source: a literal for simple constants, or the import that binds it."""

from __future__ import annotations

import math
import sys
from types import FunctionType, ModuleType
from typing import Any

_MAX_LITERAL = 10_000  # characters: a bigger constant is looked up as a statement instead


def importable(modname: Any) -> bool:
    """Whether a fresh process could import this module (it is not ``__main__``)."""
    if not isinstance(modname, str) or modname == "__main__":
        return False
    module = sys.modules.get(modname)
    return module is not None and getattr(module, "__spec__", None) is not None


def literal(value: Any, _depth: int = 0) -> str | None:
    """Python source for a simple constant, or None if ``value`` is not one.

    Example:
        >>> literal({"a": (1, 2.5, float("inf"))}), literal(object()) is None
        ("{'a': (1, 2.5, float('inf'))}", True)
    """
    if _depth > 20:
        return None
    if value is None or type(value) in (bool, int, str, bytes):
        text = repr(value)
    elif type(value) is float:
        text = repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    elif type(value) in (tuple, list, set, frozenset):
        items = [literal(v, _depth + 1) for v in value]
        if any(i is None for i in items):
            return None
        if type(value) is tuple:
            text = "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"  # type: ignore[arg-type]
        elif type(value) is list:
            text = "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
        elif not items:
            text = f"{type(value).__name__}()"
        else:
            body = "{" + ", ".join(sorted(items)) + "}"  # type: ignore[arg-type]
            text = body if type(value) is set else f"frozenset({body})"
    elif type(value) is dict:
        pairs = [(literal(k, _depth + 1), literal(v, _depth + 1)) for k, v in value.items()]
        if any(k is None or v is None for k, v in pairs):
            return None
        text = "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    else:
        return None
    return text if len(text) <= _MAX_LITERAL else None


def import_line(name: str, value: Any) -> str | None:
    """``import``/``from ... import`` binding ``name`` to ``value``, if an importable module
    provides it (the shortest public module path that exposes it is used)."""
    if isinstance(value, ModuleType):
        mod = value.__name__
        if mod == name:
            return f"import {mod}"
        parent, _, leaf = mod.rpartition(".")
        if parent and leaf == name:
            return f"from {parent} import {name}"
        return f"import {mod} as {name}"
    owner = getattr(value, "__module__", None)
    if not isinstance(owner, str):
        owner = getattr(type(value), "__module__", None)
    if not importable(owner):
        return None
    attr = getattr(value, "__qualname__", None)
    if not isinstance(attr, str) or "." in attr or "<" in attr:
        attr = getattr(value, "__name__", None)
    candidates = [a for a in (attr, name) if isinstance(a, str) and a.isidentifier()]
    parts = owner.split(".")  # type: ignore[union-attr]
    for i in range(1, len(parts) + 1):
        mod = ".".join(parts[:i])
        module = sys.modules.get(mod)
        if module is None or (i < len(parts) and any(p.startswith("_") for p in parts[1:i])):
            continue
        for a in candidates:
            if getattr(module, a, None) is value:
                return f"from {mod} import {a}" + ("" if a == name else f" as {name}")
        if i == len(parts) or not isinstance(value, (type, FunctionType)):
            # An instance (torch.float32) knows no name of its own: look for it.
            for a, v in sorted(vars(module).items()):
                if v is value and not a.startswith("_") and a.isidentifier():
                    return f"from {mod} import {a}" + ("" if a == name else f" as {name}")
    return None
