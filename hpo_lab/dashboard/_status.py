"""The status bar: session state, trial counts against the budget, best value, elapsed time and
ETA, and the session's controls (pause, resume, stop, add N trials)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import anywidget
import ipywidgets
import traitlets

from ._assets import asset_path
from ._hover import fmt_value
from ._load import SessionInfo
from ._model import TERMINAL, DashboardModel

logger = logging.getLogger(__name__)

ControlCallback = Callable[[str, Mapping[str, Any]], Any]
CONTROLS = ("pause", "resume", "stop", "add_trials")


class StatusData(NamedTuple):
    """What the status bar shows.

    Attributes:
        name: The session's name.
        state: ``idle``, ``running``, ``paused``, ``stopping``, ``finished`` or ``stopped``.
        objective: ``"val_loss ↓"``: what is optimised, and which way.
        counts: Trials per display state (``RUNNING``, ``PAUSED``, ``COMPLETE``, ``PRUNED``,
            ``FAIL``, ``WAITING``).
        total: Trials in the budget (done, running and still to start); None: open-ended.
        best: ``{"number", "value"}`` of the best trial, or ``{"pareto": k}`` for several
            objectives; None before the first complete trial.
        elapsed: Seconds the current (or last) run has taken so far.
        eta: Estimated seconds left in the run (None: unknown).
        ticking: Whether the clock is running (the front end advances it between updates).
        controls: Which controls are enabled now.
        read_only: The session cannot run trials: it has no objective (it was loaded
            without one), or it was closed.
    """

    name: str
    state: str
    objective: str
    counts: dict[str, int]
    total: int | None
    best: dict[str, Any] | None
    elapsed: float | None
    eta: float | None
    ticking: bool
    controls: dict[str, bool]
    read_only: bool


def status_data(model: DashboardModel, info: SessionInfo, now: float | None = None) -> StatusData:
    """Computes the status bar's content.

    Example:
        >>> from hpo_lab.dashboard._load import SessionInfo
        >>> m = DashboardModel("demo", ["minimize"], metric="loss")
        >>> info = SessionInfo("idle", None, active=False, can_run=False, n_workers=1)
        >>> s = status_data(m, info)
        >>> s.objective, s.controls
        ('value ↓', {'pause': False, 'resume': False, 'stop': False, 'add_trials': False})
    """
    now = time.time() if now is None else now
    counts = model.counts()
    done = sum(counts.get(s, 0) for s in TERMINAL)
    running = counts.get("RUNNING", 0) + counts.get("PAUSED", 0)
    total = None if info.budget is None else done + running + max(0, info.budget)
    if not info.active and info.budget is None:
        total = sum(counts.values()) or None

    if model.n_objectives == 1:
        best = None
        if model.best is not None:
            best = {"number": model.best[0], "value": fmt_value(model.best[1])}
    else:
        front = model.pareto
        best = {"pareto": len(front)} if front else None

    arrows = ["↓" if d == "minimize" else "↑" for d in model.directions]
    objective = ", ".join(f"{n} {a}" for n, a in zip(model.objective_labels, arrows))

    elapsed, eta, ticking = _clock(model, info, now)
    state = info.state
    controls = {
        "pause": state == "running",
        "resume": state == "paused",
        "stop": state in ("running", "paused"),
        "add_trials": info.can_run and state != "stopping",
    }
    return StatusData(
        model.name,
        state,
        objective,
        counts,
        total,
        best,
        elapsed,
        eta,
        ticking,
        controls,
        not info.can_run,
    )


def _clock(model: DashboardModel, info: SessionInfo, now: float) -> tuple[Any, Any, bool]:
    """Elapsed seconds, seconds left, and whether the clock ticks."""
    if model.run_started is not None:
        end = model.run_ended if model.run_ended is not None else now
        elapsed = max(0.0, end - model.run_started)
        ticking = model.run_ended is None and info.active
        if not ticking or info.budget is None:
            return elapsed, None, ticking
        done = [
            t
            for t in model.trials.values()
            if t.state in TERMINAL and t.ended is not None and t.ended >= model.run_started
        ]
        if not done or elapsed <= 0:
            return elapsed, None, True
        running = [t for t in model.trials.values() if t.state == "RUNNING"]
        left = max(0, info.budget) + len(running)
        rate = len(done) / elapsed
        return elapsed, left / rate if rate > 0 else None, True
    # No run in this kernel: how long the stored trials took, first start to last end.
    starts = [t.started for t in model.trials.values() if t.started is not None]
    ends = [t.ended for t in model.trials.values() if t.ended is not None]
    if starts and ends:
        return max(0.0, max(ends) - min(starts)), None, False
    return None, None, False


class StatusBar(anywidget.AnyWidget):
    """The dashboard's top bar (an anywidget). Its buttons call ``on_control`` callbacks.

    Front-end messages: ``{"type": "control", "action": name, "n": int}``; ``{"type": "select",
    "number": int}`` (the best trial was clicked); ``{"type": "view", "open": bool}`` when a view
    appears or goes away (see :attr:`views`).

    Example:
        >>> bar = StatusBar()
        >>> bar.on_control(lambda action, args: print(action, dict(args)))
        >>> bar._handle_message(bar, {"type": "control", "action": "add_trials", "n": 5}, [])
        add_trials {'n': 5}
    """

    _esm = asset_path("status_bar.js")
    _css = asset_path("dashboard.css")

    data = traitlets.Dict(help="StatusData as a dict, with the kernel's clock.").tag(sync=True)
    message = traitlets.Dict(help="{'text', 'level', 'time'}: the last control's outcome.").tag(
        sync=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._callbacks = ipywidgets.CallbackDispatcher()
        self._view_callbacks = ipywidgets.CallbackDispatcher()
        self._select_callbacks = ipywidgets.CallbackDispatcher()
        #: How many front-end views show the bar now (as they report it).
        self.views = 0
        self.on_msg(self._handle_message)

    def on_control(self, callback: ControlCallback, remove: bool = False) -> None:
        """Registers ``callback(action, args)`` for the control buttons."""
        self._callbacks.register_callback(callback, remove=remove)

    def on_views(self, callback: Callable[[int], Any], remove: bool = False) -> None:
        """Registers ``callback(views)``, called when a view appears or goes away."""
        self._view_callbacks.register_callback(callback, remove=remove)

    def on_select(self, callback: Callable[[int], Any], remove: bool = False) -> None:
        """Registers ``callback(number)``, called when the best trial is clicked."""
        self._select_callbacks.register_callback(callback, remove=remove)

    def show(self, data: StatusData) -> None:
        """Sends ``data`` to the front end."""
        payload = data._asdict()
        payload["sent"] = time.time()
        self.data = payload

    def fit_figures(self) -> None:
        """Asks the front end to fit every plotly figure to its container (after a new tab)."""
        self.send({"type": "resize"})

    def say(self, text: str, level: str = "info") -> None:
        """Shows a short message (``level``: ``info``, ``ok``, ``error``)."""
        self.message = {"text": text, "level": level, "time": time.time()}

    def _handle_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, Mapping) else None
        if kind == "control" and content.get("action") in CONTROLS:
            args = {"n": content["n"]} if "n" in content else {}
            self._callbacks(content["action"], args)
        elif kind == "select" and isinstance(content.get("number"), int):
            self._select_callbacks(content["number"])
        elif kind == "view":
            self.views = max(0, self.views + (1 if content.get("open") else -1))
            self._view_callbacks(self.views)
        else:
            logger.warning("StatusBar ignored a front-end message: %r", content)
