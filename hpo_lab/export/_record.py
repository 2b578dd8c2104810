"""`ExportRecord`: everything an export says about a trial, as plain data (what JSON and YAML
exports hold, and what the script and notebook are rendered from)."""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from optuna.distributions import distribution_to_json
from optuna.trial import FrozenTrial

from hpo_lab.export._capture import CapturedObjective
from hpo_lab.export._select import Choice

FORMAT = "hpo_lab.export/1"
#: The user attributes the fork feature writes on a trial started from another's checkpoint.
LINEAGE_ATTRS = ("parent", "fork_step", "checkpoint")


@dataclass(frozen=True)
class ExportRecord:
    """One exported trial.

    Attributes:
        session: the session's (study's) name.
        trial: the trial's number.
        state: its state (``COMPLETE``...).
        params: its parameters.
        distributions: each parameter's Optuna distribution, as Optuna's JSON (parsed).
        values: its objective values by objective name (None unless complete).
        directions: each objective's direction, by name.
        metric: the session's primary reported series.
        choice: how the trial was chosen: ``{"rule": ..., "description": ...}`` (and
            ``"weights"`` for a weighted rule).
        lineage: for a forked trial, one entry per fork back to a trial started from scratch:
            ``{"trial", "parent", "fork_step", "checkpoint"}`` (keys present as stored).
        objective: the captured objective (``CapturedObjective.to_json()``), or None.
        objective_note: why there is no objective, or a caveat about it; None if all is well.
        exported_at: ISO time of the export (UTC).
        versions: hpo_lab's and Optuna's versions.
    """

    session: str
    trial: int
    state: str
    params: dict[str, Any]
    distributions: dict[str, Any]
    values: dict[str, float] | None
    directions: dict[str, str]
    metric: str | None
    choice: dict[str, Any]
    lineage: list[dict[str, Any]] = field(default_factory=list)
    objective: dict[str, Any] | None = None
    objective_note: str | None = None
    exported_at: str = ""
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def captured(self) -> CapturedObjective | None:
        return None if self.objective is None else CapturedObjective.from_json(self.objective)

    @property
    def lineage_attrs(self) -> dict[str, Any]:
        """The trial's own lineage attributes (what its objective saw in ``user_attrs``)."""
        if not self.lineage:
            return {}
        return {k: v for k, v in self.lineage[0].items() if k != "trial"}

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: Any) -> ExportRecord:
        """Read an export back (``json.load`` or ``yaml.safe_load`` output).

        Raises:
            ValueError: ``data`` is not an hpo_lab export.
        """
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"not an hpo_lab export (format {FORMAT!r} expected, got {got!r})")
        body = {k: v for k, v in data.items() if k != "format"}
        try:
            return cls(**body)
        except TypeError as exc:
            raise ValueError(f"not an hpo_lab export: {exc}") from None


def build_record(
    study: Any,
    choice: Choice,
    *,
    names: list[str],
    metric: str | None,
    captured: CapturedObjective | None,
    objective_note: str | None,
) -> ExportRecord:
    """The record of ``choice.trial`` in ``study``."""
    import optuna

    from hpo_lab import __version__

    t = choice.trial
    directions = [d.name.lower() for d in study.directions]
    choice_data: dict[str, Any] = {"rule": choice.rule, "description": choice.description}
    if choice.weights is not None:
        choice_data["weights"] = choice.weights
    return ExportRecord(
        session=study.study_name,
        trial=t.number,
        state=t.state.name,
        params=dict(t.params),
        distributions={k: json.loads(distribution_to_json(d)) for k, d in t.distributions.items()},
        values=dict(zip(names, map(float, t.values))) if t.values is not None else None,
        directions=dict(zip(names, directions)),
        metric=metric,
        choice=choice_data,
        lineage=lineage(study, t),
        objective=captured.to_json() if captured is not None else None,
        objective_note=objective_note,
        exported_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        versions={"hpo_lab": __version__, "optuna": optuna.__version__},
    )


def lineage(study: Any, trial: FrozenTrial) -> list[dict[str, Any]]:
    """The forks that led to ``trial``: its own first, back to a trial without a parent."""
    by_number = {t.number: t for t in study.get_trials(deepcopy=False)}
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    t: FrozenTrial | None = trial
    while t is not None and t.number not in seen and "parent" in t.user_attrs:
        seen.add(t.number)
        entry = {"trial": t.number}
        entry.update({k: t.user_attrs[k] for k in LINEAGE_ATTRS if k in t.user_attrs})
        out.append(entry)
        parent = t.user_attrs["parent"]
        t = by_number.get(parent) if isinstance(parent, int) else None
    return out
