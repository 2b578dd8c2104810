"""The dashboard's plotly figure: a ``FigureWidget`` whose front end's acknowledgements arrive,
and cost the kernel next to nothing.

After every edit, plotly's widget front end sends two messages: the trace deltas and the layout
delta. These are the defaults plotly.js filled in for every trace and for the layout, and each
carries the edit's id. plotly's kernel side does two things with them:

- **It applies every default to the figure.** That cost 81 ms per update on the kernel's main
  thread (up to 150 ms) for the learning-curves figure of a 1,000-trial search: 9.4 s of every
  minute while trials streamed. Cells waited behind it (a trivial cell took 270 ms instead of
  about 60) and so did the pump. The dashboard never reads those defaults. It sets what it draws,
  and reads zoom and clicks from plotly's separate relayout and click messages.
- **It tracks whether an edit is still in process**, for ``on_edits_completed``. That is broken
  in plotly.py 6 and 7: the front end sends the layout delta as ``_js2py_widget_layoutDelta``,
  while the kernel side listens to ``_js2py_layoutDelta`` (the ``_layout`` →
  ``_widget_layout`` rename of plotly.py #4956 reached one side only). After the first edit a
  layout edit stays "in process" forever, and ``on_edits_completed`` never calls back again.

:class:`LiveFigure` keeps the second job, under both names, and drops the first: it keeps only
the edit ids of the deltas, before plotly's deserializer walks them.

The other way, plotly sends every edit as four messages: its two edit counters (synced traits
a view drawn later reads), the edit, and the edit's trait set back to None, which plotly.js
ignores. :class:`LiveFigure` sends the counters with the edit, in one message, and keeps the
None to itself.

The front end spends too: to make the deltas it compares every trace's defaults with its copy,
all traces at every edit (a tenth of the browser's time while a 1,000-trial search streamed),
and the two messages it sends make JupyterLab redraw the kernel's busy/idle indicator. So
:class:`LiveFigure`'s front end is plotly's own bundle with its view patched by
``widgets/figure_view.js`` (see :func:`lean_bundle`):

- no trace deltas, and an empty layout delta that carries the edit's id, which acknowledges the
  edit;
- an animation that only changes SVG scatter traces' points, names, hover texts and styles is
  drawn by recomputing and redrawing just those traces, as plotly's animate draws them, without
  supplying the defaults of every trace and recomputing all of them first (two thirds of
  plotly.js's time per frame while running trials' curves grow; see ``._send``). Anything else
  goes to plotly's animate.

Should a plotly release no longer export its view under the name patched, the figure uses
plotly's bundle as it is, and the kernel side works either way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
from plotly.serializers import custom_serializers
from traitlets import Dict, observe

from ._assets import asset_path


def _edit_ids(value: Any, _manager: Any) -> Any:
    """A delta message from the front end, reduced to its edit ids."""
    if not isinstance(value, dict):
        return value
    return {k: value[k] for k in ("trace_edit_id", "layout_edit_id") if k in value}


_EDIT_IDS = {"from_json": _edit_ids, "to_json": custom_serializers["to_json"]}
#: The bundle's last statement, which exports plotly's widget view class.
_EXPORTS = re.compile(r"export\s*\{[^}]*?([\w$]+) as FigureView\b[^}]*\}\s*;?\s*")
#: What is patched into plotly's view: a JavaScript function of the view class (see the file).
VIEW_PATCH_FILE = "figure_view.js"


def lean_bundle(text: str, patch: str | None = None) -> str | None:
    """plotly's widget bundle ``text`` with its view patched by ``patch`` (default: the
    dashboard's ``widgets/figure_view.js``): a JavaScript function expression, which is called
    with the view class just before the bundle's last ``export``. None: ``text`` does not export
    its view as ``FigureView``, or lacks a method patched, so it cannot be patched.

    Example:
        >>> code = ("class A{_sendLayoutDelta(e){}do_animate(){}}"
        ...         "export{M as FigureModel,A as FigureView};")
        >>> print(lean_bundle(code, "(function (View) { View.lean = true; });"))
        class A{_sendLayoutDelta(e){}do_animate(){}};
        (function (View) { View.lean = true; })(A);
        export{M as FigureModel,A as FigureView};
        >>> lean_bundle("export default {render() {}}") is None
        True
    """
    # the last one: the bundle's own (an earlier one is in the code of a web worker)
    found = next(reversed(list(_EXPORTS.finditer(text))), None)
    if found is None or "_sendLayoutDelta(" not in text or "do_animate(" not in text:
        return None
    if patch is None:
        patch = asset_path(VIEW_PATCH_FILE).read_text(encoding="utf-8")
    call = patch.strip().removesuffix(";")
    at = found.start()
    return f"{text[:at]};\n{call}({found.group(1)});\n{text[at:]}"


def _read_lean_bundle() -> str | None:
    try:
        text = (Path(plotly.__file__).parent / "package_data" / "widgetbundle.js").read_text(
            encoding="utf-8"
        )
    except OSError:
        return None
    return lean_bundle(text)


#: LiveFigure's front end (None: plotly's, unpatched).
LEAN_ESM = _read_lean_bundle()


class LiveFigure(go.FigureWidget):
    """A ``plotly.graph_objects.FigureWidget`` whose ``on_edits_completed`` calls back, and
    which does not copy the front end's defaults into the figure.

    Example:
        >>> fig = LiveFigure()
        >>> fig._send_restyle_msg({"name": ["a"]})  # as a restyle does: an edit in process
        >>> done = []
        >>> fig.on_edits_completed(lambda: done.append(True))
        >>> fig._js2py_traceDeltas = {"trace_deltas": [], "trace_edit_id": 1}
        >>> fig._js2py_widget_layoutDelta = {"layout_delta": {}, "layout_edit_id": 1}
        >>> done
        [True]
        >>> acked = []
        >>> fig.on_acknowledged(acked.append)  # every acknowledged edit, by its id
        >>> fig._js2py_layoutDelta = {"layout_delta": {}, "layout_edit_id": 7}
        >>> acked
        [7]
    """

    if LEAN_ESM is not None:
        _esm = LEAN_ESM
    #: Whether the front end sends layout deltas only (see :func:`lean_bundle`).
    lean = LEAN_ESM is not None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ack_callbacks: list[Callable[[int], Any]] = []

    def on_acknowledged(self, callback: Callable[[int], Any]) -> None:
        """Calls ``callback`` with the layout-edit id of every edit the front end acknowledges
        (it has drawn it, and every edit before it), on the kernel's main thread."""
        self._ack_callbacks.append(callback)

    # The deltas arrive with every default of every trace (85 kB of JSON for 65 traces); only
    # their edit ids are kept, so the kernel does not walk the rest.
    _js2py_traceDeltas = Dict(allow_none=True).tag(sync=True, **_EDIT_IDS)
    _js2py_layoutDelta = Dict(allow_none=True).tag(sync=True, **_EDIT_IDS)
    _js2py_widget_layoutDelta = Dict(allow_none=True).tag(sync=True, **_EDIT_IDS)

    # These two replace plotly's handlers of the same names (traitlets finds handlers by name).
    # Neither resets its trait to None as plotly's do: from the kernel, that is one more message
    # to the front end per update, and edit ids never repeat, so every delta is a change anyway.
    @observe("_js2py_traceDeltas")
    def _handler_js2py_traceDeltas(self, change: dict[str, Any]) -> None:
        message = change["new"]
        if message and message.get("trace_edit_id") == self._last_trace_edit_id:
            self._trace_edit_in_process = False
            self._call_waiting()

    @observe("_js2py_layoutDelta", "_js2py_widget_layoutDelta")
    def _handler_js2py_layoutDelta(self, change: dict[str, Any]) -> None:
        message = change["new"]
        edit_id = message.get("layout_edit_id") if message else None
        if isinstance(edit_id, int):
            for callback in list(self._ack_callbacks):
                callback(edit_id)
        if message and message.get("layout_edit_id") == self._last_layout_edit_id:
            self._layout_edit_in_process = False
            if self.lean:  # no trace deltas come: this edit's trace part was drawn too
                self._trace_edit_in_process = False
            self._call_waiting()

    # One message per edit (see the module's docstring): the counters wait for the edit, and
    # the trait's reset to None stays in the kernel, so the next edit is a change.
    _EDIT_COUNTERS = ("_last_layout_edit_id", "_last_trace_edit_id")
    # a class default: plotly's __init__ sets the counters before this class's runs
    _counters_unsent: frozenset[str] = frozenset()

    def _should_send_property(self, key: str, value: Any) -> bool:
        if not self._holding_sync:
            if key in self._EDIT_COUNTERS:
                self._counters_unsent = self._counters_unsent | {key}
                return False
            if key.startswith("_py2js_"):
                if value is not None:
                    keys = [*sorted(self._counters_unsent), key]
                    self._counters_unsent = frozenset()
                    self.send_state(keys)
                return False
        return super()._should_send_property(key, value)

    def _call_waiting(self) -> None:
        if not (self._trace_edit_in_process or self._layout_edit_in_process):
            while self._waiting_edit_callbacks:
                self._waiting_edit_callbacks.pop()()
