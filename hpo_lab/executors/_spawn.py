"""`WorkerProcess`: a fresh Python interpreter running one function, with a pipe to it.

This is multiprocessing's *spawn* start method (a new interpreter, never ``fork``: safe with CUDA
and threads) without its one habit a worker must not have: re-running the notebook's or the
script's ``__main__`` in the child, which makes an unguarded script start a second search inside
each worker. A worker needs nothing from ``__main__``: what it runs arrives pickled by value.
The environment (``CUDA_VISIBLE_DEVICES``...) is set before the interpreter starts; the parent's
``sys.path`` is the child's, as with spawn.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import hpo_lab

_BOOT = "from hpo_lab.executors._spawn import _child; _child()"


class WorkerProcess:
    """Start ``module.function(conn, *args)`` in a new interpreter.

    Args:
        target: ``"package.module:function"``; the function receives the child's end of the
            pipe (a ``multiprocessing.connection.Connection``) and ``args``.
        args: picklable arguments.
        env: environment variables set in the child on top of this process's.

    Attributes:
        conn: this end of the pipe.
        sentinel: a file descriptor that becomes readable when the process has ended (for
            ``multiprocessing.connection.wait``).
    """

    def __init__(self, target: str, args: tuple[Any, ...], env: dict[str, str]) -> None:
        parent, child = socket.socketpair()
        root = str(Path(hpo_lab.__file__).resolve().parents[1])  # so the child finds hpo_lab
        full_env = {**os.environ, **env}
        full_env["PYTHONPATH"] = os.pathsep.join(
            [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        )
        pidfd = hasattr(os, "pidfd_open")
        # Without pidfds (macOS), a pipe whose write end only the child holds marks its end.
        r, w = (None, None) if pidfd else os.pipe()
        fds = (child.fileno(),) if w is None else (child.fileno(), w)
        with child:
            self._popen = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(child.fileno())],
                pass_fds=fds,
                env=full_env,
                stdin=subprocess.DEVNULL,
            )
        if w is not None:
            os.close(w)
        self.conn = Connection(parent.detach())
        self.pid = self._popen.pid
        self.sentinel: int = os.pidfd_open(self.pid) if r is None else r
        self.conn.send((sys.path, target, args))

    @property
    def exitcode(self) -> int | None:
        """None while it runs; its exit status (minus the signal number if killed) after."""
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def join(self, timeout: float | None = None) -> None:
        """Wait for the process to end (at most ``timeout`` seconds)."""
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def terminate(self) -> None:
        self._popen.terminate()

    def kill(self) -> None:
        self._popen.kill()

    def close(self) -> None:
        """Release the pipe and the sentinel (the process has ended)."""
        self.conn.close()
        os.close(self.sentinel)


def _child() -> None:
    """The child's side: take ``sys.path``, the target and its arguments, and run it."""
    import importlib

    conn = Connection(int(sys.argv[1]))
    path, target, args = conn.recv()
    sys.path[:] = path
    module, _, name = target.partition(":")
    fn = getattr(importlib.import_module(module), name)
    fn(conn, *args)
