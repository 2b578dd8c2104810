"""Listing and deleting sessions in a storage."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from hpo_lab.session._config import find_study_id, read_config
from hpo_lab.storage import resolve_storage


def list_sessions(storage: Any = None) -> pd.DataFrame:
    """The sessions (studies) in ``storage``: name, directions, metric, trials, best value.

    Example:
        >>> import hpo_lab as hl
        >>> hl.list_sessions(":memory:").empty
        True
    """
    spec = resolve_storage(storage)
    ostorage = spec.open_optuna()
    rows = []
    for s in ostorage.get_all_studies():
        trials = ostorage.get_all_trials(s._study_id, deepcopy=False)
        cfg = read_config(ostorage, s._study_id)
        best = None
        if len(s.directions) == 1:
            done = [t.value for t in trials if t.state.name == "COMPLETE"]
            if done:
                best = (max if s.directions[0].name == "MAXIMIZE" else min)(done)
        rows.append(
            {
                "name": s.study_name,
                "directions": [d.name.lower() for d in s.directions],
                "metric": cfg.get("metric"),
                "n_trials": len(trials),
                "best_value": best,
                "hpo_lab": bool(cfg),
            }
        )
    return pd.DataFrame(
        rows, columns=["name", "directions", "metric", "n_trials", "best_value", "hpo_lab"]
    )


def delete_session(name: str, storage: Any = None, *, missing_ok: bool = False) -> None:
    """Delete session ``name``: its study, its metric series, action log and checkpoints.

    Raises:
        KeyError: no such session (unless ``missing_ok``).
    """
    spec = resolve_storage(storage)
    ostorage = spec.open_optuna()
    if find_study_id(ostorage, name) is None:
        if missing_ok:
            return
        raise KeyError(f"no session named {name!r} in {spec.describe()}")
    optuna.delete_study(study_name=name, storage=ostorage)
    store = spec.open_side()
    try:
        store.delete_study(name)
    finally:
        store.close()
    if spec.artifact_dir:
        folder = Path(spec.artifact_dir) / name
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
