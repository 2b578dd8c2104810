"""Keeping storage locations and credentials out of exports.

An export is meant to be shared, so it never names where the study lives: the storage's URL,
its password, its files and folders are replaced wherever they appear (in captured source or
in a checkpoint path, say), and so is the password of any URL of the form
``scheme://user:password@host``.
"""

from __future__ import annotations

import os
import re
from typing import Any

_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@'\"]*):([^@\s/'\"]+)@")
STORAGE = "<storage>"
HIDDEN = "***"


def storage_secrets(spec: Any = None, raw: Any = None) -> dict[str, str]:
    """What to hide for a storage: ``{text: replacement}``.

    Args:
        spec: an ``hpo_lab.storage.StorageSpec``.
        raw: the ``storage=`` argument as the user gave it (a string or an Optuna storage).
    """
    found: dict[str, str] = {}

    def url(u: Any) -> None:
        if not isinstance(u, str) or not u:
            return
        found[u] = STORAGE
        try:
            import sqlalchemy as sa

            parsed = sa.make_url(u)
        except Exception:
            return
        if parsed.password:
            found[str(parsed.password)] = HIDDEN
        if parsed.get_backend_name() == "sqlite" and parsed.database:
            path(parsed.database)
        for form in (parsed.render_as_string(hide_password=False), str(parsed)):
            found[form] = STORAGE

    def path(p: Any) -> None:
        if isinstance(p, (str, os.PathLike)) and str(p) and str(p) not in (":memory:", "memory"):
            p = os.fspath(p)
            if os.sep in p or "/" in p:  # a bare name like "runs" would hit unrelated text
                found[p] = STORAGE
            found[os.path.abspath(p)] = STORAGE

    if spec is not None:
        url(getattr(spec, "url", None))
        url(getattr(spec, "side_url", None))
        journal = getattr(spec, "journal_path", None)
        path(journal)
        artifacts = getattr(spec, "artifact_dir", None)
        path(artifacts)
        own_folder = (  # a storage folder of its own: journal.log, hpo_lab.db, artifacts/
            journal
            and artifacts
            and os.path.dirname(artifacts) == os.path.dirname(journal)
            and os.path.basename(artifacts) == "artifacts"
        )
        if own_folder:
            path(os.path.dirname(journal))
        obj = getattr(spec, "storage_object", None)
        url(getattr(obj, "url", None) or getattr(getattr(obj, "_backend", None), "url", None))
    if isinstance(raw, str) and "://" in raw:
        url(raw)
    elif isinstance(raw, (str, os.PathLike)):
        path(raw)
    found.pop("sqlite://", None)  # an in-memory side store names nothing
    return {k: v for k, v in found.items() if len(k) >= 4}


def redact(text: str, secrets: dict[str, str]) -> tuple[str, list[str]]:
    """``text`` with every secret replaced; also what kinds of thing were replaced."""
    hits = []
    for secret in sorted(secrets, key=len, reverse=True):
        if secrets[secret] == HIDDEN:  # a password: whole tokens only, not inside words
            text, n = _token(secret).subn(HIDDEN, text)
            if n:
                hits.append("a password")
        elif secret in text:
            text = text.replace(secret, secrets[secret])
            hits.append("the storage location")
    if any(m.group(2) != HIDDEN for m in _URL_PASSWORD.finditer(text)):
        text = _URL_PASSWORD.sub(rf"\1:{HIDDEN}@", text)
        hits.append("a password in a URL")
    return text, sorted(set(hits))


def _token(secret: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(secret)}(?![A-Za-z0-9_])")


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """Secrets still in ``text`` (none, after :func:`redact`)."""
    found = [
        s for s, r in secrets.items() if (_token(s).search(text) if r == HIDDEN else s in text)
    ]
    return found + [m.group(0) for m in _URL_PASSWORD.finditer(text) if m.group(2) != HIDDEN]
