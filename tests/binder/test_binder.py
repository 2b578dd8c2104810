"""The Binder environment: its pins agree with constraints.txt and cover every dependency, and
(slow) a fresh virtual environment built from binder/ the way Binder builds it runs the
quickstart notebook.

mybinder.org runs ``pip install -r binder/requirements.txt`` then ``binder/postBuild``. The
slow test does the same in a new virtual environment, with one difference where the network
demands it: when download.pytorch.org cannot be reached (as on an offline test machine) the
``--extra-index-url`` line is dropped, and ``torch==2.13.0+cpu`` comes from the wheel folder
pip is configured with; everything else is installed exactly as pinned.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
BADGE = "https://mybinder.org/v2/gh/hpo-lab/hpo_lab/HEAD?labpath=notebooks%2Fquickstart.ipynb"


def pins(path: Path) -> dict[str, str]:
    """``{normalised name: version}`` of the ``name==version`` lines of a requirements file."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, sep, version = line.partition("==")
            assert sep, f"{path.name}: {line!r} is not pinned with =="
            out[re.sub(r"[-_.]+", "-", name).lower()] = version
    return out


def test_pins_agree_with_constraints_and_cover_the_dependencies() -> None:
    binder = pins(BINDER / "requirements.txt")
    constraints = pins(REPO / "constraints.txt")
    for name, version in binder.items():
        assert name in constraints, f"{name} is pinned for Binder but not in constraints.txt"
        public = version.split("+", 1)[0]  # torch's "+cpu" build of the same release
        assert public == constraints[name], (
            f"{name}: Binder {version}, constraints {constraints[name]}"
        )
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for dep in project["dependencies"]:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0]).lower()
        assert name in binder, f"dependency {name} is not pinned in binder/requirements.txt"
    assert "ipykernel" in binder  # the notebook's kernel
    assert binder["torch"].endswith("+cpu")
    assert f"--extra-index-url {CPU_INDEX}" in (BINDER / "requirements.txt").read_text()
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime)
    minimum = project["requires-python"].removeprefix(">=")
    assert tuple(map(int, runtime[7:].split("."))) >= tuple(map(int, minimum.split(".")))


def test_post_build_installs_the_package_without_resolving_again() -> None:
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    text = post_build.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "pip install --no-deps ." in text


def test_readme_has_the_launch_badge() -> None:
    readme = (REPO / "README.md").read_text()
    assert f"[![Binder](https://mybinder.org/badge_logo.svg)]({BADGE})" in readme


def reachable(host: str, timeout: float = 3.0) -> bool:
    """Whether ``host``:443 answers within ``timeout`` seconds (DNS included)."""
    result: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, 443), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    t.join(timeout + 1)
    return bool(result and result[0])


def interpreter() -> str:
    """The Python that Binder would use (binder/runtime.txt), if installed; else this one."""
    wanted = (BINDER / "runtime.txt").read_text().strip().removeprefix("python-")
    if f"{sys.version_info.major}.{sys.version_info.minor}" == wanted:
        return sys.executable
    return shutil.which(f"python{wanted}") or sys.executable


def run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float) -> str:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return proc.stdout


RUN_NOTEBOOK = """
import sys, nbformat, nbclient
nb = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
for cell in nb.cells:
    for out in cell.get("outputs", []):
        if out.get("name") == "stdout":
            print(out["text"], end="")
"""


@pytest.mark.slow
@pytest.mark.binder
@pytest.mark.timeout(900)
def test_fresh_binder_environment_runs_the_quickstart(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["HPO_LAB_DIR"] = str(tmp_path / "hpo_lab_dir")
    env["PIP_NO_COMPILE"] = "1"  # byte-compiling would triple the install time; no effect on use
    env["PIP_DEFAULT_TIMEOUT"] = "30"  # an unreachable index fails in seconds, not minutes
    requirements = (BINDER / "requirements.txt").read_text()
    if not reachable("download.pytorch.org"):
        requirements = requirements.replace(f"--extra-index-url {CPU_INDEX}", "")
    (tmp_path / "requirements.txt").write_text(requirements)
    timings = {}
    try:
        start = time.monotonic()
        # This pip installs into the new environment (--python): no ensurepip step, and the
        # same pip configuration. pip itself is installed too, for postBuild.
        run([interpreter(), "-m", "venv", "--without-pip", str(venv)], env, tmp_path, 120)
        python = str(venv / "bin" / "python")
        install = [sys.executable, "-m", "pip", "--python", python, "install", "-q"]
        run([*install, "-r", "requirements.txt", "pip"], env, tmp_path, 600)
        timings["install requirements"] = time.monotonic() - start
        start = time.monotonic()
        run(["bash", str(BINDER / "postBuild")], env, tmp_path, 300)
        timings["postBuild"] = time.monotonic() - start
        start = time.monotonic()
        shutil.copy(REPO / "notebooks" / "quickstart.ipynb", tmp_path)
        (tmp_path / "run_notebook.py").write_text(RUN_NOTEBOOK)
        out = run([python, "run_notebook.py", "quickstart.ipynb"], env, tmp_path, 400)
        timings["quickstart"] = time.monotonic() - start
        where = run([python, "-c", "import hpo_lab; print(hpo_lab.__file__)"], env, tmp_path, 60)
    finally:
        # 1.5 GB that pytest would keep (it keeps the last runs' tmp folders); deleting that
        # many files takes half a minute here, so it happens in the background.
        subprocess.Popen(["rm", "-rf", str(venv)], start_new_session=True)
    assert "training and" in out and "best val_loss" in out, out
    assert str(venv) in where  # the installed package, not this checkout
    print("binder environment:", ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))
