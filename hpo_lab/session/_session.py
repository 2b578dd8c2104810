"""`Session`: the notebook's handle on a search — its study, its trials running in the
background, its storage and its controls."""

from __future__ import annotations

import atexit
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from hpo_lab._devices import resolve_devices
from hpo_lab.algorithms import is_nop, make_pruner, make_sampler, pruner_label
from hpo_lab.algorithms._pruners import PRUNERS
from hpo_lab.algorithms._samplers import SAMPLERS
from hpo_lab.checkpoints import CheckpointStore, make_artifact_store
from hpo_lab.constraints import (
    ConstrainedSampler,
    ConstraintSource,
)
from hpo_lab.events import ControlApplied, EventBus, TrialFinished
from hpo_lab.executors import ExecutionContext, TrialOutcome, make_executor
from hpo_lab.session import _scheduling
from hpo_lab.session._config import (
    SessionConfig,
    SessionNotFoundError,
    check_name,
    check_objective,
    check_positive_int,
    find_study_id,
    open_study,
    parse_directions,
    read_config,
)
from hpo_lab.session._driver import Driver
from hpo_lab.session._live import LiveTrials
from hpo_lab.session._progress import ProgressBar
from hpo_lab.session._results import ResultsMixin
from hpo_lab.session._steering import SteeringMixin
from hpo_lab.storage import (
    Heartbeat,
    MetricWriter,
    StorageSpec,
    fail_stale_trials,
    resolve_storage,
    this_worker,
)
from hpo_lab.storage._liveness import (
    DEFAULT_GRACE,
    FAIL_REASON_ATTR,
    STALE_REASON,
    WORKER_ATTR,
)
from hpo_lab.trial import Control, Pause, Prune, Resume, Trial, TrialSettings

_logger = logging.getLogger(__name__)
_live_sessions: weakref.WeakSet[Session] = weakref.WeakSet()


def _short_name(obj: Any, registry: Mapping[str, Any]) -> str | None:
    if obj is None or isinstance(obj, str):
        return obj
    return type(obj).__name__


