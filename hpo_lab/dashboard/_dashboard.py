"""`Dashboard`: the live view of a session in JupyterLab.

Data flows one way. Trial threads publish events; one pump (the dashboard's subscription to the
session's event bus, on its own thread, at most every ``interval`` seconds) applies each batch to
the dashboard's model and then, under the dashboard's lock, updates only the widgets the batch
changed. Widget callbacks (clicks, the series picker) run on the kernel's main thread under the
same lock; controls go to the session (``source="dashboard"``) and come back as events.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import numpy as np

from hpo_lab.events import Event, Subscription

from . import (  # noqa: F401  (they register the built-in panels)
    _controls_panel,
    _curves_panel,
    _hypergrad_panel,
    _params_panel,
    _pareto_panel,
)
from ._changes import Changes
from ._detail import TrialDetail, detail_data
from ._feasibility import FeasibilityReader
from ._load import SessionInfo, load_model, session_info, stale_trials, sync_trials
from ._model import DashboardModel
from ._panel import Panel, PanelContext, resolve_panels
from ._rows import table_columns, table_rows
from ._status import StatusBar, status_data
from ._table import TrialTable

if TYPE_CHECKING:
    from hpo_lab.session import Session

logger = logging.getLogger(__name__)

ROW_ACTIONS = (
    {"name": "prune", "label": "Prune", "states": ["RUNNING", "PAUSED"]},
    {"name": "stop", "label": "Stop", "states": ["RUNNING", "PAUSED"]},
)
#: The dashboard shown for a bare ``session``, by session: showing the session again (a re-run
#: cell, ``session.start(...)`` last in a cell and ``session`` in the next) replaces it, so that
#: one live dashboard per session streams to the browser, not one per display.
_DISPLAYED: weakref.WeakKeyDictionary[Any, Dashboard] = weakref.WeakKeyDictionary()
_CONTROL_WORDS = {
    "prune": "prune trial {number}: requested (it ends as PRUNED at its next report)",
    "stop_trial": "stop trial {number}: requested (it ends at its next report)",
    "pause": "paused: no new trials; running trials wait at their next report",
    "resume": "resumed",
    "stop": "stopping: no new trials; running trials finish",
    "add_trials": "{n} more trials added",
}


class Dashboard:
    """A live dashboard of a :class:`~hpo_lab.Session`: status and controls, learning curves,
    optimization history, parameters, the trial table and the selected trial.

    Displaying it (as the last expression of a cell, or ``display(dashboard)``) shows its
    widget; it keeps updating while trials run. It is a view: closing or displaying it again
    never affects the trials, and several dashboards of one session all update.

    Args:
        session: The session to show.
        series: The series the learning curves show first (default: the session's metric).
        log_y: Start with a logarithmic value axis for the curves.
        panels: Tabs to show: names or :class:`Panel` classes (default: every registered
            panel that applies to the session). A panel that does not apply yet (say, the
            hypergradients before a trial reported one) is asked again as new series, parameters
            and outcomes arrive, and joins as the last tab once it does.
        max_points: Curves are downsampled to at most this many points each (min/max per bucket).
        budget: Points for all finished curves together (each gets fewer when there are many,
            at least 8): every update makes plotly redraw them all.
        chunk: Finished trials drawn per plotly trace (plotly.js redraws every trace of the figure
            at every update, and the cost grows with the number of traces more than of points).
        height: Height of the charts, in pixels.
        table_height: Height of the trial table and the trial card, in pixels.
        interval: Seconds between updates (at most 10 per second).

    Example:
        >>> import hpo_lab as hl
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", -5, 5)
        ...     for step in range(3):
        ...         trial.report(step, loss=(x - 1) ** 2 + 1 / (step + 1))
        ...     return (x - 1) ** 2
        >>> session = hl.Session(objective, metric="loss", storage=":memory:", progress=False)
        >>> board = session.dashboard()
        >>> session.start(n_trials=4).wait()
        True
        >>> board.flush()
        >>> board.model.counts()
        {'COMPLETE': 4}
        >>> board.close()
    """

    def __init__(
        self,
        session: Session,
        *,
        series: str | None = None,
        log_y: bool = False,
        panels: Sequence[str | type[Panel]] | None = None,
        max_points: int = 200,
        budget: int = 15_000,
        chunk: int = 250,
        height: int = 400,
        table_height: int = 340,
        interval: float = 0.1,
    ) -> None:
        _check_options(series, max_points, budget, chunk, height, table_height, interval)
        panel_classes = resolve_panels(panels)
        self.session = session
        self.options: dict[str, Any] = {
            "series": series,
            "log_y": bool(log_y),
            "max_points": max_points,
            "budget": budget,
            "chunk": chunk,
            "height": height,
            "table_height": table_height,
        }
        self.selected: int | None = None
        #: Seconds each update of the widgets took (the last 2,000), for benchmarks.
        self.frame_times: deque[float] = deque(maxlen=2000)
        #: The pump thread's CPU seconds in each update: its wall time less what it waited for
        #: (the GIL, held by trial threads and the kernel's, and a busy machine's cores).
        self.frame_cpu_times: deque[float] = deque(maxlen=2000)
        self._lock = threading.RLock()
        self._closed = False
        self._suspended = False
        self._views_seen = False
        self._last_status: tuple[Any, ...] | None = None
        self._last_tick = 0.0
        session._show_progress = False  # the dashboard shows progress from now on
        with self._lock:
            self._sub: Subscription = session.bus.subscribe(
                self._on_events, interval=interval, name="dashboard"
            )
            try:
                writer = getattr(session, "_writer", None)
                if writer is not None:
                    writer.flush()  # what was reported before we subscribed is in storage now
                self.model: DashboardModel
                self.model, changes = load_model(session)
                #: Which complete trials break a constraint (read from storage): the model's
                #: best and Pareto front leave them out.
                self._feasibility = FeasibilityReader(session)
                changes.merge(self._judge_feasibility())
                self._info: SessionInfo = session_info(session)
                self._context = PanelContext(
                    session,
                    self.options,
                    lock=self._lock,
                    get_model=lambda: self.model,
                    get_selected=lambda: self.selected,
                    select=self.select,
                    control=self.control,
                    refresh=self._refresh_panel,
                    flush=self._flush_panel,
                )
                applies = {cls: cls.available(self.model) for cls in panel_classes}
                self.panels: list[Panel] = [
                    cls(self._context) for cls in panel_classes if applies[cls]
                ]
                #: Panels that do not apply yet: asked again by :meth:`_add_later_panels`.
                self._later = [cls for cls in panel_classes if not applies[cls]]
                self._build()
                self._render(changes)
            except BaseException:
                self._sub.close()
                raise

    # ------------------------------------------------------------------ public API
    @property
    def widget(self) -> w.VBox:
        """The dashboard's root widget."""
        return self._root

    def select(self, number: int | None) -> None:
        """Selects trial ``number`` (None: none) in the table, the plots and the trial card.

        Raises:
            TypeError: If ``number`` is not an int or None.
        """
        if number is not None and (isinstance(number, bool) or not isinstance(number, int)):
            raise TypeError(f"number must be a trial number (int) or None, got {number!r}")
        with self._lock:
            if self._closed or number == self.selected:
                return
            self.selected = number
            if self.table.selected != number:
                self.table.selected = number
            self._render(Changes(selection=True))

    def control(self, action: str, **kwargs: Any) -> bool:
        """Runs a session control from the dashboard (recorded with ``source="dashboard"``).

        Args:
            action: ``"prune"``, ``"stop_trial"`` (with ``number=``), ``"pause"``, ``"resume"``,
                ``"stop"`` or ``"add_trials"`` (with ``n=``).

        Returns:
            Whether the session accepted it; a refusal is shown in the status bar.
        """
        s = self.session
        calls = {
            "prune": lambda: s.prune(kwargs["number"], source="dashboard"),
            "stop_trial": lambda: s.stop_trial(kwargs["number"], source="dashboard"),
            "pause": lambda: s.pause(source="dashboard"),
            "resume": lambda: s.resume(source="dashboard"),
            "stop": lambda: s.stop(source="dashboard"),
            "add_trials": lambda: s.add_trials(kwargs["n"], source="dashboard"),
        }
        if action not in calls:
            raise ValueError(f"action must be one of {sorted(calls)}, got {action!r}")
        try:
            result = calls[action]()
        except Exception as exc:
            self._say(f"{action.replace('_', ' ')}: {exc}", "error")
            return False
        if result is False:  # a trial control that arrived after the trial ended
            self._say(f"trial {kwargs.get('number')} ended before the request reached it", "info")
            return False
        self._say(_CONTROL_WORDS[action].format(**kwargs), "ok")
        return True

    def flush(self) -> None:
        """Applies every event published so far, now (on the calling thread)."""
        self.session.bus.flush()

    def refresh(self) -> None:
        """Reloads everything from storage (e.g. trials run by another process) and redraws."""
        with self._lock:
            if self._closed:
                return
            writer = getattr(self.session, "_writer", None)
            if writer is not None:
                writer.flush()
            self.model, changes = load_model(self.session)
            changes.merge(self._judge_feasibility())
            self._info = session_info(self.session)
            self._render(changes)

    def close(self) -> None:
        """Stops updating (unsubscribes the pump) and closes the widgets. Trials go on."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._sub.close()
        for panel in self.panels:
            try:
                panel.close()
            except Exception:
                logger.exception("closing panel %r failed", panel.name)
        for widget in (self.status, self.table, self.detail, self._tabs, self._root):
            widget.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def frame_stats(self) -> dict[str, float]:
        """Count, median, 95th percentile and maximum of the update times, and the median and
        95th percentile of their CPU times, in milliseconds."""
        times = np.asarray(self.frame_times, dtype=np.float64) * 1000
        cpu = np.asarray(self.frame_cpu_times, dtype=np.float64) * 1000
        if not len(times):
            nan = float("nan")
            keys = ("p50_ms", "p95_ms", "cpu_p50_ms", "cpu_p95_ms")
            return {"frames": 0, "max_ms": 0.0, **dict.fromkeys(keys, nan)}
        return {
            "frames": len(times),
            "p50_ms": float(np.percentile(times, 50)),
            "p95_ms": float(np.percentile(times, 95)),
            "max_ms": float(times.max()),
            "cpu_p50_ms": float(np.percentile(cpu, 50)),
            "cpu_p95_ms": float(np.percentile(cpu, 95)),
        }

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        return self._root._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "live"
        return f"Dashboard(session={self.session.name!r}, {state}, trials={len(self.model.trials)})"

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        o = self.options
        self.status = StatusBar()
        self.status.on_control(lambda action, args: self.control(action, **args))
        self.status.on_views(self._on_views)
        self.status.on_select(self.select)
        tabs = [w.VBox() for _ in self.panels]
        for box in tabs:
            box.add_class("hpo-dash-tab")
        self._tabs = w.Tab(children=tabs, titles=[p.title for p in self.panels])
        self._tabs.add_class("hpo-dash-tabs")
        self._built: dict[str, bool] = {}
        self._pending: dict[str, Changes] = {p.name: Changes.everything() for p in self.panels}
        self._tabs.observe(self._on_tab, "selected_index")
        can_act = self._info.can_run
        self.table = TrialTable(
            columns=table_columns(self.model),
            actions=list(ROW_ACTIONS) if can_act else [],
            height=o["table_height"],
            sort_by="number",
            sort_desc=True,
        )
        self.table.observe(lambda change: self.select(change["new"]), "selected")
        self.table.on_action(self._on_row_action)
        self.detail = TrialDetail(height=o["table_height"])
        self.detail.on_action(self._on_row_action)
        self.table.layout = w.Layout(flex="1 1 auto", min_width="0")
        self.detail.layout = w.Layout(flex="0 0 320px", min_width="0")
        bottom = w.HBox([self.table, self.detail])
        bottom.add_class("hpo-dash-bottom")
        self._root = w.VBox([self.status, self._tabs, bottom])
        self._root.add_class("hpo-dash")
        if self.panels:
            self._show_panel(0)

    def _show_panel(self, index: int | None) -> None:
        if index is None or not 0 <= index < len(self.panels):
            return
        panel = self.panels[index]
        if not self._built.get(panel.name):
            box = self._tabs.children[index]
            box.children = (panel.build(),)
            self._built[panel.name] = True
            if index > 0:
                self.status.fit_figures()
        self._update_panel(panel, force=True)

    def _on_tab(self, change: dict[str, Any]) -> None:
        with self._lock:
            if not self._closed:
                self._show_panel(change["new"])

    def _refresh_panel(self, panel: Panel) -> None:
        with self._lock:
            if not self._closed and self._built.get(panel.name):
                self._update_panel(panel, force=True)

    def _flush_panel(self, panel: Panel) -> None:
        with self._lock:
            index = self._tabs.selected_index
            shown = index is not None and 0 <= index < len(self.panels)
            if shown and self.panels[index] is panel and not (self._closed or self._suspended):
                self._update_panel(panel)

    # ------------------------------------------------------------------ the pump
    def _on_events(self, events: Sequence[Event]) -> None:
        """The pump: runs on the subscription's thread with each batch of events."""
        began, began_cpu = time.perf_counter(), time.thread_time()
        with self._lock:
            if self._closed:
                return
            try:
                changes = self.model.apply(events)
                stale = stale_trials(self.model, changes)
                if stale:
                    changes.merge(sync_trials(self.model, self.session, stale))
                if changes.finished or changes.actions or stale:
                    changes.merge(self._judge_feasibility())
                info = session_info(self.session)
                if info != self._info:
                    self._info = info
                    self.model.budget = info.budget
                    changes.session = True
                self._render(changes)
            except Exception:
                logger.exception("the dashboard of session %r failed to update", self.session.name)
        self.frame_times.append(time.perf_counter() - began)
        self.frame_cpu_times.append(time.thread_time() - began_cpu)

    def _judge_feasibility(self) -> Changes:
        """Marks the model's complete trials that break a constraint (caller holds the lock)."""
        return self.model.set_infeasible(self._feasibility.infeasible(self.model))

    def _render(self, ch: Changes) -> None:
        """Updates the widgets that ``ch`` touched (caller holds the lock)."""
        for name in self._pending:
            self._pending[name].merge(ch)
        if self._suspended:
            return
        if self._later and (ch.reset or ch.series_names or ch.param_names or ch.finished):
            self._add_later_panels()
        now = time.time()
        model = self.model
        tick = now - self._last_tick >= 1.0
        if tick:
            self._last_tick = now
        self._render_status(ch, now, tick)
        if ch.reset or ch.param_names:
            columns = table_columns(model)
            if columns != self.table.columns:
                self.table.columns = columns
        rows = set(model.trials) if ch.reset or ch.param_names else set(ch.rows)
        # A running trial's last step and duration change with every report: its row follows
        # once a second (the browser redraws the table for every update it gets).
        rows |= {n for n in ch.steps if model.trials[n].state != "RUNNING"}
        if tick:
            rows |= set(model.running())
        if rows:
            self.table.upsert(table_rows(model, rows, now))
        best = model.best[0] if model.best is not None and model.n_objectives == 1 else None
        if self.table.best != best:
            self.table.best = best
        sel = self.selected
        if (
            ch.selection
            or ch.reset
            or (sel is not None and (ch.best or sel in ch.trials or (tick and sel in rows)))
        ):
            self._show_detail(now)
        index = self._tabs.selected_index
        for i, panel in enumerate(self.panels):
            if i == index and self._built.get(panel.name):
                self._update_panel(panel)

    def _add_later_panels(self) -> None:
        """Adds, as last tabs, the panels that did not apply before and do now."""
        for cls in [c for c in self._later if c.available(self.model)]:
            self._later.remove(cls)
            panel = cls(self._context)
            box = w.VBox()
            box.add_class("hpo-dash-tab")
            titles = tuple(self._tabs.titles)[: len(self.panels)]
            self.panels.append(panel)
            self._pending[panel.name] = Changes.everything()
            self._tabs.children = (*self._tabs.children, box)
            self._tabs.titles = (*titles, panel.title)

    def _render_status(self, ch: Changes, now: float, tick: bool) -> None:
        if not (tick or ch.states or ch.finished or ch.best or ch.session or ch.reset):
            return  # new points alone change nothing in the bar (the clock ticks in the browser)
        data = status_data(self.model, self._info, now)
        key = data._replace(elapsed=None, eta=None)
        if key != self._last_status or tick:
            self._last_status = key
            self.status.show(data)

    def _show_detail(self, now: float) -> None:
        self.detail.show(
            detail_data(self.model, self.selected, can_act=self._info.can_run, now=now)
        )

    def _update_panel(self, panel: Panel, force: bool = False) -> None:
        pending = self._pending[panel.name]
        if not force and not (panel.wants(pending) and panel.ready()):
            return
        self._pending[panel.name] = Changes()
        try:
            panel.apply(panel.compute(self.model))
        except Exception:
            logger.exception("panel %r failed to update", panel.name)

    # ------------------------------------------------------------------ callbacks
    def _on_row_action(self, action: str, number: int) -> None:
        self.control("prune" if action == "prune" else "stop_trial", number=number)

    def _on_views(self, views: int) -> None:
        """Pauses drawing while no view shows the dashboard (a re-run cell), and redraws
        everything when one appears again (a reloaded page)."""
        with self._lock:
            if self._closed:
                return
            if views > 0:
                self._views_seen = True
                if self._suspended:
                    self._suspended = False
                    self._render(Changes.everything())
            elif self._views_seen:
                self._suspended = True

    def _say(self, text: str, level: str) -> None:
        with self._lock:
            if not self._closed:
                self.status.say(text, level)


def _check_options(
    series: Any,
    max_points: Any,
    budget: Any,
    chunk: Any,
    height: Any,
    table_height: Any,
    interval: Any,
) -> None:
    if series is not None and (not isinstance(series, str) or not series):
        raise ValueError(f"series must be a series name (a non-empty str) or None, got {series!r}")
    for name, value, low in (
        ("max_points", max_points, 16),
        ("budget", budget, 100),
        ("chunk", chunk, 1),
        ("height", height, 200),
        ("table_height", table_height, 120),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int of at least {low}, got {value!r}")
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval < 0.1:
        raise ValueError(
            f"interval must be a number of seconds of at least 0.1 (10 updates a second), "
            f"got {interval!r}"
        )


def display_bundle(session: Session, include: Any = None, exclude: Any = None) -> dict | None:
    """The mime bundle that shows ``session`` as a live dashboard, or None where widgets cannot
    show (no Jupyter kernel, ipywidgets missing): then the session's HTML summary is used.

    The dashboard shown by the previous display of this session, if any, is closed (its output
    goes blank): ``session.dashboard()`` makes dashboards that stay.
    """
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    try:
        board = Dashboard(session)
    except Exception:
        logger.exception("could not build the dashboard of session %r", session.name)
        return None
    bundle = dict(board._repr_mimebundle_(include=include, exclude=exclude) or {})
    if not bundle:
        board.close()
        return None
    previous = _DISPLAYED.get(session)
    _DISPLAYED[session] = board
    if previous is not None:
        previous.close()
    bundle.setdefault("text/html", session._repr_html_())
    bundle["text/plain"] = repr(session)
    return bundle
