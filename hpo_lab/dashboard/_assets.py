"""Locate the dashboard's front-end files (ES modules and CSS, no build step).

A wheel carries them in ``hpo_lab/_static/`` (hatch maps the top-level ``widgets/`` folder there);
a source checkout has them in ``widgets/`` next to the ``hpo_lab`` package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def asset_path(name: str) -> Path:
    """Returns the path of front-end file ``name``, preferring the packaged copy.

    Args:
        name: File name inside ``widgets/``, e.g. ``"trial_table.js"``.

    Raises:
        FileNotFoundError: If neither ``hpo_lab/_static/<name>`` nor ``widgets/<name>`` exists.

    Example:
        >>> asset_path("trial_table.js").name
        'trial_table.js'
    """
    candidates = (_PACKAGE_DIR / "_static" / name, _PACKAGE_DIR.parent / "widgets" / name)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(path) for path in candidates)
    raise FileNotFoundError(
        f"front-end asset {name!r} not found (looked in {searched}); reinstall hpo_lab, or in a "
        "source checkout keep the top-level widgets/ folder next to hpo_lab/"
    )
