"""A throw-away JupyterLab server for browser tests: isolated state, token, clean shutdown.

Example:
    >>> with JupyterServer.start(tmp_dir, env={"PYTHONPATH": repo}) as server:  # doctest: +SKIP
    ...     server.write_notebook("demo.ipynb", ["print(1)"])
    ...     page.goto(server.lab_url("demo.ipynb"))
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import nbformat
import psutil

from .timings import Timings, logger

# Per-user settings written into the isolated settings dir (not into the venv): no news or update
# pop-ups over screenshots, no toasts, and every cell kept in the DOM so tests can find them.
LAB_USER_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

_STATE_DIRS = {
    "HOME": "home",
    "JUPYTER_CONFIG_DIR": "config",
    "JUPYTER_DATA_DIR": "data",
    "JUPYTER_RUNTIME_DIR": "runtime",
    "IPYTHONDIR": "ipython",
    "XDG_CONFIG_HOME": "xdg-config",
    "XDG_CACHE_HOME": "xdg-cache",
}


class ServerError(RuntimeError):
    """The server did not start, answered with an error, or left processes behind."""


def free_port() -> int:
    """Returns a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_notebook(cells: Iterable[str]) -> nbformat.NotebookNode:
    """Builds a notebook of code cells (Python 3 kernel) from their sources."""
    return nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in cells],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
    )


