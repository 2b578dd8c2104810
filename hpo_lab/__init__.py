"""hpo_lab: interactive, visual hyperparameter optimization in JupyterLab.

Example:
    >>> import hpo_lab as hl
    >>> def objective(trial):
    ...     x = trial.suggest_float("x", -10, 10)
    ...     trial.report(0, loss=(x - 2) ** 2)
    ...     return (x - 2) ** 2
    >>> session = hl.Session(objective, storage=":memory:", progress=False)
    >>> session.start(n_trials=3).wait()
    True
"""

from hpo_lab.events import (
    ControlApplied,
    Event,
    MetricsReported,
    ParamsSuggested,
    SessionStateChanged,
    TrialFinished,
    TrialStarted,
)
from hpo_lab.export import FixedTrial
from hpo_lab.schedulers import PBT
from hpo_lab.session import Session, SessionNotFoundError, delete_session, list_sessions
from hpo_lab.trial import Trial, TrialPruned, TrialStopped

__version__ = "0.1.0"


def __getattr__(name: str):  # hl.hypergrad without importing torch at ``import hpo_lab``
    if name == "hypergrad":
        import importlib

        return importlib.import_module("hpo_lab.hypergrad")
    raise AttributeError(f"module 'hpo_lab' has no attribute {name!r}")


__all__ = [
    "PBT",
    "ControlApplied",
    "Event",
    "FixedTrial",
    "MetricsReported",
    "ParamsSuggested",
    "Session",
    "SessionNotFoundError",
    "SessionStateChanged",
    "Trial",
    "TrialFinished",
    "TrialPruned",
    "TrialStarted",
    "TrialStopped",
    "__version__",
    "delete_session",
    "list_sessions",
]
