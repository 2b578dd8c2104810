"""`CheckpointStore`: trial checkpoints in an Optuna artifact store, indexed in our side tables.

Bytes go to any Optuna ``ArtifactStore`` (a folder by default; S3/GCS stores work for workers on
other machines); the index (study, trial, step, key, size, pinned) lives in the side tables.
Retention keeps each trial's last ``keep_last`` checkpoints plus every *pinned* one (what a fork
or a PBT member started from), so disk use is bounded by about
``keep_last x (checkpoint size) x (trials) + (pinned checkpoints)``.
"""

from __future__ import annotations

import io
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from optuna.artifacts import FileSystemArtifactStore
from optuna.artifacts.exceptions import ArtifactNotFound

from hpo_lab.checkpoints._safe import check_weights_only
from hpo_lab.storage import SideStore

_logger = logging.getLogger(__name__)


class FolderArtifactStore(FileSystemArtifactStore):
    """Optuna's file-system artifact store, creating sub-folders for keys as needed."""

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        self._get_filepath(artifact_id).parent.mkdir(parents=True, exist_ok=True)
        super().write(artifact_id, content_body)


@dataclass(frozen=True)
class CheckpointRef:
    """One stored checkpoint."""

    trial: int
    step: float
    key: str
    size: int
    time: float
    pinned: bool = False


def _safe_name(study: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in study) or "study"


class CheckpointStore:
    """Save, find, load and retain checkpoints of one study.

    Args:
        artifacts: where the bytes go (an Optuna artifact store).
        side: the side tables holding the index.
        study: the study's name.
        keep_last: how many recent checkpoints each trial keeps (pinned ones come on top).
    """

    def __init__(self, artifacts: Any, side: SideStore, study: str, keep_last: int = 3) -> None:
        if isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 1:
            raise ValueError(f"keep_checkpoints must be a positive integer, got {keep_last!r}")
        self.artifacts = artifacts
        self.side = side
        self.study = study
        self.keep_last = keep_last

    def save(self, trial: int, step: float, state: Any) -> CheckpointRef:
        """Store ``state`` as trial ``trial``'s checkpoint at ``step``; apply retention."""
        import torch

        check_weights_only(state)
        buf = io.BytesIO()
        torch.save(state, buf)
        size = buf.tell()
        buf.seek(0)
        step_txt = str(int(step)) if float(step).is_integer() else repr(float(step))
        key = f"{_safe_name(self.study)}/trial-{trial}/step-{step_txt}-{uuid.uuid4().hex[:8]}.pt"
        self.artifacts.write(key, buf)
        now = time.time()
        self.side.add_checkpoint(self.study, trial, step, key, size, when=now)
        self._retain(trial)
        return CheckpointRef(trial, float(step), key, size, now)

    def _retain(self, trial: int) -> None:
        rows = [r for r in self.side.list_checkpoints(self.study, trial) if not r["pinned"]]
        excess = rows[: max(0, len(rows) - self.keep_last)]
        for key in self.side.drop_checkpoints([r["key"] for r in excess]):
            try:
                self.artifacts.remove(key)
            except ArtifactNotFound:
                pass

    def list(self, trial: int | None = None) -> list[CheckpointRef]:
        """Checkpoints kept (of one trial, or all), oldest first."""
        return [
            CheckpointRef(r["trial"], r["step"], r["key"], r["size"], r["time"], r["pinned"])
            for r in self.side.list_checkpoints(self.study, trial)
        ]

    def find(self, trial: int, step: float | None = None) -> CheckpointRef:
        """Trial ``trial``'s checkpoint at ``step`` (the latest when None).

        Raises:
            LookupError: none (the message lists the steps that are kept).
        """
        refs = self.list(trial)
        if not refs:
            raise LookupError(
                f"trial {trial} has no checkpoint; call trial.save_checkpoint(state, step) in the "
                "objective to make trials forkable"
            )
        if step is None:
            return max(refs, key=lambda r: (r.step, r.time))
        matches = [r for r in refs if r.step == float(step)]
        if not matches:
            kept = sorted({int(r.step) if r.step.is_integer() else r.step for r in refs})
            raise LookupError(f"trial {trial} has no checkpoint at step {step}; kept steps: {kept}")
        return matches[-1]

    def pin(self, ref: CheckpointRef) -> None:
        """Keep ``ref`` whatever the retention.

        Raises:
            LookupError: it was removed meanwhile.
        """
        if not self.side.pin_checkpoint(ref.key):
            raise LookupError(f"checkpoint {ref.key} was removed before it could be kept")

    def load(self, key: str, map_location: Any = None) -> Any:
        """Read a checkpoint with ``torch.load(..., weights_only=True)``."""
        import torch

        try:
            with self.artifacts.open_reader(key) as f:
                data = f.read()
        except ArtifactNotFound:
            raise LookupError(f"checkpoint {key} is missing from the artifact store") from None
        return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)


def make_artifact_store(artifacts: Any, default_dir: str | None) -> Any:
    """An artifact store from ``Session(artifacts=...)``: a store object, a folder path, or None
    (the storage's artifact folder, else a temporary folder)."""
    if artifacts is None:
        if default_dir is None:
            import tempfile

            default_dir = tempfile.mkdtemp(prefix="hpo_lab-artifacts-")
            _logger.info("checkpoints go to the temporary folder %s", default_dir)
        artifacts = default_dir
    if isinstance(artifacts, (str, os.PathLike)):
        path = Path(artifacts).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return FolderArtifactStore(path)
    for method in ("write", "open_reader", "remove"):
        if not callable(getattr(artifacts, method, None)):
            raise TypeError(
                "artifacts must be a folder path or an Optuna artifact store (with write, "
                f"open_reader and remove), got {type(artifacts).__name__}"
            )
    return artifacts
