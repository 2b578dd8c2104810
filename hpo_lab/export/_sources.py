"""Where user code lives: the names a piece of source reads, and the top-level statements of a
notebook (its cell history) or a script that bind a given name."""

from __future__ import annotations
import __future__

import ast
import dis
import linecache
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from types import CodeType
from typing import Any

_FUTURE = __future__.annotations.compiler_flag


def compile_block(source: str) -> CodeType:
    """Compile a block as the exported script will: annotations stay unevaluated strings."""
    return compile(source, "<hpo_lab export>", "exec", flags=_FUTURE, dont_inherit=True)


def global_names(source: str) -> tuple[list[str], set[str]]:
    """The global names ``source`` reads, in first-use order, and the names it binds.

    Read from the bytecode, so local variables, comprehension variables and attribute names
    are not mistaken for globals (an AST walk would be).
    """
    code = compile_block(source)
    loads: dict[str, None] = {}
    binds: set[str] = set()

    def walk(co: CodeType, top: bool) -> None:
        local_stores = set()
        for ins in dis.get_instructions(co):
            name = ins.argval
            if ins.opname in ("STORE_NAME", "STORE_GLOBAL", "DELETE_NAME"):
                local_stores.add(name)
                if top or ins.opname == "STORE_GLOBAL":
                    binds.add(name)
            elif ins.opname == "LOAD_GLOBAL" or (
                ins.opname == "LOAD_NAME" and name not in local_stores
            ):
                loads.setdefault(name, None)
        for const in co.co_consts:
            if isinstance(const, CodeType):
                walk(const, False)

    walk(code, True)
    return [n for n in loads if not (n.startswith("__") and n.endswith("__"))], binds


def annotation_names(source: str) -> list[str]:
    """Names read by the annotations in ``source`` (which the exported script leaves
    unevaluated, but a reader still wants imported)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    exprs: list[ast.expr | None] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            every = [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]
            exprs += [arg.annotation for arg in every if arg is not None]
            exprs.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            exprs.append(node.annotation)
    names: dict[str, None] = {}
    for e in exprs:
        if e is None:
            continue
        if isinstance(e, ast.Constant) and isinstance(e.value, str):  # a quoted annotation
            try:
                e = ast.parse(e.value, mode="eval").body
            except SyntaxError:
                continue
        for sub in ast.walk(e):
            if isinstance(sub, ast.Name):
                names.setdefault(sub.id, None)
    return list(names)


@dataclass(frozen=True)
class Statement:
    """A top-level statement of a notebook cell or a script, with where it was found."""

    cell: int
    index: int
    source: str
    binds: frozenset[str]
    kind: str  # "def", "class" or "other"

    @property
    def position(self) -> tuple[int, int]:
        return (self.cell, self.index)


class SourceIndex:
    """The top-level statements of a notebook's cells (in execution order) or of a script, to
    find the one that last bound a name."""

    def __init__(self, cells: list[str]) -> None:
        self._statements: list[Statement] = []
        for c, cell in enumerate(cells):
            self._statements.extend(_statements(c, cell))

    @classmethod
    def for_namespace(cls, namespace: dict[str, Any]) -> SourceIndex | None:
        """The source of a notebook (IPython's input history) or of a script run as
        ``__main__``; None when neither is known."""
        cells = _ipython_cells(namespace)
        if cells is None:
            path = namespace.get("__file__")
            if not isinstance(path, str):
                return None
            try:
                with open(path, encoding="utf-8") as f:
                    cells = [f.read()]
            except OSError:
                return None
        return cls(cells)

    def find(self, name: str, before: tuple[int, int] | None = None) -> Statement | None:
        """The last statement that binds ``name`` (before ``before``, when given)."""
        for st in reversed(self._statements):
            if before is not None and st.position >= before:
                continue
            if name in st.binds:
                return st
        return None

    def find_definition(self, name: str, kind: str) -> Statement | None:
        """The last ``def`` or ``class`` statement (``kind``) that defines ``name``."""
        for st in reversed(self._statements):
            if st.kind == kind and name in st.binds:
                return st
        return None


def _kind(node: ast.stmt) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "def"
    return "class" if isinstance(node, ast.ClassDef) else "other"


def _ipython_cells(namespace: dict[str, Any]) -> list[str] | None:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or shell.user_ns is not namespace:
        return None
    try:
        cells = list(shell.history_manager.input_hist_parsed)
    except Exception:
        cells = list(namespace.get("_ih") or [])
    cells = [c for c in cells if isinstance(c, str)]
    if not any(c.strip() for c in cells):  # cells run with store_history=False (nbval does)
        cells = _compiled_cells(shell)
    return cells


def _compiled_cells(shell: Any) -> list[str]:
    """The cells IPython compiled, in the order it first ran them: it caches every cell's code
    in ``linecache`` for tracebacks, stored in the history or not."""
    try:
        names = list(shell.compile._filename_map)
    except Exception:
        return []
    return ["".join(linecache.cache[n][2]) for n in names if n in linecache.cache]


def _statements(cell_index: int, source: str) -> Iterator[Statement]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    lines = source.splitlines(keepends=True)
    for i, node in enumerate(tree.body):
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        if len(tree.body) > 1 and _shares_line(tree.body, i):
            text = ast.get_source_segment(source, node) or ""
        else:
            text = "".join(lines[start - 1 : node.end_lineno])
        text = textwrap.dedent(text).rstrip() + "\n"
        binds = _bound_names(text)
        if binds:
            yield Statement(cell_index, i, text, binds, _kind(node))


def _shares_line(body: list[ast.stmt], i: int) -> bool:
    node = body[i]
    neighbours = body[max(i - 1, 0) : i] + body[i + 1 : i + 2]
    return any(n.lineno == node.end_lineno or n.end_lineno == node.lineno for n in neighbours)


def _bound_names(text: str) -> frozenset[str]:
    """Names a top-level statement binds in the module's namespace."""
    try:
        return frozenset(global_names(text)[1])
    except SyntaxError:  # e.g. a top-level await, which IPython allows
        return frozenset()
