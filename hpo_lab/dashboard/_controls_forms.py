"""The fork and constrain forms: ipywidgets that show :mod:`._controls` data and read back what
the user typed. They act on nothing themselves: their buttons call the panel's handlers.

What the user typed is never overwritten by a live update: a form's fields are filled only when
what they describe changes (another trial selected, another parameter picked).
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from hpo_lab.constraints import ParamConstraint

from ._controls import (
    OPERATORS,
    ConstrainData,
    ConstraintRow,
    ForkData,
    ParamField,
    fmt_step,
    fmt_text,
    fork_overrides,
    outcome_expression,
    parse_bound,
    parse_field,
)
from ._hover import state_word

LEVELS = ("info", "ok", "error")
#: The step chooser's value for "the latest checkpoint" (a Dropdown shows None as no choice).
LATEST = "latest"


def css_name(name: str) -> str:
    """A parameter name as a CSS class suffix (``hpo-ctl-p-<it>``), for tests and styling.

    Example:
        >>> css_name("model.lr/2")
        'model-lr-2'
    """
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name)


def message_html(text: str, level: str) -> str:
    """A form's one-line outcome (``level``: ``info``, ``ok`` or ``error``), HTML-escaped."""
    if not text:
        return ""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    body = "<br>".join(html.escape(line, quote=False) for line in text.splitlines())
    return f"<div class='hpo-ctl-msg hpo-ctl-msg--{level}'>{body}</div>"


def _card(title: str, *children: w.Widget, name: str) -> w.VBox:
    head = w.HTML(f"<div class='hpo-ctl-title'>{html.escape(title)}</div>")
    box = w.VBox([head, *children])
    box.add_class("hpo-ctl-card")
    box.add_class(f"hpo-ctl-{name}")
    return box


def _text(placeholder: str = "", cls: str = "") -> w.Text:
    t = w.Text(placeholder=placeholder, layout=w.Layout(width="auto", min_width="0"))
    t.add_class("hpo-ctl-input")
    if cls:
        t.add_class(cls)
    return t


def _button(label: str, cls: str, style: str = "", icon: str = "", tooltip: str = "") -> w.Button:
    b = w.Button(description=label, button_style=style, icon=icon, tooltip=tooltip)
    b.layout = w.Layout(width="auto")
    b.add_class("hpo-ctl-button")
    b.add_class(cls)
    return b