class JupyterServer:
    """A running ``jupyter lab`` on 127.0.0.1 with a random token and isolated per-user state.

    Use :meth:`start` (also a context manager). The root dir is a temp dir owned by the caller;
    tests copy or write notebooks there, never into the repository.

    Attributes:
        url: Base URL, e.g. ``http://127.0.0.1:45123``.
        token: The server's token.
        root_dir: The directory the server serves.
        env: The environment the server (and so every kernel) runs with.
    """

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        url: str,
        token: str,
        root_dir: Path,
        env: Mapping[str, str],
        log_path: Path,
    ) -> None:
        self.process = process
        self.url = url
        self.token = token
        self.root_dir = root_dir
        self.env = dict(env)
        self.log_path = log_path

    @classmethod
    def start(
        cls,
        root_dir: Path,
        state_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        log_path: Path | None = None,
        timeout: float = 60.0,
        timings: Timings | None = None,
    ) -> JupyterServer:
        """Starts ``jupyter lab`` and waits until ``/api/status`` answers.

        Args:
            root_dir: Directory to serve (notebooks go here).
            state_dir: Empty directory for HOME, Jupyter/IPython config, data, runtime and caches.
            env: Extra environment variables for the server and its kernels (e.g. ``PYTHONPATH``);
                they override the isolation variables if they name the same ones.
            python: Interpreter that runs the server; its kernelspec becomes the kernel.
            log_path: Where the server's output goes (default: ``state_dir / "server.log"``).
            timeout: Seconds to wait for ``/api/status``.
            timings: Records "server start" if given.

        Returns:
            The running server.

        Raises:
            ServerError: If it exits or does not answer within ``timeout``, or if its ``python3``
                kernel would not run ``python``.
        """
        began = time.perf_counter()
        server_env = _isolated_env(state_dir)
        server_env.update(env or {})
        settings_dir = Path(server_env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings"
        _write_user_settings(settings_dir)
        port, token = free_port(), secrets.token_hex(24)
        log_path = log_path or state_dir / "server.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            python,
            "-m",
            "jupyterlab",
            "--allow-root",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root_dir}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.extension_manager=readonly",
            f"--LabApp.user_settings_dir={settings_dir}",
            f"--LabApp.workspaces_dir={state_dir / 'workspaces'}",
        ]
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                command, env=server_env, stdout=log, stderr=subprocess.STDOUT, cwd=root_dir
            )
        server = cls(process, f"http://127.0.0.1:{port}", token, root_dir, server_env, log_path)
        try:
            server._wait_ready(timeout)
            server._check_kernelspec(python)
        except BaseException:
            server.stop()
            raise
        if timings is not None:
            timings.add("server start", time.perf_counter() - began)
        return server

    def __enter__(self) -> JupyterServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- REST -------------------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Any:
        """Calls the server's REST API with the token and returns the decoded JSON (or None).

        Args:
            method: HTTP method, e.g. ``"GET"`` or ``"DELETE"``.
            path: Path starting with ``/``, e.g. ``"/api/sessions"``.
            body: JSON-serialisable request body, if any.
            timeout: Seconds before the request fails.
        """
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"token {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read()[:500]
            raise ServerError(f"{method} {path} answered {error.code}: {detail!r}") from error
        return json.loads(payload) if payload else None

    def sessions(self) -> list[dict[str, Any]]:
        """The server's notebook sessions (``GET /api/sessions``)."""
        return list(self.api("GET", "/api/sessions"))

    def kernels(self) -> list[dict[str, Any]]:
        """The server's running kernels (``GET /api/kernels``)."""
        return list(self.api("GET", "/api/kernels"))

    def shutdown_kernels(self, paths: Iterable[str] | None = None) -> None:
        """Deletes sessions (and so their kernels), then any kernel left without a session.

        Args:
            paths: Only the sessions of these notebook paths (relative to the root dir); all
                sessions and kernels when None.
        """
        wanted = None if paths is None else set(paths)
        for session in self.sessions():
            if wanted is None or session.get("path") in wanted:
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30.0)
        if wanted is None:
            for kernel in self.kernels():
                self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30.0)

    # --- notebooks and URLs -----------------------------------------------------------------

    def write_notebook(self, name: str, cells: Iterable[str]) -> Path:
        """Writes a notebook of code cells into the root dir and returns its path."""
        path = self.root_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(make_notebook(cells), path)
        return path

    def copy_into(self, source: Path, name: str | None = None) -> Path:
        """Copies a notebook or a folder (e.g. the repo's ``notebooks/``) into the root dir."""
        target = self.root_dir / (name or source.name)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
        return target

    def lab_url(self, name: str) -> str:
        """URL that opens notebook ``name`` in a fresh workspace (``?reset``: no old kernels)."""
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    # --- shutdown ---------------------------------------------------------------------------

    def stop(self, timeout: float = 20.0) -> None:
        """Deletes all sessions and kernels, stops the server, and checks nothing is left.

        Raises:
            ServerError: If a kernel survived the REST calls or a process outlived the server
                (they are killed first, so nothing keeps running).
        """
        descendants = _descendants(self.process.pid)
        problems: list[str] = []
        if self.process.poll() is None:
            try:
                self.shutdown_kernels()
                if left := self.kernels():
                    problems.append(f"kernels still running after DELETE: {left}")
            except (ServerError, OSError) as error:
                problems.append(f"could not delete sessions/kernels: {error}")
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                problems.append(f"server pid {self.process.pid} ignored SIGTERM for {timeout} s")
                self.process.kill()
                self.process.wait(timeout)
        survivors = [p for p in descendants if _alive(p)]
        if survivors:
            problems.append(f"processes outlived the server: {[p.pid for p in survivors]}")
            for process in survivors:
                process.kill()
        if problems:
            raise ServerError("; ".join(problems))

    def log_tail(self, chars: int = 3000) -> str:
        """The last ``chars`` characters of the server's log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # --- internals --------------------------------------------------------------------------

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                self.api("GET", "/api/status", timeout=2.0)
                return
            except (ServerError, OSError):
                time.sleep(0.1)
        raise ServerError(f"jupyter lab did not answer within {timeout} s:\n{self.log_tail()}")

    def _check_kernelspec(self, python: str) -> None:
        specs = self.api("GET", "/api/kernelspecs")
        argv = specs["kernelspecs"]["python3"]["spec"]["argv"]
        # jupyter_client launches a bare "python" with the server's own interpreter.
        kernel_python = python if argv[0] in {"python", "python3"} else argv[0]
        if Path(kernel_python) != Path(python):
            raise ServerError(
                f"the python3 kernel would run {argv[0]!r}, expected {python!r}: a kernelspec "
                "outside the isolated data dir shadows the server's own"
            )
        logger.info("kernel python: %s", kernel_python)


def _isolated_env(state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "JPY_"))}
    for variable, name in _STATE_DIRS.items():
        path = state_dir / name
        path.mkdir(parents=True, exist_ok=True)
        env[variable] = str(path)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # quiets the debugger's frozen-modules warning
    return env


def _write_user_settings(settings_dir: Path) -> None:
    for plugin, settings in LAB_USER_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings, indent=1), encoding="utf-8")


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
