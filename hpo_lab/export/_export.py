"""Exporting a trial of a study to a file: choose it, gather its record, hide the storage,
render, write."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from hpo_lab.export._capture import CapturedObjective, CaptureError, capture_objective
from hpo_lab.export._record import ExportRecord, build_record
from hpo_lab.export._redact import leaks, redact
from hpo_lab.export._render import FORMATS, render
from hpo_lab.export._select import choose_trial
from hpo_lab.export._store import objective_for_trial

_SUFFIXES = {
    ".py": "script",
    ".ipynb": "notebook",
    ".json": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
}


def resolve_target(path: Any, format: Any) -> tuple[Path, str]:
    """The file and format to write: each may be inferred from the other (default: a script,
    ``best.py``).

    Raises:
        ValueError: an unknown format, or a path whose suffix names another format.
    """
    if format is not None and format not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {format!r}")
    if path is None:
        format = format or "script"
        return Path("best" + FORMATS[format]), format
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise TypeError(f"path must be a file path (str or Path), got {path!r}")
    path = Path(path)
    implied = _SUFFIXES.get(path.suffix.lower())
    if format is None:
        if implied is None:
            raise ValueError(
                f"path={str(path)!r}: cannot tell the format from its suffix; pass format= "
                f"(one of {sorted(FORMATS)}) or use a suffix among {sorted(_SUFFIXES)}"
            )
        return path, implied
    if implied is not None and implied != format:
        raise ValueError(
            f"path={str(path)!r} names a {implied} file but format={format!r}; use "
            f"path={str(path.with_suffix(FORMATS[format]))!r} or format={implied!r}"
        )
    return path, format


def export_study(
    study: Any,
    trial: Any = None,
    path: Any = None,
    format: str | None = None,
    *,
    metric: str | None = None,
    objective_names: Sequence[str] | None = None,
    secrets: dict[str, str] | None = None,
    live_objective: Callable[..., Any] | None = None,
) -> Path:
    """Export one trial of ``study`` (an ``optuna.Study``) to ``path``; return the path.

    See :meth:`hpo_lab.Session.export` for ``trial``, ``path`` and ``format``.

    Args:
        metric: the session's primary series (recorded in the export).
        objective_names: the objectives' names (default: the study's metric names).
        secrets: storage locations and passwords to keep out of the file
            (:func:`~hpo_lab.export._redact.storage_secrets`).
        live_objective: the objective in this process, captured now if the study holds none.
    """
    target, fmt = resolve_target(path, format)
    n = len(study.directions)
    default = ["value"] if n == 1 else [f"values_{i}" for i in range(n)]
    names = list(objective_names or study.metric_names or default)
    choice = choose_trial(study, trial, names=names)
    captured, note = _objective(study, choice.trial.number, live_objective)
    record = build_record(
        study, choice, names=names, metric=metric, captured=captured, objective_note=note
    )
    record, hidden = _redact_record(record, secrets or {})
    text = render(record, fmt)
    remaining = leaks(text, secrets or {})
    if remaining:  # never expected: every string was redacted before rendering
        raise RuntimeError("the export would reveal the storage location; nothing was written")
    if hidden:
        warnings.warn(
            f"the export of trial {record.trial} hides {' and '.join(hidden)} (replaced by "
            "<storage> or ***); edit the file if the objective needs them",
            stacklevel=4,  # the caller of Session.export
        )
    if fmt in ("script", "notebook") and captured is not None and captured.missing:
        warnings.warn(
            f"the exported {fmt} needs names hpo_lab could not recreate: "
            + ", ".join(f"{k} ({why})" for k, why in captured.missing.items()),
            stacklevel=4,  # the caller of Session.export
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def _objective(
    study: Any, number: int, live: Callable[..., Any] | None
) -> tuple[CapturedObjective | None, str | None]:
    stored = objective_for_trial(study._storage, study._study_id, number)
    if stored is not None:
        if stored.captured is None:
            return None, f"the objective could not be captured as source ({stored.error})"
        note = None
        if stored.from_trial > number:
            note = (
                f"this source was captured when trial {stored.from_trial} started, after this "
                "trial ran; it may differ from the code this trial ran"
            )
        return stored.captured, note
    if live is not None:
        try:
            captured = capture_objective(live)
        except CaptureError as exc:
            return None, f"the objective cannot be captured as source ({exc})"
        return captured, (
            "no source was stored with the study; this is the session's objective as it is now"
        )
    return None, (
        "no objective source is stored with this study (it was not run by an hpo_lab session "
        "that captures it)"
    )


def _redact_record(record: ExportRecord, secrets: dict[str, str]) -> tuple[ExportRecord, list]:
    hits: set[str] = set()

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            text, found = redact(value, secrets)
            hits.update(found)
            return text
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(clean(v) for v in value)
        return value

    changes = {f.name: clean(getattr(record, f.name)) for f in fields(record)}
    return replace(record, **changes), sorted(hits)


def load_export(path: str | os.PathLike[str]) -> ExportRecord:
    """Read a JSON or YAML export back.

    Example:
        >>> import pathlib, tempfile
        >>> import hpo_lab as hl
        >>> s = hl.Session(lambda t: t.suggest_float("x", 0, 1), storage=":memory:",
        ...                progress=False)
        >>> s.start(n_trials=2).wait()
        True
        >>> record = load_export(s.export(path=pathlib.Path(tempfile.mkdtemp()) / "b.json"))
        >>> record.params == s.best_params
        True
        >>> hl.FixedTrial.from_export(record).number == s.best_trial.number
        True

    Raises:
        ValueError: the file is not an hpo_lab export.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        import json

        data = json.loads(text)
    return ExportRecord.from_json(data)


def export_session(
    session: Any, trial: Any = None, path: Any = None, format: str | None = None
) -> Path:
    """:meth:`hpo_lab.Session.export`: export a trial of a live session."""
    from hpo_lab.export._redact import storage_secrets

    return export_study(
        session.study,
        trial,
        path,
        format,
        metric=session.metric,
        objective_names=session.objective_names,
        secrets=storage_secrets(session.storage),
        live_objective=session._objective,
    )


def export_from_storage(
    name: str,
    storage: Any = None,
    trial: Any = None,
    path: Any = None,
    format: str | None = None,
) -> Path:
    """Export a trial of session ``name`` from its storage alone (no objective needed: the
    source stored when the session started is used), e.g. in another process.

    Raises:
        hpo_lab.SessionNotFoundError: no session of that name in ``storage``.
    """
    import optuna

    from hpo_lab.export._redact import storage_secrets
    from hpo_lab.session._config import SessionNotFoundError, find_study_id, read_config
    from hpo_lab.storage import resolve_storage

    spec = resolve_storage(storage)
    ostorage = spec.open_optuna()
    study_id = find_study_id(ostorage, name)
    if study_id is None:
        existing = sorted(s.study_name for s in ostorage.get_all_studies())
        shown = ", ".join(repr(n) for n in existing[:20]) or "none"
        raise SessionNotFoundError(
            f"no session named {name!r} in {spec.describe()}; sessions there: {shown}"
        )
    config = read_config(ostorage, study_id)
    study = optuna.load_study(study_name=name, storage=ostorage)
    return export_study(
        study,
        trial,
        path,
        format,
        metric=config.get("metric"),
        objective_names=config.get("objective_names"),
        secrets=storage_secrets(spec, raw=storage),
    )
