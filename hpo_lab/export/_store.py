"""Keeping captured objectives with the study, so that an export works from storage alone (in
another process, from the command line).

Each capture is one study system attribute, ``hpo_lab:objective:<first trial>:<digest>``,
holding the captured source (or why capturing failed) and the number of the first trial that
ran with it. One attribute per version means no read-modify-write, so processes sharing a
study never overwrite each other; a start that captures the same source as the latest version
writes nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from hpo_lab.export._capture import CapturedObjective, CaptureError, capture_objective

OBJECTIVE_ATTR_PREFIX = "hpo_lab:objective:"


@dataclass(frozen=True)
class StoredObjective:
    """One stored version: the captured objective (or the reason there is none)."""

    from_trial: int
    digest: str
    captured_at: str
    captured: CapturedObjective | None
    error: str | None


def record_objective(study: Any, objective: Any) -> StoredObjective | None:
    """Capture ``objective`` and store it with ``study`` (an ``optuna.Study``).

    Never raises: a session must start even when its objective cannot be captured or the
    storage refuses the attribute; the reason is stored instead, or None is returned.
    """
    try:
        try:
            payload: dict[str, Any] = {"captured": capture_objective(objective).to_json()}
        except CaptureError as exc:
            payload = {"error": str(exc)}
        except Exception as exc:  # a bug or an odd object: never stop a session for it
            payload = {"error": f"capturing the objective failed: {type(exc).__name__}: {exc}"}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
        storage, study_id = study._storage, study._study_id
        versions = stored_objectives(storage, study_id)
        if versions and versions[-1].digest == digest:
            return versions[-1]
        from_trial = len(study.get_trials(deepcopy=False))
        payload["from_trial"] = from_trial
        payload["captured_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        key = f"{OBJECTIVE_ATTR_PREFIX}{from_trial:09d}:{digest}"
        storage.set_study_system_attr(study_id, key, payload)
        return _parse(key, payload)
    except Exception:
        return None


def stored_objectives(storage: Any, study_id: int) -> list[StoredObjective]:
    """Every stored version, oldest first."""
    attrs = storage.get_study_system_attrs(study_id)
    out = []
    for key in sorted(k for k in attrs if k.startswith(OBJECTIVE_ATTR_PREFIX)):
        try:
            out.append(_parse(key, attrs[key]))
        except (ValueError, TypeError, KeyError):
            continue  # written by another version of hpo_lab
    return out


def objective_for_trial(storage: Any, study_id: int, number: int) -> StoredObjective | None:
    """The version that trial ``number`` ran with: the latest captured before it started
    (the first version, if the trial is older than every capture)."""
    versions = stored_objectives(storage, study_id)
    if not versions:
        return None
    before = [v for v in versions if v.from_trial <= number]
    return before[-1] if before else versions[0]


def _parse(key: str, payload: dict[str, Any]) -> StoredObjective:
    digest = key.rsplit(":", 1)[1]
    captured = payload.get("captured")
    return StoredObjective(
        from_trial=int(payload["from_trial"]),
        digest=digest,
        captured_at=str(payload.get("captured_at", "")),
        captured=CapturedObjective.from_json(captured) if captured is not None else None,
        error=payload.get("error"),
    )
