"""The dashboard's trial table: a virtualised, sortable anywidget fed by incremental updates.

Python keeps the authoritative rows (trial number → row dict). :meth:`TrialTable.upsert` sends
only the rows it was given; the front end merges them into its own copy and re-renders the visible
window. A view that (re)connects asks for a snapshot and gets every row, in chunks.

Messages, Python → front end (``widget.send``):
    ``{"type": "upsert", "rows": [row, ...]}``: merge these (partial) rows, keyed by ``number``.
    ``{"type": "remove", "numbers": [int, ...]}``: drop these rows.
    ``{"type": "clear"}``: drop every row.
    ``{"type": "snapshot", "rows": [row, ...], "chunk": i, "chunks": n}``: the full table;
    chunk 0 replaces everything, later chunks add to it.

Messages, front end → Python:
    ``{"type": "snapshot_request"}``: answered with snapshot chunks.
    ``{"type": "action", "action": name, "number": int}``: a row button was clicked; registered
    callbacks get ``callback(name, number)``.

Row values travel as JSON numbers, strings or null; NaN and ±infinity as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``; booleans as ``"True"``/``"False"``.
"""

from __future__ import annotations

import logging
import math
import numbers
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import anywidget
import ipywidgets
import traitlets

from ._assets import asset_path

logger = logging.getLogger(__name__)

COLUMN_TYPES = ("int", "float", "str", "state", "duration")
DEFAULT_COLUMNS: tuple[dict[str, Any], ...] = (
    {"key": "number", "label": "#", "type": "int"},
    {"key": "state", "label": "State", "type": "state"},
    {"key": "value", "label": "Value", "type": "float"},
    {"key": "last_step", "label": "Step", "type": "int"},
    {"key": "duration", "label": "Duration", "type": "duration"},
)
DEFAULT_ACTIONS: tuple[dict[str, Any], ...] = (
    {"name": "prune", "label": "Prune", "states": ["RUNNING"]},
    {"name": "stop", "label": "Stop", "states": ["RUNNING", "WAITING", "PAUSED"]},
)
ALWAYS_ALLOWED_KEYS = frozenset({"number", "state"})
CHUNK_ROWS = 2000

ActionCallback = Callable[[str, int], Any]


