"""Which complete trials violate their constraints, read from the session's Optuna storage.

Feasibility is not in the event stream: a trial's constraint values (the session's outcome
constraints, or a sampler's ``constraints_func``) are system attributes Optuna stores when the
trial is told. So the Pareto view reads each complete trial's record once, when it first sees the
trial complete: the whole study in one call the first time, then trial by trial.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

from hpo_lab.analysis import is_feasible

from ._model import DashboardModel
from ._pareto import _Scan

if TYPE_CHECKING:
    from hpo_lab.session import Session

logger = logging.getLogger(__name__)
#: Past this many new complete trials, one read of the whole study is cheaper than one per trial.
BULK = 64


class FeasibilityReader:
    """The infeasible complete trials of a model, read from ``session``'s storage.

    A trial that cannot be read (not in this study, a storage error) counts as feasible.

    Args:
        session: The session whose study holds the trials.

    Example:
        >>> import hpo_lab as hl
        >>> from hpo_lab.dashboard import DashboardModel
        >>> s = hl.Session(None, directions=["minimize", "minimize"], storage=":memory:")
        >>> FeasibilityReader(s).infeasible(DashboardModel("x", ["minimize", "minimize"]))
        frozenset()
    """

    def __init__(self, session: Session | Any) -> None:
        self.session = session
        self._scan: _Scan | None = None
        self._infeasible: frozenset[int] = frozenset()

    def infeasible(self, model: DashboardModel) -> frozenset[int]:
        """The numbers of the model's complete trials that violate a constraint."""
        if self._scan is None or self._scan.model is not model:
            self._scan, self._infeasible = _Scan(model), frozenset()
        new = self._scan()
        if new:
            bad = self._read(new)
            if bad:
                self._infeasible = self._infeasible | bad
        return self._infeasible

    def _read(self, numbers: list[int]) -> set[int]:
        study = getattr(self.session, "study", None)
        if study is None:
            return set()
        try:
            if len(numbers) > BULK:
                wanted = set(numbers)
                trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                return {t.number for t in trials if t.number in wanted and not is_feasible(t)}
            storage, study_id = study._storage, study._study_id
            out = set()
            for n in numbers:
                try:
                    trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, n)
                except KeyError:
                    continue  # not a trial of this study
                if not is_feasible(storage.get_trial(trial_id)):
                    out.add(n)
            return out
        except Exception:
            logger.exception("reading the constraints of trials %s failed", numbers[:10])
            return set()
