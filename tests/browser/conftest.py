"""Fixtures for the browser tier: one JupyterLab and one chromium per session, a context per test.

Fixtures:
    jupyter_env: Extra environment for the server and kernels (override to choose another).
    jupyter_server: The session's :class:`JupyterServer`; its ``root_dir`` takes notebooks.
    chromium: The session's Playwright ``Browser``.
    lab: A fresh :class:`Lab` (browser context) per test; kernels it opened die with it.
    module_lab: The same, shared by the tests of a module (open a notebook once, assert often).
    browser_output_dir: Where screenshots and logs go.
    browser_timings: The session's :class:`Timings`, printed at the end of the run.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import Browser, sync_playwright

from .lab import CHROMIUM, Lab, launch_chromium
from .server import JupyterServer
from .timings import Timings

REPO_ROOT = Path(__file__).resolve().parents[2]
_TIMINGS = pytest.StashKey[Timings]()
_FAILED = pytest.StashKey[bool]()


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``browser`` marker (harmless if pyproject.toml registers it too)."""
    config.addinivalue_line(
        "markers", "browser: real JupyterLab driven by Playwright and Debian's chromium"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Remembers whether a test's call failed, so ``lab`` can screenshot its pages."""
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    """Prints how long the browser tier's steps took."""
    timings = config.stash.get(_TIMINGS, None)
    if timings is not None and timings.entries:
        terminalreporter.write_sep("-", "browser timings")
        terminalreporter.write_line(timings.summary())


@pytest.fixture(scope="session")
def browser_output_dir() -> Path:
    """``$HPO_LAB_TEST_OUTPUT/browser``, by default ``<repo>/test-output/browser`` (gitignored)."""
    base = os.environ.get("HPO_LAB_TEST_OUTPUT") or str(REPO_ROOT / "test-output")
    path = Path(base) / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def browser_timings(request: pytest.FixtureRequest, browser_output_dir: Path) -> Iterator[Timings]:
    """The session's timings; also written to ``timings.json`` in the output dir."""
    timings = Timings()
    request.config.stash[_TIMINGS] = timings
    began = time.perf_counter()
    yield timings
    timings.add("browser tier total (fixtures + tests)", time.perf_counter() - began)
    timings.write_json(browser_output_dir / "timings.json")


@pytest.fixture(scope="session")
def jupyter_env() -> dict[str, str]:
    """Environment added to the server's: by default this checkout first on ``PYTHONPATH``."""
    paths = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {"PYTHONPATH": os.pathsep.join(paths)}


@pytest.fixture(scope="session")
def jupyter_server(
    tmp_path_factory: pytest.TempPathFactory,
    jupyter_env: dict[str, str],
    browser_output_dir: Path,
    browser_timings: Timings,
) -> Iterator[JupyterServer]:
    """A JupyterLab serving an empty temp dir; stopped (and checked for leftovers) at the end."""
    root = tmp_path_factory.mktemp("lab-root")
    state = tmp_path_factory.mktemp("lab-state")
    server = JupyterServer.start(
        root,
        state,
        env=jupyter_env,
        log_path=browser_output_dir / "jupyter-server.log",
        timings=browser_timings,
    )
    yield server
    with browser_timings.measure("server stop"):
        server.stop()


@pytest.fixture(scope="session")
def chromium(
    tmp_path_factory: pytest.TempPathFactory, browser_timings: Timings
) -> Iterator[Browser]:
    """Debian's headless chromium through Playwright (skips if it is not installed)."""
    if shutil.which(CHROMIUM) is None:
        pytest.skip(f"no chromium at {CHROMIUM}: apt-get install -y chromium")
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with sync_playwright() as playwright:
        with browser_timings.measure("browser start"):
            browser = launch_chromium(playwright, tmp_path_factory.mktemp("chromium-home"))
        started = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
        yield browser
        browser.close()
    psutil.wait_procs(started, timeout=10)
    left = [p.pid for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not left, f"chromium/Playwright processes outlived the browser: {left}"


@pytest.fixture
def lab(
    request: pytest.FixtureRequest,
    jupyter_server: JupyterServer,
    chromium: Browser,
    browser_output_dir: Path,
    browser_timings: Timings,
) -> Iterator[Lab]:
    """A fresh browser context; on failure its pages are screenshotted before it closes."""
    with Lab(jupyter_server, chromium, browser_output_dir, browser_timings) as session:
        yield session
        if request.node.stash.get(_FAILED, False):
            for index, notebook in enumerate(session.notebooks):
                notebook.screenshot(f"FAILED-{request.node.name}-{index}")


@pytest.fixture(scope="module")
def module_lab(
    jupyter_server: JupyterServer,
    chromium: Browser,
    browser_output_dir: Path,
    browser_timings: Timings,
) -> Iterator[Lab]:
    """A browser context shared by one module's tests, closed after its last test."""
    with Lab(jupyter_server, chromium, browser_output_dir, browser_timings) as session:
        yield session
