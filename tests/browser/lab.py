"""Chromium pages on a test JupyterLab: open notebooks, run them, talk to their kernels.

Example:
    >>> with Lab(server, browser, output_dir) as lab:  # doctest: +SKIP
    ...     nb = lab.open("demo.ipynb")
    ...     nb.run_all()
    ...     nb.wait_for(".widget-label")
    ...     assert nb.evaluate("1 + 1") == 2
"""

from __future__ import annotations

import ast
import json
import os
import re
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from .server import JupyterServer
from .timings import Timings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

# Installed once per page: finds a notebook panel by path and runs code in its kernel.
_HARNESS_JS = """
() => {
  if (window.__hpoHarness) return;
  const app = window.jupyterapp;
  const panel = (path) => {
    for (const w of app.shell.widgets('main')) {
      if (w.context && w.context.path === path) return w;
    }
    throw new Error(`no open notebook at ${path}`);
  };
  const withTimeout = (promise, ms, what) => Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: ${ms} ms`)), ms)),
  ]);
  window.__hpoHarness = {
    panel,
    kernelStatus(path) {
      let w;
      try { w = panel(path); } catch (e) { return 'no panel'; }
      const kernel = w.sessionContext.session?.kernel;
      if (!w.sessionContext.isReady || !kernel) return 'no kernel';
      return kernel.connectionStatus === 'connected' ? kernel.status : kernel.connectionStatus;
    },
    async execute(path, code, expressions, ms) {
      const kernel = panel(path).sessionContext.session.kernel;
      const future = kernel.requestExecute({
        code, silent: false, store_history: false, allow_stdin: false,
        user_expressions: expressions,
      });
      const out = {stdout: '', stderr: '', result: null, error: null};
      future.onIOPub = (msg) => {
        const c = msg.content;
        switch (msg.header.msg_type) {
          case 'stream': out[c.name] += c.text; break;
          case 'execute_result': out.result = c.data['text/plain']; break;
          case 'error': out.error = {ename: c.ename, evalue: c.evalue, traceback: c.traceback};
        }
      };
      const reply = await withTimeout(future.done, ms, 'kernel execute timed out');
      out.status = reply.content.status;
      out.expressions = reply.content.user_expressions || {};
      return out;
    },
    async runAll(path, ms) {
      const w = panel(path);
      app.shell.activateById(w.id);
      await withTimeout(app.commands.execute('notebook:run-all-cells'), ms, 'run all timed out');
      const errors = [];
      w.content.widgets.forEach((cell, index) => {
        if (cell.model.type !== 'code') return;
        for (const o of cell.model.outputs.toJSON()) {
          if (o.output_type === 'error') {
            errors.push({cell: index, ename: o.ename, evalue: o.evalue, traceback: o.traceback});
          }
        }
      });
      return errors;
    },
    async runCells(path, start, stop, ms) {
      // Runs cells start..stop-1 one after the other, as a user pressing Shift+Enter would.
      const w = panel(path);
      app.shell.activateById(w.id);
      const errors = [];
      const deadline = Date.now() + ms;
      for (let index = start; index < Math.min(stop, w.content.widgets.length); index++) {
        w.content.activeCellIndex = index;
        await withTimeout(app.commands.execute('notebook:run-cell'),
                          Math.max(1, deadline - Date.now()), `cell ${index} timed out`);
        const cell = w.content.widgets[index];
        if (cell.model.type !== 'code') continue;
        for (const o of cell.model.outputs.toJSON()) {
          if (o.output_type === 'error') {
            errors.push({cell: index, ename: o.ename, evalue: o.evalue, traceback: o.traceback});
          }
        }
      }
      return errors;
    },
    cellSources(path) {
      return panel(path).content.widgets.map((cell) => cell.model.sharedModel.getSource());
    },
  };
}
"""


class NotebookError(AssertionError):
    """A cell or a kernel request raised; the message carries the Python traceback."""


