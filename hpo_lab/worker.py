"""``hpo-lab worker``: add workers to a session by hand, on any machine that reaches its storage.

This is Optuna's shared-storage pattern: each worker opens the study in the shared storage (a
database URL such as PostgreSQL, or a journal file on a shared file system), creates its own
trials and runs them one after the other. Like every hpo_lab worker it registers and heartbeats,
claims its trials, and writes everything they report to the side tables, so the notebook's
``Session.load`` sees it all. It obeys the session's controls — ``prune``, ``stop_trial``,
``pause``, ``resume`` and ``stop`` (``cancel=True`` prunes its running trial) — by reading the
action log at most once per ``--poll`` seconds, never once per ``report``.

The objective is ``--objective module:function`` (or ``path/to/file.py:function``), or the one
the notebook published with :func:`publish_objective` (cloudpickled, so a notebook cell's function
works; unpickling it runs code: point workers only at storage you trust).

Example:
    In the notebook::

        session = hl.Session(objective, name="big", storage="postgresql+psycopg://u@db/hpo")
        hpo_lab.worker.publish_objective(session)

    On each machine::

        hpo-lab worker --storage postgresql+psycopg://u@db/hpo --study big --device cuda:0
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from hpo_lab.executors._action_poller import DEFAULT_POLL, ActionPoller, trial_control
from hpo_lab.executors._base import TrialTask
from hpo_lab.executors._payload import (
    WorkerSpec,
    load_payload,
    pack,
    save_payload,
    shareable,
    study_key,
    unpack,
)
from hpo_lab.executors._worker_runtime import WorkerRuntime
from hpo_lab.storage import StorageSpec, resolve_storage
from hpo_lab.storage._liveness import WORKER_ATTR, become_worker_process
from hpo_lab.trial import Pause, Prune, Resume

__all__ = ["main", "publish_objective", "run_worker"]


class WorkerError(Exception):
    """The worker cannot start (unknown study, no objective...); the message says why."""


def publish_objective(session: Any) -> str:
    """Keep ``session``'s objective, settings, sampler and pruner in its side tables, for
    ``hpo-lab worker --storage ... --study NAME`` processes started without ``--objective``.

    Returns:
        The side-table key it is kept under.

    Raises:
        RuntimeError: the session has no objective.
        ValueError / TypeError: its storage is in memory, or its objective cannot be pickled.
    """
    if session._objective is None:
        raise RuntimeError(f"session {session.name!r} has no objective to publish")
    checkpoints = session.checkpoints
    spec = WorkerSpec(
        study_name=session.name,
        storage=shareable(session.storage, "hpo-lab worker"),
        objective=session._objective,
        settings=session._settings,
        sampler=session.study.sampler,
        pruner=session.study.pruner,
        constraints=session._constraints,
        artifacts=checkpoints.artifacts,
        keep_checkpoints=checkpoints.keep_last,
    )
    key = study_key(session.name)
    save_payload(session.store, key, pack(spec))
    return key


def load_objective(ref: str) -> Callable[..., Any]:
    """The function ``ref`` names: ``module:function`` or ``path/to/file.py:function``.

    Raises:
        WorkerError: malformed, not importable, or not callable.
    """
    where, sep, name = ref.rpartition(":")
    if not sep or not where or not name:
        raise WorkerError(
            f"--objective must be 'module:function' or 'path/to/file.py:function', got {ref!r}"
        )
    try:
        if where.endswith(".py"):
            path = Path(where).expanduser().resolve()
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None or not path.is_file():
                raise WorkerError(f"--objective: no Python file {str(path)!r}")
            module = importlib.util.module_from_spec(spec)
            sys.modules.setdefault(path.stem, module)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except WorkerError:
        raise
    except Exception as exc:
        raise WorkerError(f"--objective {ref!r}: cannot import {where!r}: {exc}") from exc
    fn = getattr(module, name, None)
    if not callable(fn):
        raise WorkerError(f"--objective {ref!r}: {where!r} has no function {name!r}")
    return fn


def _spec_from_storage(
    storage: StorageSpec, study: str, objective: Callable[..., Any], artifacts: str | None
) -> WorkerSpec:
    """A worker spec built from what the study's storage keeps (its hpo_lab settings)."""
    from hpo_lab.algorithms import is_nop, make_pruner, make_sampler, pruner_label
    from hpo_lab.algorithms._pruners import PRUNERS
    from hpo_lab.algorithms._samplers import SAMPLERS
    from hpo_lab.checkpoints import make_artifact_store
    from hpo_lab.constraints import ConstrainedSampler, ConstraintSource
    from hpo_lab.session._config import find_study_id, read_config
    from hpo_lab.trial import TrialSettings

    ostorage = storage.open_optuna()
    sid = find_study_id(ostorage, study)
    assert sid is not None
    config = read_config(ostorage, sid)
    n = len(ostorage.get_study_directions(sid))
    metric = config.get("metric")
    names = config.get("objective_names")
    saved = config.get("pruner")
    pruner = make_pruner(saved if saved in PRUNERS else ("median" if metric and n == 1 else None))
    sampler_name = config.get("sampler")
    base = make_sampler(sampler_name if sampler_name in SAMPLERS else None, n_objectives=n)
    source = ConstraintSource(ostorage, sid)
    folder = artifacts or storage.artifact_dir
    return WorkerSpec(
        study_name=study,
        storage=storage,
        objective=objective,
        settings=TrialSettings(
            metric=metric,
            n_objectives=n,
            objective_names=tuple(names) if names else None,
            pruning=not is_nop(pruner) and n == 1,
            pruner_name=pruner_label(pruner),
        ),
        sampler=ConstrainedSampler(base, source),
        pruner=pruner,
        constraints=source,
        artifacts=make_artifact_store(folder, None) if folder else None,
    )


