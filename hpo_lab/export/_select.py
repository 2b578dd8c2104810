"""Which trial to export: the best one, a given one, or one chosen from the Pareto front by a
stated rule."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from optuna.trial import FrozenTrial, TrialState

from hpo_lab.analysis import IncrementalFront


@dataclass(frozen=True)
class Choice:
    """The exported trial and how it was chosen.

    Attributes:
        trial: the trial.
        rule: ``"best"``, ``"number"``, ``"knee"``, ``"best:<objective>"`` or ``"weights"``.
        description: the rule in words, for the export's header.
        weights: the weights of a weighted (or knee) choice, by objective name.
    """

    trial: FrozenTrial
    rule: str
    description: str
    weights: dict[str, float] | None = None


def choose_trial(study: Any, trial: Any = None, *, names: Sequence[str] | None = None) -> Choice:
    """Pick the trial to export.

    Args:
        study: an ``optuna.Study``.
        trial: None or ``"best"`` (the best trial; with several objectives, there is none: the
            error lists the Pareto front), a trial number or ``FrozenTrial``, or — with several
            objectives — a rule over the Pareto front: ``"knee"`` (equal weights, see below),
            ``"best:<objective>"`` (the front's best on that objective, by name or index), or
            weights ``{"error": 2, "params": 1}`` (or a list, one per objective): the front
            point with the smallest weighted sum of objectives, each scaled to [0, 1] over the
            front (0 the best). With two objectives, equal weights pick the point farthest from
            the line through the front's two extremes: the knee.
        names: the objectives' names (default: the study's metric names, or ``values_<i>``).

    Raises:
        ValueError: no such trial, no complete trial yet, a rule that does not apply, or
            several objectives and no rule (the message lists the front).
    """
    directions = [d.name.lower() for d in study.directions]
    default = ["value"] if len(directions) == 1 else [f"values_{i}" for i in range(len(directions))]
    names = list(names or study.metric_names or default)
    if isinstance(trial, FrozenTrial):
        return Choice(trial, "number", f"trial {trial.number}, given by number")
    if isinstance(trial, (int, np.integer)) and not isinstance(trial, bool):
        return Choice(_by_number(study, int(trial)), "number", f"trial {trial}, given by number")
    if trial is None or trial == "best":
        if len(directions) == 1:
            return _best(study, names[0], directions[0])
        raise ValueError(_front_message(study, directions, names))
    if len(directions) == 1:
        raise ValueError(
            f"trial={trial!r} chooses from a Pareto front, but this session has one objective; "
            "pass trial=None for the best trial, or a trial number"
        )
    if isinstance(trial, str) and trial.startswith("best:"):
        return _best_on(study, directions, names, trial[len("best:") :])
    if trial == "knee":
        return _weighted(study, directions, names, [1.0] * len(directions), "knee")
    if isinstance(trial, Mapping) or (isinstance(trial, Sequence) and not isinstance(trial, str)):
        return _weighted(study, directions, names, _weights(trial, names), "weights")
    raise ValueError(
        f"trial must be None, a trial number, 'knee', 'best:<objective>' or weights such as "
        f"{{{names[0]!r}: 1, {names[1]!r}: 1}}; got {trial!r}"
    )


def _by_number(study: Any, number: int) -> FrozenTrial:
    trials = study.get_trials(deepcopy=False)
    found = [t for t in trials if t.number == number]
    if not found:
        raise ValueError(f"trial={number}: no such trial (the study has {len(trials)} trials)")
    t = found[0]
    if not t.params:
        raise ValueError(f"trial={number} has no parameters ({t.state.name}): nothing to export")
    return t


def _best(study: Any, name: str, direction: str) -> Choice:
    try:
        best = study.best_trial
    except ValueError:
        raise ValueError("no complete trial yet: there is no best trial to export") from None
    return Choice(best, "best", f"the best trial ({direction} {name}: {best.value:.6g})")


def _front(study: Any, directions: list[str], names: list[str]) -> IncrementalFront:
    front = IncrementalFront.from_trials(
        study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), directions, names=names
    )
    if not front.front:
        raise ValueError("no complete (feasible) trial yet: the Pareto front is empty")
    return front


def _front_message(study: Any, directions: list[str], names: list[str]) -> str:
    front = _front(study, directions, names)
    rows = []
    for n in front.front[:20]:
        vals = ", ".join(f"{k}={v:.6g}" for k, v in zip(names, front.values(n)))
        rows.append(f"  trial={n}: {vals}")
    more = f"\n  ... and {len(front.front) - 20} more" if len(front.front) > 20 else ""
    objectives = ", ".join(f"{n} ({d})" for n, d in zip(names, directions))
    return (
        f"this session has {len(names)} objectives ({objectives}), so there is no single best "
        f"trial; choose one from the Pareto front ({len(front.front)} trials):\n"
        + "\n".join(rows)
        + more
        + f"\nor name a rule: trial='knee', trial='best:{names[0]}', or weights such as "
        f"trial={{{names[0]!r}: 2, {names[1]!r}: 1}}"
    )


def _objective_index(key: str, names: list[str]) -> int:
    if key in names:
        return names.index(key)
    if key.isdigit() and int(key) < len(names):
        return int(key)
    raise ValueError(f"trial='best:{key}': no objective {key!r}; the objectives are {names}")


def _normalised(front: IncrementalFront, directions: list[str]) -> tuple[list[int], np.ndarray]:
    numbers = list(front.front)
    sign = np.array([1.0 if d == "minimize" else -1.0 for d in directions])
    vals = np.array([front.values(n) for n in numbers]) * sign
    lo, hi = vals.min(axis=0), vals.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return numbers, (vals - lo) / span


def _best_on(study: Any, directions: list[str], names: list[str], key: str) -> Choice:
    k = _objective_index(key, names)
    front = _front(study, directions, names)
    numbers, norm = _normalised(front, directions)
    # The best on objective k; ties broken by the others (scaled, summed), then by number.
    order = min(range(len(numbers)), key=lambda i: (norm[i, k], norm[i].sum(), numbers[i]))
    chosen = _by_number(study, numbers[order])
    return Choice(
        chosen,
        f"best:{names[k]}",
        f"the Pareto-front trial with the best {names[k]} ({directions[k]}), out of "
        f"{len(numbers)} front trials",
    )


def _weights(spec: Any, names: list[str]) -> list[float]:
    if isinstance(spec, Mapping):
        unknown = [k for k in spec if k not in names]
        if unknown:
            raise ValueError(f"trial weights name unknown objectives {unknown}; they are {names}")
        raw = [spec.get(n, 0.0) for n in names]
    else:
        if len(spec) != len(names):
            raise ValueError(
                f"trial weights must have {len(names)} values (one per objective: {names}), "
                f"got {list(spec)!r}"
            )
        raw = list(spec)
    out = []
    for n, w in zip(names, raw):
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not np.isfinite(w) or w < 0:
            raise ValueError(f"the weight of {n!r} must be a finite number >= 0, got {w!r}")
        out.append(float(w))
    if sum(out) == 0:
        raise ValueError(f"trial weights must not all be zero, got {dict(zip(names, out))}")
    return out


def _weighted(
    study: Any, directions: list[str], names: list[str], weights: list[float], rule: str
) -> Choice:
    front = _front(study, directions, names)
    numbers, norm = _normalised(front, directions)
    w = np.array(weights) / sum(weights)
    scores = norm @ w
    i = min(range(len(numbers)), key=lambda i: (scores[i], numbers[i]))
    chosen = _by_number(study, numbers[i])
    wdict = dict(zip(names, (float(x) for x in weights)))
    if rule == "knee":
        text = (
            f"the knee of the Pareto front ({len(numbers)} trials): the smallest sum of the "
            "objectives, each scaled to [0, 1] over the front"
        )
    else:
        shown = ", ".join(f"{n}: {x:g}" for n, x in wdict.items())
        text = (
            f"the Pareto-front trial ({len(numbers)} trials) with the smallest weighted sum "
            f"({shown}) of the objectives, each scaled to [0, 1] over the front"
        )
    return Choice(chosen, rule, text, wdict)
