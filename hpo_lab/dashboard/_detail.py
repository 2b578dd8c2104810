"""The selected trial's card: its state, values, params, every series (small charts), its story
(state history and controls) and, for a failed trial, the reason and traceback."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import anywidget
import ipywidgets
import traitlets

from ._assets import asset_path
from ._hover import fmt_value
from ._model import DashboardModel

logger = logging.getLogger(__name__)

ActionCallback = Callable[[str, int], Any]
#: Row actions the card offers, by the trial's display state.
ACTIONS = {"RUNNING": ("prune", "stop"), "PAUSED": ("prune", "stop")}


class DetailData(NamedTuple):
    """What the trial card shows (plain data, ready for JSON).

    Attributes:
        number: The trial (None: nothing selected).
        state: Its display state.
        is_best: Whether it is the best trial (or on the Pareto front).
        values: ``(objective, value)`` pairs, formatted.
        params: ``(name, value)`` pairs, formatted.
        info: Other facts (device, duration, last step, parent), formatted.
        reason: Why it was pruned, stopped or failed.
        traceback: The traceback of a failure.
        history: ``(time, state or None, text)``, oldest first.
        series: ``{"name", "x", "y", "last", "min", "max"}`` per series (downsampled; NaN as None).
        actions: Controls that apply now (``"prune"``, ``"stop"``).
        can_act: Whether this session may control the trial (it has an objective).
    """

    number: int | None
    state: str | None
    is_best: bool
    values: list[tuple[str, str]]
    params: list[tuple[str, str]]
    info: list[tuple[str, str]]
    reason: str | None
    traceback: str | None
    history: list[tuple[float, str | None, str]]
    series: list[dict[str, Any]]
    actions: list[str]
    can_act: bool


def detail_data(
    model: DashboardModel,
    number: int | None,
    *,
    max_points: int = 160,
    can_act: bool = True,
    now: float | None = None,
) -> DetailData:
    """Computes the card of trial ``number`` (an empty card for None or an unknown trial).

    Example:
        >>> from hpo_lab.events import TrialStarted, MetricsReported, ParamsSuggested
        >>> m = DashboardModel("demo", ["minimize"], metric="loss")
        >>> _ = m.apply([TrialStarted(3), ParamsSuggested(3, {"lr": 0.01}),
        ...              MetricsReported(3, 0, {"loss": 1.0, "acc": 0.5})])
        >>> card = detail_data(m, 3)
        >>> card.state, card.params, [s["name"] for s in card.series], card.actions
        ('RUNNING', [('lr', '0.01')], ['loss', 'acc'], ['prune', 'stop'])
    """
    t = model.trials.get(number) if number is not None else None
    if t is None:
        return DetailData(None, None, False, [], [], [], None, None, [], [], [], can_act)
    state = t.display_state
    if model.n_objectives == 1:
        is_best = model.best is not None and model.best[0] == t.number
    else:
        is_best = t.number in model.pareto
    values = [(label, fmt_value(v)) for label, v in zip(model.objective_labels, t.values or ())]
    order = [n for n in model.param_names if n in t.params]
    params = [(n, fmt_value(t.params[n])) for n in order]
    info: list[tuple[str, str]] = []
    if t.device:
        info.append(("device", t.device))
    duration = t.duration(now)
    if duration is not None:
        info.append(("duration", _duration(duration)))
    if t.last_step is not None:
        info.append(("last step", fmt_value(t.last_step)))
    if t.parent is not None:
        info.append(("forked from", f"#{t.parent}"))
    series = []
    own = model.series.get(t.number, {})
    for name in [n for n in model.series_names if n in own]:
        s = own[name]
        if not len(s):
            continue
        x, y = s.display(max_points)
        finite = y[~(y != y)]
        series.append(
            {
                "name": name,
                "x": [_num(v) for v in x.tolist()],
                "y": [_num(v) for v in y.tolist()],
                "last": fmt_value(float(s.value[-1])),
                "min": fmt_value(float(finite.min())) if len(finite) else "—",
                "max": fmt_value(float(finite.max())) if len(finite) else "—",
            }
        )
    history = [(h.time, h.state, h.text) for h in t.history]
    return DetailData(
        t.number,
        state,
        bool(is_best),
        values,
        params,
        info,
        t.reason,
        t.traceback,
        history,
        series,
        list(ACTIONS.get(state, ())) if can_act else [],
        can_act,
    )


def _num(v: float) -> float | None:
    return v if math.isfinite(v) else None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    m, s = divmod(round(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrialDetail(anywidget.AnyWidget):
    """The selected trial's card (an anywidget). Its buttons call ``on_action`` callbacks.

    Front-end messages: ``{"type": "action", "action": "prune" | "stop", "number": int}``.

    Example:
        >>> card = TrialDetail()
        >>> card.on_action(lambda action, number: print(action, number))
        >>> card._handle_message(card, {"type": "action", "action": "prune", "number": 4}, [])
        prune 4
    """

    _esm = asset_path("trial_detail.js")
    _css = asset_path("dashboard.css")

    data = traitlets.Dict(help="DetailData as a dict.").tag(sync=True)
    height = traitlets.Int(340, help="Height in pixels.").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._callbacks = ipywidgets.CallbackDispatcher()
        self.on_msg(self._handle_message)

    def on_action(self, callback: ActionCallback, remove: bool = False) -> None:
        """Registers ``callback(action, number)`` for the card's buttons."""
        self._callbacks.register_callback(callback, remove=remove)

    def show(self, data: DetailData) -> None:
        """Sends ``data`` to the front end."""
        payload = data._asdict()
        payload["sent"] = time.time()
        self.data = payload

    def _handle_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if (
            isinstance(content, Mapping)
            and content.get("type") == "action"
            and content.get("action") in ("prune", "stop")
            and isinstance(content.get("number"), int)
        ):
            self._callbacks(content["action"], content["number"])
        else:
            logger.warning("TrialDetail ignored a front-end message: %r", content)
