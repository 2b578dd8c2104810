"""Events: what happened in a session, streamed to storage, the dashboard and tests."""

from hpo_lab.events._bus import EventBus, Subscription
from hpo_lab.events._types import (
    CheckpointSaved,
    ControlApplied,
    Event,
    MetricsReported,
    ParamsSuggested,
    SessionStateChanged,
    TrialFinished,
    TrialStarted,
    TrialUnresponsive,
)

__all__ = [
    "CheckpointSaved",
    "ControlApplied",
    "Event",
    "EventBus",
    "MetricsReported",
    "ParamsSuggested",
    "SessionStateChanged",
    "Subscription",
    "TrialFinished",
    "TrialStarted",
    "TrialUnresponsive",
]
