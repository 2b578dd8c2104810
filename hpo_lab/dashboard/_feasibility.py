"""Which complete trials violate a constraint: read from the session's Optuna storage, and judged
by the dashboard for trials that ended before an outcome constraint on an objective was added.

Feasibility is not in the event stream: a trial's constraint values (the session's outcome
constraints, or a sampler's ``constraints_func``) are system attributes Optuna stores when the
trial is told. So each complete trial's record is read once, when the trial is first seen
complete: the whole study in one call the first time, then trial by trial.

Outcome constraints are recorded only on trials that end after they were added; the trials
before are judged here against the constraints on objectives in force (replayed from the action
log), as the README promises, so a region turned into constraints shows at once which trials lie
outside it. A stored value always wins over a judgement.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from optuna.trial import TrialState

from hpo_lab.analysis import is_feasible
from hpo_lab.constraints import OutcomeConstraint

from ._model import DashboardModel
from ._pareto import ObjectiveBound, _Scan, objective_bounds

if TYPE_CHECKING:
    from hpo_lab.session import Session

logger = logging.getLogger(__name__)
#: Past this many new complete trials, one read of the whole study is cheaper than one per trial.
BULK = 64
_PREFIX = "constraints:"


class FeasibilityReader:
    """The infeasible complete trials of a model: by their stored constraint values, or judged
    against the outcome constraints on objectives they were not evaluated on.

    A trial that cannot be read (not in this study, a storage error) has no stored values.

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

    def infeasible(self, model: DashboardModel) -> frozenset[int]:
        """The numbers of the model's complete trials that violate a constraint."""
        if self._scan is None or self._scan.model is not model:
            self._scan = _Scan(model)
            self._complete: list[int] = []
            self._stored_bad: set[int] = set()
            self._stored_keys: dict[int, frozenset[str]] = {}
            self._bounds: tuple[ObjectiveBound, ...] = ()
            self._judged: set[int] = set()
            self._result: frozenset[int] = frozenset()
            self._actions = -1
        new = self._scan()
        changed = bool(new)
        if new:
            self._complete += new
            self._read(new)
        if len(model.actions) != self._actions:
            self._actions = len(model.actions)
            bounds = objective_bounds(model)
            if bounds != self._bounds:
                self._bounds = bounds
                self._judged = self._judge(model, self._complete)  # every trial, once
                new, changed = [], True
        if new and self._bounds:
            self._judged |= self._judge(model, new)
        if changed:
            self._result = frozenset(self._stored_bad | self._judged)
        return self._result

    def _judge(self, model: DashboardModel, numbers: list[int]) -> set[int]:
        """The trials among ``numbers`` that break a bound on an objective they were not
        evaluated on when they ended."""
        checks = [(b.objective, OutcomeConstraint(b.name, b.op, b.bound)) for b in self._bounds]
        out = set()
        for n in numbers:
            values = model.trials[n].values
            if not values:
                continue
            stored = self._stored_keys.get(n, frozenset())
            for k, c in checks:
                if c.key not in stored and k < len(values) and c.violation(values[k]) > 0:
                    out.add(n)
                    break
        return out

    def _read(self, numbers: list[int]) -> None:
        study = getattr(self.session, "study", None)
        if study is None:
            return
        try:
            if len(numbers) > BULK:
                wanted = set(numbers)
                states = (TrialState.COMPLETE,)
                trials = [
                    t for t in study.get_trials(deepcopy=False, states=states) if t.number in wanted
                ]
            else:
                storage, study_id = study._storage, study._study_id
                trials = []
                for n in numbers:
                    try:
                        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, n)
                    except KeyError:
                        continue  # not a trial of this study
                    trials.append(storage.get_trial(trial_id))
        except Exception:
            logger.exception("reading the constraints of trials %s failed", numbers[:10])
            return
        for t in trials:
            if not is_feasible(t):
                self._stored_bad.add(t.number)
            keys = frozenset(k[len(_PREFIX) :] for k in t.system_attrs if k.startswith(_PREFIX))
            if keys:
                self._stored_keys[t.number] = keys
