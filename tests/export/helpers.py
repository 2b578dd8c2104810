"""Running exported files and notebook cells in fresh processes, as a user would."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def env() -> dict[str, str]:
    """The environment of a fresh process that imports this checkout's hpo_lab."""
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), out.get("PYTHONPATH")]))
    out.setdefault("TQDM_DISABLE", "1")
    return out


def run_python(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(f"python {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def script_result(stdout: str) -> tuple[Any, Any]:
    """The ``result:`` and ``recorded:`` lines an exported script prints, as Python values."""
    found = {}
    for line in stdout.splitlines():
        for key in ("result", "recorded"):
            if line.startswith(key + ": "):
                found[key] = ast.literal_eval(line[len(key) + 2 :])
    assert set(found) == {"result", "recorded"}, stdout
    return found["result"], found["recorded"]


_IPYTHON_RUNNER = textwrap.dedent(
    """
    import json, sys
    from traitlets.config import Config
    from IPython.core.interactiveshell import InteractiveShell

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    store_history = sys.argv[2] == "1"
    for cell in json.load(open(sys.argv[1])):
        result = shell.run_cell(cell, store_history=store_history)
        if not result.success:
            sys.exit(f"cell failed: {result.error_before_exec or result.error_in_exec!r}")
    """
)


def run_ipython_cells(cells: list[str], cwd: Path, store_history: bool = True) -> None:
    """Execute ``cells`` one by one in an IPython shell in a fresh process: with history, as in
    a notebook, or without (``store_history=False``, as nbval runs notebooks)."""
    (cwd / "cells.json").write_text(json.dumps([textwrap.dedent(c) for c in cells]))
    (cwd / "ipython_runner.py").write_text(_IPYTHON_RUNNER)
    run_python(["ipython_runner.py", "cells.json", "1" if store_history else "0"], cwd)