def launch_chromium(playwright: Playwright, home_dir: Path | None = None) -> Browser:
    """Launches Debian's headless chromium with the flags that work on these machines.

    Playwright gives every launch a fresh temporary ``--user-data-dir`` (and refuses one passed
    in ``args``); ``HOME`` and the XDG dirs point at ``home_dir`` so nothing lands in the real home.

    Args:
        playwright: A started Playwright (``sync_playwright().start()``).
        home_dir: The browser's ``HOME``; a fresh temp dir when None.
    """
    home = home_dir or Path(tempfile.mkdtemp(prefix="hpo-chromium-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env |= {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    env["XDG_CACHE_HOME"] = str(home / ".cache")
    return playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS), env=env
    )


class Lab:
    """One browser context (fresh cookies and storage) on a test server.

    On exit it closes the context and deletes the kernels of the notebooks it opened, so one
    test's kernels never slow down the next on a 2-core machine.

    Args:
        server: The running server.
        browser: A chromium from :func:`launch_chromium`.
        output_dir: Where screenshots go.
        timings: Records open/run times if given.
        viewport: Browser window size in CSS pixels.
    """

    def __init__(
        self,
        server: JupyterServer,
        browser: Browser,
        output_dir: Path,
        timings: Timings | None = None,
        viewport: tuple[int, int] = (1280, 900),
    ) -> None:
        self.server = server
        self.output_dir = output_dir
        self.timings = timings or Timings()
        self.context: BrowserContext = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}
        )
        self.notebooks: list[Notebook] = []

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self, name: str, timeout: float = 60.0) -> Notebook:
        """Opens notebook ``name`` (relative to the root dir) and waits for an idle kernel."""
        page = self.context.new_page()
        notebook = Notebook(self, page, name)
        self.notebooks.append(notebook)
        notebook.load(timeout)
        return notebook

    def close(self) -> None:
        """Closes the pages, then deletes the sessions (and kernels) of the opened notebooks."""
        self.context.close()
        if self.notebooks:
            self.server.shutdown_kernels(nb.name for nb in self.notebooks)