def worker_spec(
    storage: Any, study: str, objective: str | None = None, artifacts: str | None = None
) -> WorkerSpec:
    """What ``hpo-lab worker`` runs: ``--objective`` with the study's stored settings, or the
    objective the session published.

    Raises:
        WorkerError: no such study, or no objective.
    """
    from hpo_lab.session._config import find_study_id

    spec = shareable(resolve_storage(storage), "hpo-lab worker")
    ostorage = spec.open_optuna()
    if find_study_id(ostorage, study) is None:
        names = sorted(s.study_name for s in ostorage.get_all_studies())
        shown = ", ".join(repr(n) for n in names[:20]) or "none"
        raise WorkerError(f"no session named {study!r} in {spec.describe()}; sessions: {shown}")
    if objective is not None:
        return _spec_from_storage(spec, study, load_objective(objective), artifacts)
    store = spec.open_side()
    try:
        blob = load_payload(store, study_key(study))
    finally:
        store.close()
    if blob is None:
        raise WorkerError(
            f"session {study!r} has published no objective: run "
            "hpo_lab.worker.publish_objective(session) in the notebook, or pass --objective "
            "module:function"
        )
    published = unpack(blob)
    # This machine's path to the storage is the one given here, not the notebook's.
    return dataclasses.replace(published, storage=spec, submitter="")


class _Controls:
    """The session-wide state a worker follows: paused, stopped."""

    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime
        self.paused = False
        self.stopped = False
        self._cond = threading.Condition()

    def on_action(self, action: dict[str, Any]) -> None:
        runtime, kind, source = self.runtime, action["kind"], action.get("source") or "code"
        found = trial_control(action)
        if found is not None:
            if runtime.deliver(*found):
                runtime.store.update_action_result(
                    action["id"], f"delivered to {runtime.worker_id}"
                )
            return
        payload = action.get("payload") or {}
        if kind == "pause":
            self._set(paused=True)
            if payload.get("hold_running", True):
                runtime.broadcast(Pause(source=source))
        elif kind == "resume":
            self._set(paused=False)
            runtime.broadcast(Resume(source=source))
        elif kind == "stop":
            self.stop()
            if payload.get("cancel"):
                runtime.broadcast(Prune(source=source, reason="cancelled: session stopped"))

    def _set(self, *, paused: bool) -> None:
        with self._cond:
            self.paused = paused
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify_all()

    def wait_to_go(self) -> bool:
        """Block while paused; whether to start another trial."""
        with self._cond:
            self._cond.wait_for(lambda: self.stopped or not self.paused)
            return not self.stopped