class ForkForm:
    """Fork the selected trial: its parameters as editable fields, the checkpoint step to start
    from, and whether to stop the parent.

    Args:
        on_fork: Called (with no argument) when the Fork button is clicked.
        lock: Held while a widget callback changes the form (the dashboard's lock, which its
            pump holds while it calls :meth:`show`); None: no lock.

    Attributes:
        widget: The form's root widget.
        inputs: The current fields' widgets, by parameter name (a ``Text``, or a ``Dropdown``
            for a categorical).
    """

    def __init__(self, on_fork: Callable[[], Any], lock: Any = None) -> None:
        self._lock = lock if lock is not None else contextlib.nullcontext()
        self.data: ForkData | None = None
        self.inputs: dict[str, w.ValueWidget] = {}
        self._boxes: dict[str, w.Box] = {}
        self._key: tuple[Any, ...] | None = None
        self.subtitle = w.HTML()
        self.subtitle.add_class("hpo-ctl-subtitle")
        self.fields = w.Box()
        self.fields.add_class("hpo-ctl-fields")
        self.step = w.Dropdown(options=[("latest", LATEST)], description="From", disabled=True)
        self.step.layout = w.Layout(width="200px")
        self.step.style.description_width = "40px"
        self.step.add_class("hpo-ctl-step")
        self.stop_parent = w.Checkbox(
            description="stop the parent", indent=False, layout=w.Layout(width="auto")
        )
        self.stop_parent.add_class("hpo-ctl-stop-parent")
        self.reset = _button(
            "Reset", "hpo-ctl-reset", icon="undo", tooltip="Back to the trial's own values"
        )
        self.button = _button(
            "Fork",
            "hpo-ctl-fork-button",
            "primary",
            "code-fork",
            "A new trial from this trial's checkpoint, with the values above",
        )
        self.button.disabled = True
        self.reset.on_click(lambda _b: self._locked(self.fill_values))
        self.button.on_click(lambda _b: on_fork())
        actions = w.HBox([self.step, self.stop_parent, self.reset, self.button])
        actions.add_class("hpo-ctl-actions")
        self.message = w.HTML()
        self.message.add_class("hpo-ctl-message")
        self.widget = _card(
            "Fork a trial", self.subtitle, self.fields, actions, self.message, name="fork"
        )

    def _locked(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            fn(*args)

    # ------------------------------------------------------------------ showing data
    def show(self, data: ForkData) -> None:
        """Shows the trial ``data`` describes; keeps what was typed if it is the same trial."""
        previous = self.data
        self.data = data
        key = (data.number, tuple(f._replace(value=None, text="") for f in data.fields))
        if key != self._key:
            kept = self.entries() if previous is not None and previous.number == data.number else {}
            edited = {}
            for n, v in kept.items():
                f = _field(previous, n)
                if f is not None and v != (f.value if f.kind == "categorical" else f.text):
                    edited[n] = v
            self._key = key
            self._build_fields(data.fields, edited)
            if previous is None or previous.number != data.number:
                self.say("", "info")
                self.stop_parent.value = False
        self._show_steps(data.steps, data.enabled)
        self.subtitle.value = _subtitle(data)
        self.button.disabled = not data.enabled
        self.reset.disabled = not data.fields
        self.stop_parent.disabled = not (data.enabled and data.running)
        if not data.running:
            self.stop_parent.value = False
        for name, widget in self.inputs.items():
            widget.disabled = not data.enabled
            self._mark(name)

    def _build_fields(self, fields: tuple[ParamField, ...], edited: dict[str, Any]) -> None:
        for box in self._boxes.values():
            for child in box.children:
                child.close()
            box.close()
        self.inputs, self._boxes = {}, {}
        for f in fields:
            if f.kind == "categorical":
                # Values are indices: a Dropdown takes None for "nothing chosen", and choices
                # may be None, bools or floats.
                options = [(fmt_text(c), i) for i, c in enumerate(f.choices or ())]
                entry: w.ValueWidget = w.Dropdown(options=options, layout=w.Layout(width="auto"))
            else:
                entry = _text(f.hint or "a value")
            entry.value = _prefill(f)
            if f.name in edited:
                typed = _widget_value(f, edited[f.name])
                if typed is not None:  # else a choice that no longer exists
                    entry.value = typed
            entry.add_class("hpo-ctl-entry")
            label = w.HTML(
                f"<span class='hpo-ctl-name'>{html.escape(f.name)}</span>"
                f"<span class='hpo-ctl-hint'>{html.escape(f.hint)}</span>"
            )
            label.add_class("hpo-ctl-label")
            box = w.VBox([label, entry])
            box.add_class("hpo-ctl-field")
            box.add_class(f"hpo-ctl-p-{css_name(f.name)}")
            entry.observe(lambda _c, name=f.name: self._locked(self._mark, name), "value")
            self.inputs[f.name] = entry
            self._boxes[f.name] = box
        self.fields.children = tuple(self._boxes.values())

    def _show_steps(self, steps: tuple[float, ...], enabled: bool) -> None:
        if steps:
            latest = f"latest (step {fmt_step(steps[0])})"
            options = [(latest, LATEST)] + [(f"step {fmt_step(s)}", s) for s in steps]
        else:
            options = [("latest", LATEST)]
        if list(self.step.options) != options:
            chosen = self.step.value
            self.step.options = options
            self.step.value = chosen if chosen in steps else LATEST
        self.step.disabled = not (enabled and steps)

    def _mark(self, name: str) -> None:
        """Highlights a field whose value differs from the trial's."""
        f = _field(self.data, name) if self.data is not None else None
        box, entry = self._boxes.get(name), self.inputs.get(name)
        if f is None or box is None or entry is None:
            return
        changed = entry.value != _prefill(f)
        if changed:
            box.add_class("hpo-ctl-changed")
        else:
            box.remove_class("hpo-ctl-changed")

    def fill_values(self) -> None:
        """Puts the trial's own values back into the fields."""
        if self.data is None:
            return
        for f in self.data.fields:
            entry = self.inputs.get(f.name)
            if entry is not None:
                entry.value = _prefill(f)

    # ------------------------------------------------------------------ reading
    def entries(self) -> dict[str, Any]:
        """What each field holds now (text, or a categorical's chosen value)."""
        out = {}
        for name, entry in self.inputs.items():
            f = _field(self.data, name)
            value = entry.value
            if f is not None and f.kind == "categorical":
                choices = f.choices or ()
                value = (
                    choices[value] if isinstance(value, int) and value < len(choices) else f.value
                )
            out[name] = value
        return out

    def read(self) -> tuple[dict[str, Any], list[str]]:
        """The parameters changed from the trial's values, and the errors in the fields."""
        if self.data is None:
            return {}, ["no trial selected"]
        return fork_overrides(self.data.fields, self.entries())

    @property
    def chosen_step(self) -> float | None:
        """The checkpoint step chosen (None: the latest)."""
        value = self.step.value
        return None if value == LATEST or value is None else float(value)

    def say(self, text: str, level: str = "info") -> None:
        """Shows the outcome of the last fork (``level``: ``info``, ``ok``, ``error``)."""
        self.message.value = message_html(text, level)

    def close(self) -> None:
        for box in self._boxes.values():
            for child in box.children:
                child.close()
            box.close()
        _close_tree(self.widget)


def _field(data: ForkData | None, name: str) -> ParamField | None:
    if data is None:
        return None
    return next((f for f in data.fields if f.name == name), None)


def _widget_value(f: ParamField, value: Any) -> Any:
    """What ``f``'s widget holds for ``value``: a categorical's index (None: not a choice), or
    the text."""
    if f.kind != "categorical":
        return value
    return next((i for i, c in enumerate(f.choices or ()) if c == value), None)


def _prefill(f: ParamField) -> Any:
    """What ``f``'s widget holds at first."""
    return _widget_value(f, f.value) if f.kind == "categorical" else f.text


def _subtitle(d: ForkData) -> str:
    if d.number is None:
        return f"<span class='hpo-ctl-note'>{html.escape(d.reason)}</span>"
    state = (d.state or "").lower()
    parts = [
        f"<b>Trial {d.number}</b>",
        f"<span class='hpo-ctl-state hpo-ctl-state--{html.escape(state)}'>"
        f"{html.escape(state_word(d.state or ''))}</span>",
    ]
    if d.value:
        parts.append(html.escape(d.value))
    note_cls = "hpo-ctl-note" if d.enabled else "hpo-ctl-note hpo-ctl-note--blocked"
    return " · ".join(parts) + f"<div class='{note_cls}'>{html.escape(d.reason)}</div>"


class ConstrainForm:
    """Constrain the rest of the search: narrow or fix a parameter, or bound an outcome; and
    the constraints in force, each with a Relax button.

    Args:
        on_apply: Called (with no argument) when Apply is clicked.
        on_relax: Called with a constraint's target when its Relax button is clicked (None:
            Relax all).
        lock: Held while a widget callback changes the form (see :class:`ForkForm`).

    Attributes:
        widget: The form's root widget.
    """

    def __init__(
        self,
        on_apply: Callable[[], Any],
        on_relax: Callable[[str | None], Any],
        lock: Any = None,
    ) -> None:
        self._lock = lock if lock is not None else contextlib.nullcontext()
        self.data: ConstrainData | None = None
        self._on_relax = on_relax
        self._active: tuple[ConstraintRow, ...] | None = None
        self._shown_param: tuple[Any, ...] | None = None
        self.target = w.ToggleButtons(options=["Parameter", "Outcome"], value="Parameter")
        self.target.style.button_width = "92px"
        self.target.add_class("hpo-ctl-target")
        # Parameter row.
        self.param = w.Dropdown(options=[], layout=w.Layout(width="170px"))
        self.param.add_class("hpo-ctl-param")
        self.mode = w.ToggleButtons(options=["Range", "Fix"], value="Range")
        self.mode.style.button_width = "70px"
        self.mode.add_class("hpo-ctl-mode")
        self.low = _text("low", "hpo-ctl-low")
        self.high = _text("high", "hpo-ctl-high")
        self.value = _text("value", "hpo-ctl-value")
        self.choice = w.Dropdown(options=[], layout=w.Layout(width="160px"))
        self.choice.add_class("hpo-ctl-choice")
        self.choices = w.HBox()
        self.choices.add_class("hpo-ctl-choices")
        self._toggles: dict[int, w.ToggleButton] = {}
        dash = w.HTML("<span class='hpo-ctl-dash'>to</span>")
        self.range_row = w.HBox([self.low, dash, self.high])
        self.range_row.add_class("hpo-ctl-range")
        self.hint = w.HTML()
        self.hint.add_class("hpo-ctl-hint-line")
        self.param_row = w.HBox([self.param, self.mode])
        self.param_row.add_class("hpo-ctl-row")
        self.param_box = w.VBox(
            [self.param_row, self.range_row, self.value, self.choice, self.choices, self.hint]
        )
        # Outcome row.
        self.outcome = w.Combobox(
            placeholder="e.g. latency_ms",
            options=[],
            ensure_option=False,
            layout=w.Layout(width="170px"),
        )
        self.outcome.add_class("hpo-ctl-outcome")
        self.op = w.Dropdown(options=list(OPERATORS), value="<=", layout=w.Layout(width="64px"))
        self.op.add_class("hpo-ctl-op")
        self.bound = _text("bound", "hpo-ctl-bound")
        self.outcome_box = w.HBox([self.outcome, self.op, self.bound])
        self.outcome_box.add_class("hpo-ctl-row")
        self.apply = _button(
            "Apply",
            "hpo-ctl-apply",
            "primary",
            "filter",
            "Constrain the trials that start from now on",
        )
        self.apply.on_click(lambda _b: on_apply())
        self.message = w.HTML()
        self.message.add_class("hpo-ctl-message")
        self.active = w.VBox()
        self.active.add_class("hpo-ctl-active")
        self.relax_all = _button("Relax all", "hpo-ctl-relax-all", icon="times")
        self.relax_all.on_click(lambda _b: self._on_relax(None))
        self.target.observe(lambda _c: self._locked(self._layout), "value")
        self.param.observe(lambda _c: self._locked(self._fill_param), "value")
        self.mode.observe(lambda _c: self._locked(self._layout), "value")
        head = w.HBox([self.target, self.apply])
        head.add_class("hpo-ctl-row")
        self.widget = _card(
            "Constrain the search",
            head,
            self.param_box,
            self.outcome_box,
            self.message,
            self.active,
            name="constrain",
        )
        self._layout()

    def _locked(self, fn: Callable[[], Any]) -> None:
        with self._lock:
            fn()

    # ------------------------------------------------------------------ showing data
    def show(self, data: ConstrainData) -> None:
        """Shows the parameters and outcomes to pick from and the constraints in force."""
        self.data = data
        names = [f.name for f in data.params]
        if list(self.param.options) != names:
            chosen = self.param.value
            self.param.options = names
            self.param.value = chosen if chosen in names else (names[0] if names else None)
        if list(self.outcome.options) != list(data.outcomes):
            self.outcome.options = list(data.outcomes)
        self._fill_param()
        if data.active != self._active:
            self._active = data.active
            self._show_active(data.active)

    def _show_active(self, rows: tuple[ConstraintRow, ...]) -> None:
        for child in self.active.children:
            if child is not self.relax_all:
                _close_tree(child)
        items: list[w.Widget] = []
        title = "In force" if rows else "In force: nothing (the whole search space)"
        items.append(w.HTML(f"<div class='hpo-ctl-subhead'>{html.escape(title)}</div>"))
        for row in rows:
            text = w.HTML(
                f"<span class='hpo-ctl-kind'>{html.escape(row.kind)}</span>"
                f"<code>{html.escape(row.text)}</code>"
            )
            text.layout = w.Layout(flex="1 1 auto", min_width="0")
            button = _button("Relax", "hpo-ctl-relax", icon="times", tooltip=f"Remove {row.text}")
            button.on_click(lambda _b, target=row.target: self._on_relax(target))
            line = w.HBox([text, button])
            line.add_class("hpo-ctl-constraint")
            items.append(line)
        if len(rows) > 1:
            items.append(self.relax_all)
        self.active.children = tuple(items)

    def _param_field(self) -> ParamField | None:
        if self.data is None or self.param.value is None:
            return None
        return next((f for f in self.data.params if f.name == self.param.value), None)

    def _fill_param(self) -> None:
        """Fills the parameter row for the picked parameter (only when it changed)."""
        f = self._param_field()
        current = self._current(f.name) if f is not None else None
        key = (f, current)
        if key == self._shown_param:
            return
        self._shown_param = key
        if f is None:
            self._layout()
            return
        modes = ["Choices", "Fix"] if f.kind == "categorical" else ["Range", "Fix"]
        if list(self.mode.options) != modes:
            self.mode.options = modes
            self.mode.value = modes[0]
        if current is not None and current.is_fixed:
            self.mode.value = "Fix"
        ranged = current is not None and current.kind == "range"
        low = current.low if ranged and current.low is not None else f.low
        high = current.high if ranged and current.high is not None else f.high
        self.low.value = "" if low is None else fmt_text(low)
        self.high.value = "" if high is None else fmt_text(high)
        fixed = current.fixed if current is not None and current.is_fixed else None
        self.value.value = "" if fixed is None or f.kind == "categorical" else fmt_text(fixed)
        self.value.placeholder = f"value in {f.hint}" if f.hint else "value"
        for t in self._toggles.values():
            t.close()
        self._toggles = {}
        if f.kind == "categorical":
            allowed = current.choices if current is not None and current.choices else f.choices
            self.choice.options = [(fmt_text(c), i) for i, c in enumerate(f.choices or ())]
            index = _widget_value(f, fixed) if current is not None and current.is_fixed else None
            if index is not None:
                self.choice.value = index
            toggles = []
            for i, c in enumerate(f.choices or ()):
                t = w.ToggleButton(value=c in (allowed or ()), description=fmt_text(c))
                t.layout = w.Layout(width="auto")
                t.add_class("hpo-ctl-toggle")
                self._toggles[i] = t
                toggles.append(t)
            self.choices.children = tuple(toggles)
        hint = f"{f.name}: {f.hint}" if f.hint else f"{f.name}: its distribution is not known yet"
        if current is not None:
            hint += f" · now {current.describe()}"
        self.hint.value = f"<span class='hpo-ctl-hint'>{html.escape(hint)}</span>"
        self._layout()

    def _current(self, name: str) -> ParamConstraint | None:
        if self.data is None:
            return None
        for row in self.data.active:
            if isinstance(row.constraint, ParamConstraint) and row.constraint.name == name:
                return row.constraint
        return None

    def _layout(self) -> None:
        """Shows the inputs the target and mode call for."""
        outcome = self.target.value == "Outcome"
        f = self._param_field()
        categorical = f is not None and f.kind == "categorical"
        mode = self.mode.value
        show = {
            self.param_box: not outcome,
            self.outcome_box: outcome,
            self.range_row: not outcome and mode == "Range",
            self.value: not outcome and mode == "Fix" and not categorical,
            self.choice: not outcome and mode == "Fix" and categorical,
            self.choices: not outcome and mode == "Choices",
        }
        for widget, visible in show.items():
            widget.layout.display = None if visible else "none"
        self.apply.disabled = not outcome and f is None

    # ------------------------------------------------------------------ reading
    def read(self) -> tuple[str, dict[str, Any]]:
        """What to pass to ``session.constrain``: ``(target, keyword arguments)``.

        Raises:
            ValueError: Something is missing or is not a number (the message says which).
        """
        if self.target.value == "Outcome":
            return outcome_expression(self.outcome.value, self.op.value, self.bound.value), {}
        f = self._param_field()
        if f is None:
            raise ValueError("pick a parameter to constrain")
        mode = self.mode.value
        if mode == "Range":
            low = parse_bound(self.low.value, f"{f.name} low")
            high = parse_bound(self.high.value, f"{f.name} high")
            if low is None and high is None:
                raise ValueError(f"{f.name}: type a low end, a high end or both")
            return f.name, {"low": low, "high": high}
        if mode == "Choices":
            chosen = [c for i, c in enumerate(f.choices or ()) if self._toggles[i].value]
            if not chosen:
                raise ValueError(f"{f.name}: keep at least one choice")
            return f.name, {"choices": chosen}
        if f.kind == "categorical":
            index = self.choice.value
            if not isinstance(index, int) or not 0 <= index < len(f.choices or ()):
                raise ValueError(f"{f.name}: pick the value to fix it to")
            return f.name, {"fixed": (f.choices or ())[index]}
        return f.name, {"fixed": parse_field(f, self.value.value)}

    def say(self, text: str, level: str = "info") -> None:
        """Shows the outcome of the last Apply or Relax."""
        self.message.value = message_html(text, level)

    def close(self) -> None:
        for t in self._toggles.values():
            t.close()
        _close_tree(self.widget)
        self.relax_all.close()


def _close_tree(widget: w.Widget) -> None:
    """Closes ``widget`` and every widget inside it."""
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()
