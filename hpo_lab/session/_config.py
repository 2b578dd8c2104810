"""Checking a session's settings, and keeping them with the study so ``Session.load`` can
restore them in a new kernel."""

from __future__ import annotations

import contextlib
import datetime
import inspect
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.study import StudyDirection

CONFIG_ATTR = "hpo_lab:config"


class SessionNotFoundError(LookupError):
    """``Session.load`` was asked for a session that is not in the storage."""


@dataclass
class SessionConfig:
    """What defines a session beyond Optuna's study: its metric and its objectives' names."""

    metric: str | None
    directions: list[StudyDirection]
    objective_names: list[str] | None
    sampler: str | None = None
    pruner: str | None = None

    @property
    def n_objectives(self) -> int:
        return len(self.directions)

    def to_json(self) -> dict[str, Any]:
        from hpo_lab import __version__

        return {
            "metric": self.metric,
            "objective_names": self.objective_names,
            "sampler": self.sampler,
            "pruner": self.pruner,
            "hpo_lab_version": __version__,
        }


def _direction(value: Any, what: str) -> StudyDirection:
    if isinstance(value, StudyDirection) and value != StudyDirection.NOT_SET:
        return value
    if isinstance(value, str) and value.strip().lower() in ("minimize", "maximize"):
        return StudyDirection[value.strip().upper()]
    raise ValueError(f"{what} must be 'minimize' or 'maximize', got {value!r}")


def parse_directions(
    direction: Any, directions: Any
) -> tuple[list[StudyDirection], list[str] | None]:
    """``direction=`` / ``directions=`` as a list of Optuna directions and optional names.

    ``directions`` may be a sequence (``["minimize", "maximize"]``) or a mapping of objective
    names to directions (``{"error": "minimize", "params": "minimize"}``); then the objective
    returns a dict with those keys.
    """
    if direction is not None and directions is not None:
        raise ValueError(
            "pass either direction= (one objective) or directions= (several), not both"
        )
    if directions is None:
        return [_direction("minimize" if direction is None else direction, "direction")], None
    if isinstance(directions, Mapping):
        if not directions:
            raise ValueError("directions must not be empty")
        names = list(directions)
        for n in names:
            if not isinstance(n, str) or not n:
                raise ValueError(
                    f"objective names in directions must be non-empty strings, got {n!r}"
                )
        return [_direction(v, f"directions[{k!r}]") for k, v in directions.items()], names
    if isinstance(directions, str) or not isinstance(directions, Sequence) or not directions:
        raise ValueError(
            "directions must be a non-empty list such as ['minimize', 'maximize'] or a dict "
            f"{{'name': 'minimize', ...}}; got {directions!r}"
        )
    return [_direction(v, f"directions[{i}]") for i, v in enumerate(directions)], None


def check_objective(objective: Any) -> Callable[..., Any] | None:
    """Raise a clear error if ``objective`` cannot be called as ``objective(trial)``."""
    if objective is None:
        return None
    if not callable(objective):
        raise TypeError(
            f"objective must be a callable taking a trial, e.g. def objective(trial): ...; "
            f"got {type(objective).__name__}: {objective!r}"
        )
    try:
        sig = inspect.signature(objective)
    except (TypeError, ValueError):  # builtins and some C callables have no signature
        return objective
    try:
        sig.bind(object())
    except TypeError:
        raise TypeError(
            f"objective must accept one argument (the trial); {objective!r} has signature {sig}"
        ) from None
    return objective


def check_name(name: Any) -> str:
    if name is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        import uuid

        return f"session-{stamp}-{uuid.uuid4().hex[:4]}"
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    return name


def check_positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be a positive integer, got {type(value).__name__}: {value!r}")
    if value <= 0:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


def find_study_id(storage: optuna.storages.BaseStorage, name: str) -> int | None:
    try:
        return storage.get_study_id_from_name(name)
    except KeyError:
        return None


def read_config(storage: optuna.storages.BaseStorage, study_id: int) -> dict[str, Any]:
    """The settings saved with a study (empty for a study made by plain Optuna)."""
    attrs = storage.get_study_system_attrs(study_id)
    return dict(attrs.get(CONFIG_ATTR) or {})


def open_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    config: SessionConfig,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
    *,
    check_against_stored: bool,
) -> optuna.Study:
    """Create the study ``name`` or load it, refusing to mix directions or metrics."""
    study_id = find_study_id(storage, name)
    if study_id is None:
        try:
            with _quiet_optuna():  # "A new study created ...": the session says what it made
                study = optuna.create_study(
                    storage=storage,
                    study_name=name,
                    directions=config.directions,
                    sampler=sampler,
                    pruner=pruner,
                )
        except optuna.exceptions.DuplicatedStudyError:  # another process made it just now
            return open_study(
                storage, name, config, sampler, pruner, check_against_stored=check_against_stored
            )
        storage.set_study_system_attr(study._study_id, CONFIG_ATTR, config.to_json())
        if config.objective_names:
            with warnings.catch_warnings():  # our call, not the user's: spare them the notice
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                study.set_metric_names(config.objective_names)
        return study
    if check_against_stored:
        stored = storage.get_study_directions(study_id)
        if list(stored) != list(config.directions):
            theirs = [d.name.lower() for d in stored]
            mine = [d.name.lower() for d in config.directions]
            raise ValueError(
                f"a session named {name!r} already exists with directions {theirs}, not {mine}"
                "; choose another name, or load it with hl.Session.load"
            )
        saved = read_config(storage, study_id)
        for key, mine in (("metric", config.metric), ("objective_names", config.objective_names)):
            if saved.get(key) is not None and mine is not None and saved[key] != mine:
                raise ValueError(
                    f"a session named {name!r} already exists with {key}={saved[key]!r}, not "
                    f"{mine!r}; choose another name, or load it with hl.Session.load"
                )
    if not read_config(storage, study_id):  # a study made by plain Optuna: adopt it
        storage.set_study_system_attr(study_id, CONFIG_ATTR, config.to_json())
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Optuna's INFO messages off for the block (its verbosity is restored after)."""
    before = optuna.logging.get_verbosity()
    if before > optuna.logging.INFO:
        yield
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(before)