class TrialTable(anywidget.AnyWidget):
    """A table of trials, one row each, that stays smooth at 10,000 rows.

    Rows are dicts keyed by column key; ``"number"`` (the trial number) is required and
    ``"state"`` (``"RUNNING"``, ``"COMPLETE"``, ``"PRUNED"``, ``"FAIL"``, ``"WAITING"`` or a
    display-only state such as ``"PAUSED"``) styles the row and decides which actions it offers,
    whether or not a column shows it. ``upsert`` merges partial rows, so a pump thread can send
    only what changed. It may be called from one background thread.

    Args:
        columns: Column specs ``{"key", "label", "type", "width"}``; ``type`` is one of
            ``COLUMN_TYPES`` (default ``"str"``), ``label`` defaults to the key, ``width`` (px) is
            optional. Default: number, state, value, last step, duration.
        actions: Row buttons ``{"name", "label", "states"}``: shown on rows whose state is in
            ``states``. Default: prune (running) and stop (running, waiting, paused).
        **kwargs: Initial trait values (``selected``, ``best``, ``sort_by``, ``height``, ...).

    Example:
        >>> table = TrialTable()
        >>> table.upsert([{"number": 0, "state": "RUNNING", "last_step": 3}])
        >>> table.upsert([{"number": 0, "state": "COMPLETE", "value": 0.125}])
        >>> table.rows[0]
        {'number': 0, 'state': 'COMPLETE', 'last_step': 3, 'value': 0.125}
        >>> table.on_action(lambda action, number: print(action, number))
    """

    _esm = asset_path("trial_table.js")
    _css = asset_path("trial_table.css")

    columns = traitlets.List(traitlets.Dict(), help="Column specs, in display order.").tag(
        sync=True
    )
    actions = traitlets.List(traitlets.Dict(), help="Per-row buttons.").tag(sync=True)
    selected = traitlets.Int(None, allow_none=True, help="Selected trial number.").tag(sync=True)
    best = traitlets.Int(None, allow_none=True, help="Trial number to emphasise.").tag(sync=True)
    sort_by = traitlets.Unicode("number", help="Key of the column to sort by.").tag(sync=True)
    sort_desc = traitlets.Bool(False, help="Sort descending.").tag(sync=True)
    filter_text = traitlets.Unicode("", help="Show rows whose text holds every word.").tag(
        sync=True
    )
    filter_states = traitlets.List(traitlets.Unicode(), help="Show only these states.").tag(
        sync=True
    )
    height = traitlets.Int(340, help="Height of the widget in pixels.").tag(sync=True)

    def __init__(
        self,
        columns: Iterable[Mapping[str, Any]] | None = None,
        actions: Iterable[Mapping[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        self._lock = threading.RLock()
        self._rows: dict[int, dict[str, Any]] = {}
        self._action_callbacks = ipywidgets.CallbackDispatcher()
        super().__init__(
            columns=list(DEFAULT_COLUMNS if columns is None else columns),
            actions=list(DEFAULT_ACTIONS if actions is None else actions),
            **kwargs,
        )
        self.on_msg(self._handle_message)

    # --- public API -------------------------------------------------------------------------

    @property
    def rows(self) -> dict[int, dict[str, Any]]:
        """A copy of the rows, keyed by trial number (values as given, not as sent)."""
        with self._lock:
            return {number: dict(row) for number, row in self._rows.items()}

    def upsert(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Adds rows or merges new values into existing ones, and sends only these rows.

        All rows are checked before any is applied. A key set to None clears that cell.

        Args:
            rows: Mappings of column key to value; each needs ``"number"`` (an int). Values are
                ints, floats, strings, booleans, None, or numpy scalars of those.

        Raises:
            TypeError: If a row is no mapping, or a number or value has the wrong type.
            ValueError: If a row has no ``"number"`` or a key that is not a column.
        """
        checked = [self._check_row(row, f"rows[{i}]") for i, row in enumerate(rows)]
        if not checked:
            return
        with self._lock:
            for row in checked:
                self._rows.setdefault(row["number"], {}).update(row)
            for start in range(0, len(checked), CHUNK_ROWS):
                chunk = checked[start : start + CHUNK_ROWS]
                self.send({"type": "upsert", "rows": [_encode_row(row) for row in chunk]})

    def remove(self, numbers: Iterable[int]) -> None:
        """Drops the rows of these trial numbers (unknown numbers are ignored)."""
        with self._lock:
            gone = [int(n) for n in numbers if int(n) in self._rows]
            for number in gone:
                del self._rows[number]
            if gone:
                self.send({"type": "remove", "numbers": gone})
        if self.selected in gone:
            self.selected = None

    def clear(self) -> None:
        """Drops every row."""
        with self._lock:
            self._rows.clear()
            self.send({"type": "clear"})
        self.selected = None

    def on_action(self, callback: ActionCallback, remove: bool = False) -> None:
        """Registers ``callback(action, trial_number)`` for clicks on row buttons.

        Args:
            callback: Called on the kernel's main thread with the action's name (e.g.
                ``"prune"``) and the row's trial number.
            remove: Unregister ``callback`` instead.
        """
        self._action_callbacks.register_callback(callback, remove=remove)

    # --- validation -------------------------------------------------------------------------

    @traitlets.validate("columns")
    def _validate_columns(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        specs = [_check_column(spec, f"columns[{i}]") for i, spec in enumerate(proposal["value"])]
        keys = [spec["key"] for spec in specs]
        duplicates = sorted({key for key in keys if keys.count(key) > 1})
        if duplicates:
            raise ValueError(f"columns: keys must be unique; repeated: {duplicates}")
        return specs

    @traitlets.validate("actions")
    def _validate_actions(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        return [_check_action(spec, f"actions[{i}]") for i, spec in enumerate(proposal["value"])]

    @traitlets.validate("sort_by")
    def _validate_sort_by(self, proposal: dict[str, Any]) -> str:
        keys = self._column_keys()
        if proposal["value"] not in keys:
            raise ValueError(
                f"sort_by must be a column key {sorted(keys)}; got {proposal['value']!r}"
            )
        return str(proposal["value"])

    @traitlets.validate("height")
    def _validate_height(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 120:
            raise ValueError(f"height must be at least 120 (pixels); got {proposal['value']}")
        return int(proposal["value"])

    def _column_keys(self) -> set[str]:
        return {spec["key"] for spec in self.columns} | ALWAYS_ALLOWED_KEYS

    def _check_row(self, row: Any, where: str) -> dict[str, Any]:
        if not isinstance(row, Mapping):
            raise TypeError(f"{where} must be a mapping of column key to value; got {row!r}")
        if "number" not in row:
            raise ValueError(f"{where} has no 'number': every row needs its trial number")
        number = row["number"]
        if isinstance(number, bool) or not isinstance(number, numbers.Integral):
            raise TypeError(f"{where}['number'] must be an int; got {number!r}")
        keys = self._column_keys()
        checked: dict[str, Any] = {}
        for key, value in row.items():
            if key not in keys:
                raise ValueError(
                    f"{where} has unknown column {key!r}; known: {sorted(keys)} "
                    "(add it to `columns` first)"
                )
            checked[key] = _check_value(value, f"{where}[{key!r}]")
        if checked.get("state") is not None and not isinstance(checked["state"], str):
            raise TypeError(
                f"{where}['state'] must be a str such as 'RUNNING'; got {row['state']!r}"
            )
        return checked

    # --- messages from the front end --------------------------------------------------------

    def _handle_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, Mapping) else None
        if kind == "snapshot_request":
            self._send_snapshot()
        elif kind == "action":
            self._dispatch_action(content)
        else:
            logger.warning("TrialTable ignored a front-end message of unknown type: %r", content)

    def _send_snapshot(self) -> None:
        with self._lock:
            rows = [_encode_row(row) for row in self._rows.values()]
            chunks = max(1, math.ceil(len(rows) / CHUNK_ROWS))
            for index in range(chunks):
                part = rows[index * CHUNK_ROWS : (index + 1) * CHUNK_ROWS]
                self.send({"type": "snapshot", "rows": part, "chunk": index, "chunks": chunks})

    def _dispatch_action(self, content: Mapping[str, Any]) -> None:
        """Calls the callbacks if the action applies to the row's current state.

        A view can lag behind (a button clicked just as its trial completed): such clicks are
        logged and dropped rather than passed on.
        """
        action, number = content.get("action"), content.get("number")
        states = {spec["name"]: spec["states"] for spec in self.actions}.get(action)
        with self._lock:
            row = self._rows.get(number) if isinstance(number, int) else None
            state = None if row is None else row.get("state")
        if states is None or row is None or state not in states:
            logger.warning("TrialTable ignored action %r on trial %r (%s)", action, number, state)
            return
        self._action_callbacks(action, number)


def _check_column(spec: Any, where: str) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise TypeError(f"{where} must be a dict with 'key', 'label', 'type'; got {spec!r}")
    unknown = set(spec) - {"key", "label", "type", "width"}
    if unknown:
        raise ValueError(
            f"{where} has unknown fields {sorted(unknown)}; expected key/label/type/width"
        )
    key = spec.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError(f"{where}['key'] must be a non-empty str; got {key!r}")
    kind = spec.get("type", "str")
    if kind not in COLUMN_TYPES:
        raise ValueError(f"{where}['type'] must be one of {COLUMN_TYPES}; got {kind!r}")
    checked = {"key": key, "label": str(spec.get("label", key)), "type": kind}
    width = spec.get("width")
    if width is not None:
        if isinstance(width, bool) or not isinstance(width, int) or width < 24:
            raise ValueError(
                f"{where}['width'] must be an int of at least 24 (pixels); got {width!r}"
            )
        checked["width"] = width
    return checked


def _check_action(spec: Any, where: str) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise TypeError(f"{where} must be a dict with 'name', 'label', 'states'; got {spec!r}")
    name, states = spec.get("name"), spec.get("states")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}['name'] must be a non-empty str; got {name!r}")
    if isinstance(states, str) or not isinstance(states, Iterable):
        raise ValueError(
            f"{where}['states'] must be a list of states such as ['RUNNING']; got {states!r}"
        )
    return {"name": name, "label": str(spec.get("label", name)), "states": [str(s) for s in states]}


def _check_value(value: Any, where: str) -> Any:
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy bool_ and friends
        return _check_value(value.item(), where)
    raise TypeError(f"{where} must be an int, float, str, bool or None; got {type(value).__name__}")


def _encode_value(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _encode_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _encode_value(value) for key, value in row.items()}