def _create_trial(study: optuna.Study, worker_id: str) -> tuple[int, int]:
    """The next trial, RUNNING and claimed: an enqueued one first (as the session does)."""
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        if storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
            storage.set_trial_system_attr(t._trial_id, WORKER_ATTR, worker_id)
            return t.number, t._trial_id
    template = optuna.trial.create_trial(
        state=TrialState.RUNNING, system_attrs={WORKER_ATTR: worker_id}
    )
    trial_id = storage.create_new_trial(study._study_id, template_trial=template)
    return storage.get_trial_number_from_id(trial_id), trial_id


def run_worker(
    storage: Any,
    study: str,
    *,
    objective: str | None = None,
    n_trials: int | None = None,
    device: str = "auto",
    poll: float = DEFAULT_POLL,
    artifacts: str | None = None,
    out: Callable[[str], None] = print,
) -> int:
    """Run trials of ``study`` until ``n_trials`` are done or the session stops this worker.

    SIGINT and SIGTERM (Ctrl-C, a batch system's notice) end the running trial at its next
    report (PRUNED, ``"worker stopped (SIGTERM)"``) and the worker with it.

    Returns:
        The exit status (0).
    """
    from hpo_lab._devices import resolve_devices

    become_worker_process()
    try:
        spec = worker_spec(storage, study, objective, artifacts)
    except (ValueError, TypeError) as exc:  # storage kinds, unpicklable objects...
        raise WorkerError(str(exc)) from exc
    runtime = WorkerRuntime(spec)
    dev = resolve_devices(device)[0]
    controls = _Controls(runtime)
    poller = ActionPoller(runtime.store, study, controls.on_action, interval=poll)

    def interrupted(signum: int, _frame: Any) -> None:
        reason = f"worker stopped ({signal.Signals(signum).name})"

        def stop() -> None:
            controls.stop()
            runtime.broadcast(Prune(source="worker", reason=reason))

        # Not here: the main thread may hold the runtime's lock when the signal arrives.
        threading.Thread(target=stop, name="hpo_lab-worker-stop", daemon=True).start()

    previous = {
        s: signal.signal(s, interrupted)
        for s in (signal.SIGINT, signal.SIGTERM)
        if threading.current_thread() is threading.main_thread()
    }
    where = runtime.spec.storage.describe()
    out(f"hpo-lab worker {runtime.worker_id}: session {study!r} in {where}")
    done = 0
    try:
        while (n_trials is None or done < n_trials) and controls.wait_to_go():
            number, trial_id = _create_trial(runtime.study, runtime.worker_id)
            outcome = runtime.run(TrialTask(number, trial_id, 0, dev))
            done += 1
            detail = outcome.values if outcome.state == "COMPLETE" else outcome.reason
            out(f"trial {number} {outcome.state}: {detail}")
    finally:
        poller.stop()
        runtime.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    out(f"hpo-lab worker {runtime.worker_id}: {done} trials, stopping")
    return 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``hpo-lab worker``."""
    p.add_argument("--storage", required=True, help="database URL, journal file or folder")
    p.add_argument("--study", required=True, help="the session's name")
    p.add_argument(
        "--objective",
        default=None,
        help="module:function or file.py:function (default: the one the session published)",
    )
    p.add_argument("--trials", type=int, default=None, help="stop after this many trials")
    p.add_argument("--device", default="auto", help="cuda:0, cpu... (default: auto)")
    p.add_argument(
        "--poll", type=float, default=DEFAULT_POLL, help="seconds between reads of the controls"
    )
    p.add_argument("--artifacts", default=None, help="checkpoint folder (with --objective)")


def main(args: argparse.Namespace) -> int:
    """``hpo-lab worker`` with parsed arguments."""
    if args.trials is not None and args.trials < 1:
        print(f"hpo-lab worker: --trials must be >= 1, got {args.trials}", file=sys.stderr)
        return 2
    if not args.poll > 0:
        print(f"hpo-lab worker: --poll must be > 0 seconds, got {args.poll}", file=sys.stderr)
        return 2
    try:
        return run_worker(
            args.storage,
            args.study,
            objective=args.objective,
            n_trials=args.trials,
            device=args.device,
            poll=args.poll,
            artifacts=args.artifacts,
            out=lambda line: print(line, flush=True),
        )
    except WorkerError as exc:
        print(f"hpo-lab worker: {exc}", file=sys.stderr)
        return 2
