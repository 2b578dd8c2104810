"""Capturing an objective as source: the function as written, plus everything it uses.

Starting from the objective's source, every global name it reads (found in the bytecode, so
locals and attributes are never mistaken for globals) is resolved where the function would look
it up — its closure, then its module's globals — and becomes, in the exported script:

- a module: ``import numpy as np``;
- a simple constant (numbers, strings, and containers of them): ``EPOCHS = 20``;
- a function or class defined in the notebook or script (``__main__``): its source, captured in
  turn (recursively);
- anything an importable module provides (the objective's own module, an installed package):
  ``from pkg.mod import name``;
- any other value defined in the notebook or script: the top-level statement that last bound it
  (``data = load_digits_data()``), found in IPython's cell history or the script's file, with
  the names that statement reads captured in turn.

What cannot be recreated is listed in ``missing`` with the reason; the export says so.
"""

from __future__ import annotations

import functools
import inspect
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import FunctionType, ModuleType
from typing import Any

from hpo_lab.export._sources import SourceIndex, Statement, annotation_names, global_names
from hpo_lab.export._values import import_line, importable, literal


class CaptureError(ValueError):
    """The objective cannot be captured as source (a lambda, a callable object...)."""


@dataclass(frozen=True)
class CapturedObjective:
    """An objective as source, ready to become a script or notebook.

    Attributes:
        name: the objective function's name in the source.
        entry: the expression that gives the objective to call (its name, or a
            ``functools.partial(...)`` of it).
        imports: import statements, one per line.
        blocks: definitions in dependency order (constants, statements, functions, classes);
            the objective's own source is last.
        origin: where the objective was defined: ``"notebook"``, ``"script <path>"`` or
            ``"module <name>"``.
        missing: names the objective uses that could not be recreated, with the reason.
    """

    name: str
    entry: str
    imports: tuple[str, ...]
    blocks: tuple[str, ...]
    origin: str
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """Imports and definitions as one runnable piece of Python."""
        return join_blocks(["\n".join(self.imports)] if self.imports else [], self.blocks)

    @property
    def defined_names(self) -> frozenset[str]:
        """Every global name the source binds."""
        return frozenset(global_names(self.source)[1])

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "entry": self.entry,
            "imports": list(self.imports),
            "blocks": list(self.blocks),
            "origin": self.origin,
            "missing": dict(self.missing),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CapturedObjective:
        try:
            return cls(
                name=data["name"],
                entry=data["entry"],
                imports=tuple(data["imports"]),
                blocks=tuple(data["blocks"]),
                origin=data["origin"],
                missing=dict(data.get("missing") or {}),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a captured objective ({exc!r}): {data!r:.200}") from None


def capture_objective(objective: Any) -> CapturedObjective:
    """Capture ``objective`` and everything it uses as source (see the module docstring).

    Args:
        objective: a function ``objective(trial)`` (defined with ``def``, in a notebook, a
            script or a module), or a ``functools.partial`` of one with constant arguments.

    Raises:
        CaptureError: ``objective`` is a lambda, a callable object or a builtin, or its source
            is not available.

    Example:
        >>> import math
        >>> SCALE = 2.0
        >>> def objective(trial):
        ...     return math.sqrt(SCALE * trial.suggest_float("x", 0, 1))
        >>> captured = capture_objective(objective)
        >>> captured.imports, captured.blocks[0]
        (('import math',), 'SCALE = 2.0\\n')
    """
    fn, args, kwargs = _unwrap_partial(objective)
    if not isinstance(fn, FunctionType):
        raise CaptureError(
            f"objective must be a function defined with def (or a functools.partial of one) to "
            f"be exported as source; got {type(fn).__name__}: {fn!r}"
        )
    if fn.__name__ == "<lambda>":
        raise CaptureError(
            "objective is a lambda, whose source cannot be isolated; define it with "
            "def objective(trial): ..."
        )
    cap = _Capturer()
    cap.function(fn, fn.__name__, top=True)
    entry = fn.__name__
    if args or kwargs:
        parts = [fn.__name__]
        for i, a in enumerate(args):
            parts.append(_require_literal(a, f"argument {i} of the functools.partial"))
        for k, v in kwargs.items():
            parts.append(f"{k}={_require_literal(v, f'argument {k!r} of the functools.partial')}")
        cap.imports["import functools"] = None
        entry = f"functools.partial({', '.join(parts)})"
    return CapturedObjective(
        name=fn.__name__,
        entry=entry,
        imports=merge_imports(cap.imports),
        blocks=tuple(cap.blocks),
        origin=_origin(fn),
        missing=cap.missing,
    )


def join_blocks(*groups: Sequence[str]) -> str:
    """Source blocks joined PEP 8-style: two blank lines around definitions, one-line
    statements kept together."""
    out = ""
    prev_short = False
    for block in (b.strip("\n") for g in groups for b in g):
        if not block:
            continue
        short = "\n" not in block and not block.startswith(("import ", "from "))
        if out:
            out += "\n" if short and prev_short else "\n\n\n"
        out += block
        prev_short = short
    return out + "\n"


def merge_imports(lines: Iterable[str]) -> tuple[str, ...]:
    """Unique import lines, ``import x`` first, ``from m import a, b`` merged per module."""
    plain: dict[str, None] = {}
    froms: dict[str, dict[str, None]] = {}
    for line in lines:
        if line.startswith("from "):
            mod, _, names = line[len("from ") :].partition(" import ")
            for n in names.split(", "):
                froms.setdefault(mod, {})[n] = None
        else:
            plain[line] = None
    out = sorted(plain)
    out += [f"from {m} import {', '.join(sorted(ns))}" for m, ns in sorted(froms.items())]
    return tuple(out)


def _unwrap_partial(obj: Any) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    while isinstance(obj, functools.partial):
        args = obj.args + args
        kwargs = {**obj.keywords, **kwargs}
        obj = obj.func
    return obj, args, kwargs


def _require_literal(value: Any, what: str) -> str:
    text = literal(value)
    if text is None:
        raise CaptureError(
            f"{what} is {type(value).__name__}: {value!r:.80}; only constants (numbers, "
            "strings and containers of them) can be exported"
        )
    return text


def _origin(fn: FunctionType) -> str:
    ns = fn.__globals__
    if importable(ns.get("__name__")):
        return f"module {ns['__name__']}"
    if SourceIndex.for_namespace(ns) is not None and "__file__" not in ns:
        return "notebook"
    path = ns.get("__file__")
    return f"script {path}" if isinstance(path, str) else "interactive session"


class _Capturer:
    def __init__(self) -> None:
        self.imports: dict[str, None] = {}
        self.blocks: list[str] = []
        self.missing: dict[str, str] = {}
        self._bound: dict[str, Any] = {}  # name -> the value it stands for in the script
        self._statements: set[tuple[int, tuple[int, int]]] = set()
        self._indexes: dict[int, SourceIndex | None] = {}

    # -------------------------------------------------------------- blocks
    def function(self, fn: FunctionType, name: str, top: bool = False) -> None:
        """Add a function's source (and, first, what it uses)."""
        self._bound[name] = fn
        try:
            source = textwrap.dedent(inspect.getsource(fn))
        except (OSError, TypeError):
            st = self._index(fn.__globals__)
            found = st.find_definition(fn.__name__, "def") if st else None
            if found is None:
                if top:
                    raise CaptureError(
                        f"the source of {fn.__qualname__} is not available (defined with exec, "
                        "or in a cell that is no longer in the history?)"
                    ) from None
                self._missing(name, f"the source of function {fn.__qualname__} is not available")
                return
            source = found.source
        if fn.__name__ != name:
            source += f"\n\n{name} = {fn.__name__}\n"
        scope = dict(zip(fn.__code__.co_freevars, (_cell(c) for c in fn.__closure__ or ())))
        self._uses(source, fn.__globals__, scope)
        self.blocks.append(source)

    def klass(self, cls: type, name: str, namespace: dict[str, Any]) -> None:
        """Add a class defined in the notebook or script."""
        self._bound[name] = cls
        source = None
        index = self._index(namespace)
        found = index.find_definition(cls.__name__, "class") if index else None
        if found is not None:
            source = found.source
        else:
            try:
                source = textwrap.dedent(inspect.getsource(cls))
            except (OSError, TypeError):
                self._missing(name, f"the source of class {cls.__qualname__} is not available")
                return
        if cls.__name__ != name:
            source += f"\n\n{name} = {cls.__name__}\n"
        self._uses(source, namespace, {})
        self.blocks.append(source)

    def statement(self, st: Statement, namespace: dict[str, Any]) -> None:
        key = (id(namespace), st.position)
        if key in self._statements:
            return
        self._statements.add(key)
        for n in st.binds:
            self._bound.setdefault(n, namespace.get(n))
        self._uses(st.source, namespace, {}, before=st.position, own=st.binds)
        self.blocks.append(st.source)

    # -------------------------------------------------------------- names
    def _uses(
        self,
        source: str,
        namespace: dict[str, Any],
        scope: dict[str, Any],
        before: tuple[int, int] | None = None,
        own: frozenset[str] = frozenset(),
    ) -> None:
        try:
            names, _ = global_names(source)
        except SyntaxError as exc:
            raise CaptureError(f"cannot compile captured source: {exc}") from None
        for n in names:
            if n in own and before is not None:
                self._rebound(n, namespace, before)  # `x = f(x)`: the earlier binding
            else:
                self._name(n, namespace, scope, before)
        for n in annotation_names(source):  # imported if they can be; never required
            if n not in self._bound and n not in names:
                value = scope.get(n, namespace.get(n, _NOTHING))
                line = None if value is _NOTHING else import_line(n, value)
                if line is not None:
                    self._bound[n] = value
                    self.imports[line] = None

    def _rebound(self, name: str, namespace: dict[str, Any], before: tuple[int, int]) -> None:
        index = self._index(namespace)
        found = index.find(name, before) if index else None
        if found is not None:
            self.statement(found, namespace)
        elif name not in self._bound:
            self._missing(name, "it is read before the statement that defines it")

    def _name(
        self,
        name: str,
        namespace: dict[str, Any],
        scope: dict[str, Any],
        before: tuple[int, int] | None,
    ) -> None:
        in_scope = name in scope
        if in_scope:
            value = scope[name]
        elif name in namespace:
            value = namespace[name]
        else:
            builtins = namespace.get("__builtins__", __builtins__)
            has = name in builtins if isinstance(builtins, dict) else hasattr(builtins, name)
            if not has:
                self._missing(name, "it was not defined when the objective was captured")
            return
        if name in self._bound:
            if not _same(self._bound[name], value) and name not in self.missing:
                self._missing(name, "two different values use this name")
            return
        # A closure variable may be recreated from a statement only if the global of that name
        # is the very same object.
        searchable = not in_scope or namespace.get(name, _NOTHING) is value
        self._value(name, value, namespace, before, searchable)

    def _value(
        self,
        name: str,
        value: Any,
        namespace: dict[str, Any],
        before: tuple[int, int] | None,
        searchable: bool = True,
    ) -> None:
        modname = namespace.get("__name__")
        line = import_line(name, value) if isinstance(value, ModuleType) else None
        if line is None and importable(modname) and not isinstance(value, ModuleType):
            module = sys.modules[modname]
            if getattr(module, name, None) is value:
                line = f"from {modname} import {name}"
        if line is not None:
            self._bound[name] = value
            self.imports[line] = None
            return
        text = literal(value)
        if text is not None:
            self._bound[name] = value
            self.blocks.append(f"{name} = {text}\n")
            return
        if (
            isinstance(value, FunctionType)
            and value.__name__ != "<lambda>"
            and (not importable(value.__module__) or value.__globals__ is namespace)
        ):
            self.function(value, name)
            return
        if isinstance(value, type) and value.__module__ == modname:
            self.klass(value, name, namespace)
            return
        line = import_line(name, value)
        if line is not None:
            self._bound[name] = value
            self.imports[line] = None
            return
        index = self._index(namespace) if searchable else None
        found = index.find(name, before) if index else None
        if found is not None:
            self.statement(found, namespace)
            return
        self._missing(
            name,
            f"a {type(value).__name__} that is not a constant, not importable, and not bound "
            "by a top-level statement hpo_lab could find",
        )

    def _missing(self, name: str, reason: str) -> None:
        self._bound.setdefault(name, None)
        self.missing[name] = reason

    def _index(self, namespace: dict[str, Any]) -> SourceIndex | None:
        key = id(namespace)
        if key not in self._indexes:
            self._indexes[key] = (
                None
                if importable(namespace.get("__name__"))
                else SourceIndex.for_namespace(namespace)
            )
        return self._indexes[key]


_NOTHING = object()


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    la, lb = literal(a), literal(b)
    return la is not None and la == lb


def _cell(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell: the variable was never assigned
        return None