class Session(SteeringMixin, ResultsMixin):
    """A hyperparameter search you can watch and steer from a notebook.

    Trials run in the background (threads of the kernel by default), so the call that starts
    them returns at once and the notebook stays responsive. Every reported value, every trial
    and every control is stored: ``Session.load(name)`` in a new kernel finds everything.

    Args:
        objective: ``objective(trial) -> value``; the value is a float, a sequence of floats (one
            per objective) or a dict (when ``directions`` names the objectives).
        name: the session's name (its Optuna study's name). A new unique name if None; an
            existing study of that name is resumed.
        metric: the reported series that measures progress; it also goes to Optuna's
            ``trial.report`` so pruners can use it, and the dashboard shows it first.
        direction: ``"minimize"`` (default) or ``"maximize"``, for one objective.
        directions: for several objectives: a list of directions, or a dict mapping objective
            names to directions.
        sampler: a short name (``"random"``, ``"qmc"``, ``"tpe"``, ``"gp"``, ``"cmaes"``,
            ``"nsga2"``, ``"nsga3"``) or an Optuna sampler. Default: TPE (NSGA-II for several
            objectives).
        pruner: a short name (``"none"``, ``"median"``, ``"percentile"``, ``"sha"``,
            ``"asha"``, ``"hyperband"``, ``"wilcoxon"``) or an Optuna pruner. Default: median
            when ``metric`` is set and there is one objective, else none.
        storage: where records live: None (the ``.hpo_lab/`` folder here), a folder, a journal
            file, a database URL or an Optuna storage object (see :mod:`hpo_lab.storage`).
        side_storage: a database URL for hpo_lab's own tables, when ``storage`` is an Optuna
            object whose place hpo_lab cannot tell.
        n_workers: how many trials run at once.
        executor: where trials run: ``"threads"`` (default), ``"processes"`` (one spawned
            process per worker slot, pinned to its GPU), a ``dask.distributed.Client``, a Dask
            cluster or scheduler address (``"tcp://host:8786"``), or an executor object (see
            :func:`hpo_lab.executors.make_executor`).
        device: ``"auto"`` (CUDA GPUs round-robin, else CPU), a device name, or a list of them.
        seed: seed for the sampler.
        progress: show a progress bar when trials run (turned off by the dashboard).
        stale_after: seconds without a heartbeat after which another process's RUNNING trial is
            considered dead (a dead process on this host is recognised at once).

    Example:
        >>> import hpo_lab as hl
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", -10, 10)
        ...     for step in range(3):
        ...         trial.report(step, loss=(x - 2) ** 2 + 1 / (step + 1))
        ...     return (x - 2) ** 2
        >>> session = hl.Session(objective, name="doc", metric="loss", storage=":memory:",
        ...                      progress=False)
        >>> session.start(n_trials=5).wait()
        True
        >>> len(session.trials)
        5
    """

    def __init__(
        self,
        objective: Callable[[Trial], Any] | None = None,
        *,
        name: str | None = None,
        metric: str | None = None,
        direction: str | None = None,
        directions: Sequence[str] | Mapping[str, str] | None = None,
        sampler: Any = None,
        pruner: Any = None,
        storage: Any = None,
        side_storage: str | None = None,
        n_workers: int = 1,
        executor: Any = "threads",
        device: Any = "auto",
        seed: int | None = None,
        progress: bool = True,
        stale_after: float = DEFAULT_GRACE,
        artifacts: Any = None,
        keep_checkpoints: int = 3,
        unresponsive_after: float = 60.0,
        scheduler: Any = None,
    ) -> None:
        self._objective = check_objective(objective)
        self.name = check_name(name)
        if metric is not None and (not isinstance(metric, str) or not metric):
            raise ValueError(
                f"metric must be a non-empty string naming a reported series, got {metric!r}"
            )
        dirs, names = parse_directions(direction, directions)
        n_workers = check_positive_int(n_workers, "n_workers")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        if not (isinstance(stale_after, (int, float)) and stale_after > 0):
            raise ValueError(
                f"stale_after must be a positive number of seconds, got {stale_after!r}"
            )
        if not (isinstance(unresponsive_after, (int, float)) and unresponsive_after > 0):
            raise ValueError(
                "unresponsive_after must be a positive number of seconds, got "
                f"{unresponsive_after!r}"
            )

        if pruner is None:
            pruner_obj = make_pruner("median" if metric and len(dirs) == 1 else None)
        else:
            pruner_obj = make_pruner(pruner)
            if not is_nop(pruner_obj) and len(dirs) > 1:
                raise ValueError(
                    f"pruner={pruner!r}: Optuna's pruners work with one objective only; this "
                    f"session has {len(dirs)}. Pass pruner='none'."
                )
            if not is_nop(pruner_obj) and metric is None:
                raise ValueError(
                    f"pruner={pruner!r} needs metric= (the reported series it watches), e.g. "
                    "metric='val_loss'"
                )
        sampler_obj = make_sampler(sampler, seed=seed, n_objectives=len(dirs))
        self._devices = resolve_devices(device)
        self._executor = make_executor(executor)
        self._owns_executor = self._executor is not executor  # made here: shut down on close()
        self._closed = False
        self._released = False  # close() has stopped the session's threads

        self._spec: StorageSpec = resolve_storage(storage, side_storage=side_storage)
        self._config = SessionConfig(
            metric, dirs, names, _short_name(sampler, SAMPLERS), _short_name(pruner, PRUNERS)
        )
        self.study: optuna.Study = open_study(
            self._spec.open_optuna(),
            self.name,
            self._config,
            sampler_obj,
            pruner_obj,
            check_against_stored=True,
        )
        self._constraints = ConstraintSource(self.study._storage, self.study._study_id)
        self.study.sampler = ConstrainedSampler(sampler_obj, self._constraints, seed=seed)
        self.store = self._spec.open_side()
        self.checkpoints = CheckpointStore(
            make_artifact_store(artifacts, self._spec.artifact_dir),
            self.store,
            self.name,
            keep_last=keep_checkpoints,
        )
        self.bus = EventBus()
        # Remote workers write what their trials report; the session must not write it again.
        self._writer = MetricWriter(
            self.bus, self.store, self.name, enabled=not self._executor.persists_metrics
        )
        self._settings = TrialSettings(
            metric=metric,
            n_objectives=len(dirs),
            objective_names=tuple(names) if names else None,
            pruning=not is_nop(pruner_obj) and len(dirs) == 1,
            pruner_name=pruner_label(pruner_obj),
        )
        self._stale_after = float(stale_after)
        self._show_progress = bool(progress)
        self._progress: ProgressBar | None = None
        self._executor_started = False
        self._lock = threading.RLock()
        self._driver = Driver(
            executor=self._executor,
            devices=self._devices,
            n_workers=n_workers,
            create_trial=self._create_trial,
            publish=self.bus.publish,
            on_outcome=self._on_outcome,
            housekeeping=self._housekeeping,
            housekeeping_every=1.0,
        )
        self._live = LiveTrials(self.bus, float(unresponsive_after))
        self._last_stale_check = time.monotonic()
        self.fail_stale_trials()
        self.scheduler = scheduler
        if scheduler is not None:
            _scheduling.attach(self, scheduler)
        _live_sessions.add(self)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        name: str,
        *,
        storage: Any = None,
        objective: Callable[[Trial], Any] | None = None,
        side_storage: str | None = None,
        **options: Any,
    ) -> Session:
        """Open an existing session (in a new kernel, or one made by plain Optuna).

        Its directions, metric, objective names and sampler/pruner names are restored from
        storage; ``objective`` is needed only to run more trials. Trials left RUNNING by a
        process that died are marked FAIL (``"stale: process died"``).

        Raises:
            SessionNotFoundError: no session of that name in ``storage`` (the message lists
                those that exist).
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        for key in ("direction", "directions"):
            if key in options:
                raise TypeError(f"Session.load takes no {key}=: a session keeps its directions")
        spec = resolve_storage(storage, side_storage=side_storage)
        ostorage = spec.open_optuna()
        study_id = find_study_id(ostorage, name)
        if study_id is None:
            existing = sorted(s.study_name for s in ostorage.get_all_studies())
            shown = ", ".join(repr(n) for n in existing[:20]) or "none"
            raise SessionNotFoundError(
                f"no session named {name!r} in {spec.describe()}; sessions there: {shown}"
            )
        saved = read_config(ostorage, study_id)
        dirs = ostorage.get_study_directions(study_id)
        names = saved.get("objective_names")
        options.setdefault("metric", saved.get("metric"))
        if "sampler" not in options and saved.get("sampler") in SAMPLERS:
            options["sampler"] = saved["sampler"]
        if "pruner" not in options and saved.get("pruner") in PRUNERS:
            options["pruner"] = saved["pruner"]
        if "pruner" not in options and saved and saved.get("pruner") is None:
            options["pruner"] = None
        directions: Any = dict(zip(names, dirs)) if names else list(dirs)
        if len(dirs) == 1 and not names:
            return cls(objective, name=name, direction=dirs[0], storage=spec, **options)
        return cls(objective, name=name, directions=directions, storage=spec, **options)

    # ------------------------------------------------------------------ running
    def start(
        self, n_trials: int | None = None, *, timeout: float | None = None, source: str = "code"
    ) -> Session:
        """Start running trials in the background and return at once.

        Args:
            n_trials: how many trials to run (None: until ``stop()`` or ``timeout``).
            timeout: seconds after which no new trial starts.
            source: who asked, for the action log (``"code"``, ``"dashboard"``).

        Returns:
            The session itself, so that ``session.start(20).wait()`` reads naturally.
        """
        self._check_open()
        if self._objective is None:
            raise RuntimeError(
                f"session {self.name!r} has no objective to run; pass one: "
                f"hl.Session.load({self.name!r}, objective=objective)"
            )
        if n_trials is not None:
            n_trials = check_positive_int(n_trials, "n_trials")
        if timeout is not None and not (
            isinstance(timeout, (int, float))
            and not isinstance(timeout, bool)
            and timeout > 0
            and math.isfinite(timeout)
        ):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        with self._lock:
            if not self._driver.can_start():
                raise RuntimeError(
                    f"session {self.name!r} is already running; use add_trials(n) for more"
                )
            self._ensure_executor()
            if self._show_progress:
                if self._progress is not None:
                    self._progress.close()
                self._progress = ProgressBar(
                    self.bus, n_trials, self._config.directions[0], self._best_so_far()
                )
            self._record("start", {"n_trials": n_trials, "timeout": timeout}, source=source)
            self._driver.start(n_trials, timeout)
        return self

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(
                f"session {self.name!r} is closed: its results can be read, but to run more "
                f"trials open it again: hl.Session.load({self.name!r}, storage=..., "
                "objective=objective)"
            )

    def _ensure_executor(self) -> None:
        with self._lock:
            self._check_open()
            if not self._executor_started:
                from hpo_lab.export import record_objective

                record_objective(self.study, self._objective)  # for export; never raises
                self._executor.start(
                    ExecutionContext(
                        study=self.study,
                        objective=self._objective,
                        settings=self._settings,
                        publish=self.bus.publish,
                        study_name=self.name,
                        storage=self._spec,
                        checkpoints=self.checkpoints,
                        constraints=self._constraints,
                    )
                )
                self._executor_started = True
            Heartbeat.ensure(self.store)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run ends (or ``timeout`` seconds pass). Returns whether it ended.

        Interrupting the wait (Ctrl-C, the notebook's stop button) leaves the trials running.
        """
        done = self._driver.wait(timeout)
        if done:
            self.bus.flush()
            self._writer.flush()
        return done

    def add_trials(self, n: int, *, source: str = "code") -> None:
        """Run ``n`` more trials (in this run, or a new one if the last has ended)."""
        n = check_positive_int(n, "n")
        self._check_open()
        if self._objective is None:
            raise RuntimeError(f"session {self.name!r} has no objective to run")
        if not self._driver.active:
            self.start(n, source=source)
            return
        self._driver.add(n)
        if self._progress is not None:
            self._progress.add_total(n)
        self._record("add_trials", {"n": n}, source=source)

    def pause(self, *, hold_running: bool = True, source: str = "code") -> None:
        """Start no new trials; with ``hold_running``, running trials also wait at their next
        report until :meth:`resume`."""
        self._driver.pause()
        if hold_running:
            self._broadcast(Pause(source=source))
        self._record("pause", {"hold_running": hold_running}, source=source)

    def resume(self, *, source: str = "code") -> None:
        """Undo :meth:`pause`."""
        self._driver.resume()
        self._broadcast(Resume(source=source))
        self._record("resume", {}, source=source)

    def stop(self, *, cancel: bool = False, source: str = "code") -> None:
        """Start no new trials. Running trials finish, or with ``cancel`` end at their next
        report as PRUNED (reason ``"cancelled: session stopped"``)."""
        self._driver.stop()
        if cancel:
            self._broadcast(Prune(source=source, reason="cancelled: session stopped"))
        self._record("stop", {"cancel": cancel}, source=source)

    def set_workers(self, n_workers: int, *, source: str = "code") -> None:
        """Change how many trials run at once, live."""
        n_workers = check_positive_int(n_workers, "n_workers")
        self._driver.set_workers(n_workers)
        self._record("set_workers", {"n_workers": n_workers}, source=source)

    def _broadcast(self, control: Control) -> None:
        for n in self._executor.running():
            self._executor.send(n, control)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def close(self, timeout: float | None = 30.0) -> None:
        """End the session's background work.

        Running trials are cancelled and waited for (up to ``timeout`` s), everything is
        written, and the session's threads stop: its event stream (dashboards attached to it
        stop updating), its metric writer, and the executor it made from ``executor=`` (worker
        processes exit; an executor object passed in is left to its owner). Results stay
        readable — trials, :meth:`metrics`, export. Starting trials again raises; open the
        session anew with :meth:`load`. A session that ran trials records ``close`` in its
        action log. Calling it again is harmless.

        A trial still running after ``timeout`` (stuck in C code, say) keeps the event stream
        and the writer open, so that what it reports later is still recorded; calling
        ``close()`` again after it ended stops them (so does the interpreter's exit).
        """
        if self._driver.active:
            self.stop(cancel=True)
            self._driver.wait(timeout)
        with self._lock:
            first, self._closed = not self._closed, True
            if self._released:
                return
        if first:
            if self._executor_started:  # it ran trials here: the log says where that ended
                self._record("close", {})
            if self._progress is not None:
                self._progress.close()
        self.bus.flush()
        self._writer.flush()
        if self._driver.active:
            _logger.warning(
                "session %r closed with trials still running %s; their reports are still "
                "written (close() again once they end stops the session's threads)",
                self.name,
                self._executor.running(),
            )
            return
        with self._lock:
            if self._released:
                return
            self._released = True
        _live_sessions.discard(self)
        self._writer.close()
        self.bus.close()
        if self._owns_executor and self._executor_started:
            self._executor.shutdown(wait=False)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _create_trial(self) -> tuple[int, int]:
        """The next trial, RUNNING in storage: an enqueued (WAITING) one first, else a new one."""
        storage = self.study._storage
        wid = this_worker().worker_id
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            if storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
                storage.set_trial_system_attr(t._trial_id, WORKER_ATTR, wid)
                return t.number, t._trial_id
        template = optuna.trial.create_trial(
            state=TrialState.RUNNING, system_attrs={WORKER_ATTR: wid}
        )
        trial_id = storage.create_new_trial(self.study._study_id, template_trial=template)
        return storage.get_trial_number_from_id(trial_id), trial_id

    def _on_outcome(self, outcome: TrialOutcome) -> None:
        if outcome.state == "FAIL":  # make sure an executor failure is recorded too
            try:
                ft = self._frozen(outcome.number)
                if ft.state == TrialState.RUNNING:
                    storage = self.study._storage
                    storage.set_trial_user_attr(ft._trial_id, "fail_reason", outcome.reason)
                    storage.set_trial_state_values(ft._trial_id, state=TrialState.FAIL)
                    self.bus.publish(TrialFinished(outcome.number, "FAIL", None, outcome.reason))
            except Exception:
                pass

    def _housekeeping(self) -> None:
        """Every second while running: flag silent trials; every 30 s: fail dead ones."""
        self._live.check()
        if time.monotonic() - self._last_stale_check > 30.0:
            self._last_stale_check = time.monotonic()
            self.fail_stale_trials()

    def fail_stale_trials(self) -> list[int]:
        """Mark FAIL the RUNNING trials whose process died (done at load and every 30 s)."""

        def failed(ft: FrozenTrial) -> None:
            reason = ft.user_attrs.get(FAIL_REASON_ATTR, STALE_REASON)
            self.bus.publish(TrialFinished(ft.number, "FAIL", None, reason, dict(ft.params)))

        return fail_stale_trials(self.study, self.store, grace=self._stale_after, on_failed=failed)

    def _record(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        source: str = "code",
        trial: int | None = None,
        result: str = "requested",
    ) -> None:
        trials = self.study.get_trials(deepcopy=False)
        at: dict[str, Any] = {
            "n_trials": len(trials),
            "n_finished": sum(t.state.is_finished() for t in trials),
        }
        if trial is not None:
            at["step"] = self._live.last_step(trial)
        payload = {**payload, "_at": at}
        self.store.append_action(
            self.name, kind=kind, source=source, payload=payload, result=result, trial=trial
        )
        self.bus.publish(ControlApplied(kind, trial, source=source, result=result, details=payload))

    def _frozen(self, number: Any) -> FrozenTrial:
        if isinstance(number, bool) or not isinstance(number, int):
            raise TypeError(f"trial number must be an int, got {type(number).__name__}: {number!r}")
        trials = self.study.get_trials(deepcopy=False)
        if not 0 <= number < len(trials) or trials[number].number != number:
            found = [t for t in trials if t.number == number]
            if not found:
                raise ValueError(
                    f"session {self.name!r} has no trial {number} (it has {len(trials)} trials)"
                )
            return found[0]
        return trials[number]

    def _best_so_far(self) -> tuple[float, int] | None:
        if self._config.n_objectives != 1:
            return None
        try:
            best = self.study.best_trial
        except ValueError:
            return None
        return float(best.value), best.number

    # ------------------------------------------------------------------ dashboard
    # The live dashboard (hpo_lab.dashboard). A bare `session` at the end of a cell shows one;
    # where widgets cannot show (no Jupyter kernel), `_repr_html_` above is the fallback.
    def dashboard(self, **options: Any) -> Any:
        """A live dashboard of this session (display it, or leave it last in a cell).

        It updates while trials run, and its controls act on this session (recorded with
        ``source="dashboard"``). It turns off the progress bar of later :meth:`start` calls.
        Options are those of :class:`hpo_lab.dashboard.Dashboard` (``series=``, ``log_y=``,
        ``panels=``, ``max_points=``, ``height=`` ...).

        Example:
            >>> import hpo_lab as hl
            >>> session = hl.Session(lambda t: t.suggest_float("x", 0, 1), storage=":memory:")
            >>> board = session.dashboard(height=360)
            >>> board.close()
        """
        from hpo_lab.dashboard import Dashboard

        return Dashboard(self, **options)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any] | None:
        from hpo_lab.dashboard._dashboard import display_bundle

        return display_bundle(self, include, exclude)


@atexit.register
def _close_sessions_at_exit() -> None:
    """Cancel running trials and write everything when the interpreter exits."""
    for s in list(_live_sessions):
        try:
            s.close(timeout=2.0)
        except Exception:
            pass
