"""The trial an objective receives, and the controls that reach it while it runs."""

from hpo_lab.trial._controls import (
    Control,
    Mailbox,
    Pause,
    Prune,
    Resume,
    Stop,
    TrialPruned,
    TrialStopped,
)
from hpo_lab.trial._trial import Trial, TrialSettings
from hpo_lab.trial._values import check_step, convert_metrics, objective_values

__all__ = [
    "Control",
    "Mailbox",
    "Pause",
    "Prune",
    "Resume",
    "Stop",
    "Trial",
    "TrialPruned",
    "TrialSettings",
    "TrialStopped",
    "check_step",
    "convert_metrics",
    "objective_values",
]