class Notebook:
    """A notebook open in JupyterLab in one Playwright page.

    Attributes:
        page: The Playwright page, for anything the helpers do not cover.
        name: The notebook's path relative to the server's root dir.
    """

    def __init__(self, lab: Lab, page: Page, name: str) -> None:
        self.lab = lab
        self.page = page
        self.name = name

    def load(self, timeout: float = 60.0) -> None:
        """Navigates to the notebook and waits for the UI, then for an idle kernel.

        The side bars are collapsed so that screenshots show the notebook at full width.
        """
        timings = self.lab.timings
        with timings.measure(f"open UI {self.name}"):
            self.page.goto(self.lab.server.lab_url(self.name))
            self.page.wait_for_function(
                "(path) => { const app = window.jupyterapp; if (!app || !app.shell) return false;"
                " for (const w of app.shell.widgets('main')) {"
                "   if (w.context && w.context.path === path && w.isVisible) return true; }"
                " return false; }",
                arg=self.name,
                timeout=timeout * 1000,
            )
            self.page.evaluate(_HARNESS_JS)
            self.page.evaluate(
                "() => { jupyterapp.shell.collapseLeft(); jupyterapp.shell.collapseRight(); }"
            )
        self.wait_kernel_idle(timeout)

    def wait_kernel_idle(self, timeout: float = 60.0) -> None:
        """Waits until the notebook's kernel is connected and idle."""
        with self.lab.timings.measure(f"kernel idle {self.name}"):
            self.page.wait_for_function(
                "(path) => window.__hpoHarness.kernelStatus(path) === 'idle'",
                arg=self.name,
                timeout=timeout * 1000,
                polling=100,
            )

    def run_all(self, timeout: float = 120.0, raise_on_error: bool = True) -> list[dict[str, Any]]:
        """Runs all cells (``notebook:run-all-cells``) and waits until the last one finished.

        Widgets may still be rendering afterwards: follow with :meth:`wait_for`.

        Returns:
            The error outputs, one dict per failing cell (``cell``, ``ename``, ``evalue``,
            ``traceback``), when ``raise_on_error`` is False.

        Raises:
            NotebookError: If a cell raised and ``raise_on_error`` is True.
        """
        with self.lab.timings.measure(f"run all {self.name}"):
            errors = self.page.evaluate(
                "([path, ms]) => window.__hpoHarness.runAll(path, ms)", [self.name, timeout * 1000]
            )
        if errors and raise_on_error:
            first = errors[0]
            trace = _ANSI.sub("", "\n".join(first["traceback"]))
            raise NotebookError(f"cell {first['cell']} of {self.name} raised:\n{trace}")
        return list(errors)

    def run_cells(self, start: int = 0, stop: int | None = None, timeout: float = 120.0) -> None:
        """Runs cells ``start`` to ``stop - 1`` (default: to the end) one at a time, as a user
        pressing Shift+Enter does, so that the kernel is free between two steps of a test.

        Raises:
            NotebookError: If a cell raised.
        """
        stop = len(self.cell_sources()) if stop is None else stop
        with self.lab.timings.measure(f"run cells {start}-{stop - 1} {self.name}"):
            errors = self.page.evaluate(
                "([path, a, b, ms]) => window.__hpoHarness.runCells(path, a, b, ms)",
                [self.name, start, stop, timeout * 1000],
            )
        if errors:
            first = errors[0]
            trace = _ANSI.sub("", "\n".join(first["traceback"]))
            raise NotebookError(f"cell {first['cell']} of {self.name} raised:\n{trace}")

    def cell_sources(self) -> list[str]:
        """The source of every cell, in order."""
        return list(self.page.evaluate("(p) => window.__hpoHarness.cellSources(p)", self.name))

    def execute(self, code: str, timeout: float = 30.0) -> str:
        """Runs ``code`` in the notebook's kernel (no cell is added) and returns its output.

        Returns:
            Everything printed to stdout, followed by the ``text/plain`` of the last
            expression's value, if any.

        Raises:
            NotebookError: If the code raised (message: the traceback).
        """
        out = self._request(code, {}, timeout)
        return out["stdout"] + (out["result"] or "")

    def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """Evaluates a Python expression in the kernel and returns its value, sent as JSON.

        Example:
            >>> nb.evaluate("table.selected")  # doctest: +SKIP
            17
        """
        wrapped = f"__import__('json').dumps({expression})"
        out = self._request("", {"value": wrapped}, timeout)
        value = out["expressions"]["value"]
        if value["status"] != "ok":
            raise NotebookError(f"{expression!r} raised {value['ename']}: {value['evalue']}")
        return json.loads(ast.literal_eval(value["data"]["text/plain"]))

    def wait_for(self, selector: str, timeout: float = 30.0, state: str = "visible") -> None:
        """Waits until ``selector`` matches an element in ``state`` (visible, attached, ...)."""
        self.page.locator(selector).first.wait_for(state=state, timeout=timeout * 1000)  # type: ignore[arg-type]

    def wait_until(self, predicate: str, arg: Any = None, timeout: float = 30.0) -> Any:
        """Waits until the JavaScript function ``predicate(arg)`` returns a truthy value.

        Returns:
            That value, converted to Python.
        """
        handle = self.page.wait_for_function(predicate, arg=arg, timeout=timeout * 1000)
        return handle.json_value()

    def wait_until_kernel(self, expression: str, timeout: float = 30.0) -> Any:
        """Polls a Python expression in the kernel until it is truthy and returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value or time.monotonic() > deadline:
                if not value:
                    raise TimeoutError(f"{expression!r} still {value!r} after {timeout} s")
                return value
            time.sleep(0.1)

    def screenshot(self, name: str, selector: str | None = None) -> Path:
        """Saves a PNG of the page (or of the first element matching ``selector``).

        Returns:
            The file's path: ``<output dir>/<name>.png``.
        """
        path = self.lab.output_dir / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        if selector is None:
            self.page.screenshot(path=str(path))
        else:
            self.page.locator(selector).first.screenshot(path=str(path))
        return path

    def _request(self, code: str, expressions: dict[str, str], timeout: float) -> dict[str, Any]:
        out = self.page.evaluate(
            "([path, code, exprs, ms]) => window.__hpoHarness.execute(path, code, exprs, ms)",
            [self.name, code, expressions, timeout * 1000],
        )
        if out["error"] is not None:
            trace = _ANSI.sub("", "\n".join(out["error"]["traceback"]))
            raise NotebookError(f"kernel code raised:\n{trace}")
        return dict(out)
