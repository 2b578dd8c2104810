"""Checkpoints: what a trial saves so that it can be forked, and retention that bounds disk use."""

from hpo_lab.checkpoints._safe import check_weights_only
from hpo_lab.checkpoints._store import (
    CheckpointRef,
    CheckpointStore,
    FolderArtifactStore,
    make_artifact_store,
)

__all__ = [
    "CheckpointRef",
    "CheckpointStore",
    "FolderArtifactStore",
    "check_weights_only",
    "make_artifact_store",
]
