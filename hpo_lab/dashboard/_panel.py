"""Panels: the dashboard's tabs, and how new ones plug in.

A panel is one tab of the dashboard. It follows Optuna's plot pattern, split in two steps:

- :meth:`Panel.compute` turns the dashboard's model into a small data object (a NamedTuple),
  with no widget in sight: this is what tests assert on;
- :meth:`Panel.apply` puts that data into the panel's widgets (plotly figures inside one
  ``batch_update``, anywidget traits, ipywidgets).

The dashboard calls them on its single pump thread, under its lock, at most once per batch of
events, and only for panels that have been shown and whose :meth:`Panel.wants` says the batch's
:class:`~hpo_lab.dashboard.Changes` matter to them. A hidden panel collects the changes it missed
and catches up when its tab is opened. :meth:`Panel.build` runs the first time the tab is shown,
so a panel nobody opens costs nothing (a plotly figure costs a ~5 MB message to open).

To add a panel, subclass :class:`Panel` and decorate it with :func:`register_panel`::

    @register_panel
    class ActionLogPanel(Panel):
        name = "actions"
        title = "Action log"
        order = 60

        def build(self):
            self.html = ipywidgets.HTML()
            return self.html

        def wants(self, changes):
            return changes.actions or changes.reset

        def compute(self, model):
            return tuple(model.actions[-50:])

        def apply(self, data):
            self.html.value = "<br>".join(f"{a.kind} ({a.source}): {a.result}" for a in data)

Every registered panel must pass ``tests/dashboard/test_panel_conformance.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from ._changes import Changes
from ._model import DashboardModel

if TYPE_CHECKING:
    import ipywidgets

    from hpo_lab.session import Session


class PanelContext:
    """What a panel may use besides the model: the selection, the session, its controls.

    Panels get it as ``self.context``. Its methods may be called from widget callbacks (the
    kernel's main thread): they take the dashboard's lock themselves.

    Attributes:
        session: The session shown (for forms that act on it, e.g. fork, constrain).
        options: The dashboard's display options (``max_points``, ``chunk``, ...).
        lock: The dashboard's lock: widget callbacks that read the model or touch widgets
            hold it (``compute`` and ``apply`` are already called under it).
    """

    def __init__(
        self,
        session: Session,
        options: dict[str, Any],
        *,
        lock: Any,
        get_model: Callable[[], DashboardModel],
        get_selected: Callable[[], int | None],
        select: Callable[[int | None], None],
        control: Callable[..., bool],
        refresh: Callable[[Panel], None],
        flush: Callable[[Panel], None] | None = None,
    ) -> None:
        self.session = session
        self.options = options
        self.lock = lock
        self._get_model = get_model
        self._get_selected = get_selected
        self._select = select
        self._control = control
        self._refresh = refresh
        self._flush = flush

    @property
    def model(self) -> DashboardModel:
        """The dashboard's model (read it in callbacks under ``with context.lock:``)."""
        return self._get_model()

    @property
    def selected(self) -> int | None:
        """The selected trial's number (None: none)."""
        return self._get_selected()

    def select(self, number: int | None) -> None:
        """Selects trial ``number`` everywhere (table, plots, detail)."""
        self._select(number)

    def control(self, action: str, **kwargs: Any) -> bool:
        """Runs a session control as the dashboard (``source="dashboard"`` in the action log).

        Args:
            action: ``"prune"``, ``"stop_trial"``, ``"pause"``, ``"resume"``, ``"stop"`` or
                ``"add_trials"``.
            **kwargs: Its arguments (``number=`` for trial controls, ``n=`` for add_trials).

        Returns:
            Whether the session accepted it; refusals are shown in the status bar, not raised.
        """
        return self._control(action, **kwargs)

    def refresh(self, panel: Panel) -> None:
        """Recomputes and redraws ``panel`` now (after one of its own options changed)."""
        self._refresh(panel)

    def flush(self, panel: Panel) -> None:
        """Applies the changes ``panel`` was kept waiting for, if any (see :meth:`Panel.ready`)."""
        if self._flush is not None:
            self._flush(panel)


class Panel(abc.ABC):
    """One tab of the dashboard. See the module docstring for the life cycle.

    Class attributes:
        name: Registry key (unique, an identifier-like string).
        title: The tab's label.
        order: Tabs are sorted by it (built-ins use 10, 20; later panels 30 and up).

    Args:
        context: What the panel may use besides the model.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    order: ClassVar[int] = 100

    def __init__(self, context: PanelContext) -> None:
        self.context = context

    @classmethod
    def available(cls, model: DashboardModel) -> bool:
        """Whether this panel makes sense for the session (e.g. Pareto: several objectives)."""
        return True

    @abc.abstractmethod
    def build(self) -> ipywidgets.Widget:
        """Creates the panel's widgets; returns the one to put in its tab (called once)."""

    @abc.abstractmethod
    def compute(self, model: DashboardModel) -> Any:
        """Computes the panel's data from the model, touching no widget and not the model.

        It may keep memos between calls, but its result must not depend on them.
        """

    @abc.abstractmethod
    def apply(self, data: Any) -> None:
        """Puts ``data`` (from :meth:`compute`) into the widgets made by :meth:`build`."""

    def wants(self, changes: Changes) -> bool:
        """Whether these changes call for :meth:`compute` and :meth:`apply` (default: any)."""
        return bool(changes)

    def ready(self) -> bool:
        """Whether the widgets can take an update now (default: yes).

        A figure whose browser has not drawn the last update says no; the dashboard keeps the
        changes for the next batch of events, or until the panel calls
        ``self.context.flush(self)``.
        """
        return True

    def close(self) -> None:  # noqa: B027  (optional hook: most panels have nothing to release)
        """Releases what :meth:`build` made (the dashboard closes the widget it returned)."""


_REGISTRY: dict[str, type[Panel]] = {}


def register_panel(cls: type[Panel]) -> type[Panel]:
    """Adds a panel class to the registry (usable as a class decorator).

    Raises:
        TypeError: If ``cls`` is not a :class:`Panel` subclass.
        ValueError: If its ``name`` or ``title`` is empty, or its name is taken by another class.
    """
    if not (isinstance(cls, type) and issubclass(cls, Panel)):
        raise TypeError(f"register_panel expects a Panel subclass, got {cls!r}")
    if not cls.name or not isinstance(cls.name, str) or not cls.name.replace("_", "").isalnum():
        raise ValueError(f"{cls.__name__}.name must be a non-empty identifier, got {cls.name!r}")
    if not cls.title or not isinstance(cls.title, str):
        raise ValueError(f"{cls.__name__}.title must be a non-empty string, got {cls.title!r}")
    other = _REGISTRY.get(cls.name)
    if other is not None and other is not cls and other.__qualname__ != cls.__qualname__:
        raise ValueError(
            f"panel name {cls.name!r} of {cls.__qualname__} is already registered by "
            f"{other.__qualname__}"
        )
    _REGISTRY[cls.name] = cls
    return cls


def unregister_panel(name: str) -> None:
    """Removes panel ``name`` from the registry (KeyError if unknown)."""
    del _REGISTRY[name]


def registered_panels() -> list[type[Panel]]:
    """The registered panel classes, in tab order."""
    return sorted(_REGISTRY.values(), key=lambda cls: (cls.order, cls.name))


def resolve_panels(panels: Any) -> list[type[Panel]]:
    """Panel classes from ``panels``: None (all registered), or names and classes.

    Raises:
        ValueError: An unknown name, or an empty selection.
        TypeError: Something that is neither a name nor a Panel subclass.
    """
    if panels is None:
        return registered_panels()
    if isinstance(panels, (str, type)):
        panels = [panels]
    out: list[type[Panel]] = []
    for p in panels:
        if isinstance(p, str):
            if p not in _REGISTRY:
                raise ValueError(f"panels: unknown panel {p!r}; registered: {sorted(_REGISTRY)}")
            out.append(_REGISTRY[p])
        elif isinstance(p, type) and issubclass(p, Panel):
            out.append(p)
        else:
            raise TypeError(f"panels must hold panel names or Panel subclasses, got {p!r}")
    if not out:
        raise ValueError("panels must name at least one panel")
    return out
