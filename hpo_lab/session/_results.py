"""What a search found: its state, trials, best trial, series, action log, exports and
summaries. `Session` inherits these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from optuna.trial import FrozenTrial

from hpo_lab.session import _summary
from hpo_lab.storage import StorageSpec

if TYPE_CHECKING:
    pass


class ResultsMixin:
    """Reading a session's results (see :class:`Session`)."""

    _driver: Any
    _config: Any
    _spec: Any
    name: str
    store: Any
    study: Any

    @property
    def state(self) -> str:
        """``idle``, ``running``, ``paused``, ``stopping``, ``finished`` or ``stopped``."""
        return self._driver.state

    @property
    def metric(self) -> str | None:
        """The primary reported series."""
        return self._config.metric

    @property
    def directions(self) -> list[str]:
        return [d.name.lower() for d in self._config.directions]

    @property
    def objective_names(self) -> list[str] | None:
        return self._config.objective_names

    @property
    def n_workers(self) -> int:
        return self._driver.n_workers

    @property
    def devices(self) -> list[str]:
        return list(self._devices)

    @property
    def storage(self) -> StorageSpec:
        """Where this session's records live."""
        return self._spec

    @property
    def running(self) -> list[int]:
        """Numbers of the trials running now."""
        return sorted(self._driver.running())

    @property
    def trials(self) -> list[FrozenTrial]:
        """All trials (Optuna's FrozenTrial objects), in order."""
        return self.study.get_trials(deepcopy=False)

    @property
    def best_trial(self) -> FrozenTrial:
        """The best complete trial (one objective).

        Raises:
            ValueError: no trial has completed yet, or the session has several objectives.
        """
        if self._config.n_objectives > 1:
            raise ValueError(
                f"session {self.name!r} has {self._config.n_objectives} objectives: there is no "
                "single best trial; use best_trials (the Pareto front)"
            )
        try:
            return self.study.best_trial
        except ValueError:
            raise ValueError(f"session {self.name!r} has no complete trial yet") from None

    @property
    def best_value(self) -> float:
        return float(self.best_trial.value)

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The Pareto-optimal complete trials (the best trial, for one objective)."""
        return self.study.best_trials

    def trials_dataframe(self, **kwargs: Any) -> pd.DataFrame:
        """Optuna's ``trials_dataframe`` plus ``last_step``: the last step each trial reported."""
        return _summary.trials_dataframe(self, **kwargs)

    def metrics(
        self,
        trial: int | None = None,
        *,
        names: Sequence[str] | None = None,
        wide: bool | None = None,
    ) -> pd.DataFrame:
        """Reported values as a DataFrame.

        Args:
            trial: one trial's number, or None for every trial.
            names: only these series.
            wide: one column per series, indexed by step (the default for one trial), or long
                format with columns trial, name, step, value, time (the default for all).
        """
        if trial is not None:
            self._frozen(trial)
        return _summary.metrics_frame(self, trial, names, wide)

    def actions(self) -> pd.DataFrame:
        """The action log: every control, who asked, when, with what result."""
        return _summary.actions_frame(self)

    def export(self, trial: Any = None, path: Any = None, format: str | None = None) -> Any:
        """Write a trial out: a runnable script, a notebook, JSON or YAML.

        The script holds the objective's source as written (captured when the session
        started), what it uses (imports, helpers, constants, the statements that made its
        data), the trial's parameters, and a ``__main__`` that runs the objective once with an
        :class:`hl.FixedTrial` (the same number, so seeds match). Forked trials carry their
        lineage. Storage URLs, paths and passwords never appear in an export.

        Args:
            trial: None (the best trial), a trial number, or with several objectives a rule
                over the Pareto front: ``"knee"``, ``"best:<objective>"`` or weights
                ``{"error": 2, "params": 1}`` (see :func:`hpo_lab.export.choose_trial`);
                without one, the error lists the front's trials.
            path: the file (default ``best.py``, or ``best.<ext>`` for ``format``).
            format: ``"script"``, ``"notebook"``, ``"json"`` or ``"yaml"`` (default: from
                ``path``'s suffix, else a script).

        Returns:
            The path written (a ``pathlib.Path``).

        Example:
            >>> import hpo_lab as hl
            >>> def objective(trial):
            ...     return (trial.suggest_float("x", -10, 10) - 2) ** 2
            >>> session = hl.Session(objective, storage=":memory:", progress=False, seed=0)
            >>> session.start(n_trials=5).wait()
            True
            >>> import pathlib, tempfile
            >>> path = pathlib.Path(tempfile.mkdtemp()) / "best.json"
            >>> session.export(path=path) == path
            True
        """
        from hpo_lab.export import export_session

        return export_session(self, trial, path, format)

    def __repr__(self) -> str:
        return _summary.text(self)

    def _repr_html_(self) -> str:
        return _summary.html_summary(self)
