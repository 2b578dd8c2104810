"""The dashboard's look, shared by every view: state colours (the same as the trial table's),
a palette for running trials, fonts and the plotly layout defaults."""

from __future__ import annotations

from typing import Any

STATE_COLORS = {
    "RUNNING": "#1a73e8",
    "PAUSED": "#b06000",
    "COMPLETE": "#1e8e3e",
    "PRUNED": "#8d949e",
    "FAIL": "#d93025",
    "WAITING": "#8a6d3b",
}
BEST_COLOR = "#f2a900"
SELECTED_COLOR = "#202124"
GRID_COLOR = "#eceef1"
AXIS_COLOR = "#d5d9de"
TEXT_COLOR = "#3c4043"
MUTED_TEXT = "#70757a"
#: Distinct, saturated colours for running trials (a trial keeps its colour while it runs).
RUNNING_PALETTE = (
    "#1a73e8",
    "#e8710a",
    "#9334e6",
    "#12b5cb",
    "#e52592",
    "#7cb342",
    "#f9ab00",
    "#5f6368",
    "#3949ab",
    "#00897b",
)
#: Sequential colour scale for objective values (dark: good).
VALUE_SCALE = "Viridis"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def running_color(number: int) -> str:
    """The colour of running trial ``number``."""
    return RUNNING_PALETTE[number % len(RUNNING_PALETTE)]


def axis(**extra: Any) -> dict[str, Any]:
    """Axis defaults: light grid, no zero line, small ticks."""
    out: dict[str, Any] = {
        "gridcolor": GRID_COLOR,
        "linecolor": AXIS_COLOR,
        "zeroline": False,
        "showline": True,
        "ticks": "outside",
        "tickcolor": AXIS_COLOR,
        "ticklen": 3,
        "tickfont": {"size": 10, "color": MUTED_TEXT},
        "title": {"font": {"size": 11, "color": MUTED_TEXT}, "standoff": 6},
        "automargin": True,
    }
    out.update(extra)
    return out


def base_layout(height: int, **extra: Any) -> dict[str, Any]:
    """Figure defaults: white, compact margins, the notebook's font, hover labels that fit."""
    out: dict[str, Any] = {
        "template": "plotly_white",
        "height": height,
        "autosize": True,
        "margin": {"l": 8, "r": 12, "t": 34, "b": 8},
        "font": {"family": FONT, "size": 11, "color": TEXT_COLOR},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "hoverlabel": {"font": {"family": FONT, "size": 11}, "align": "left"},
        "legend": {
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "xanchor": "left",
            "x": 0,
            "font": {"size": 10, "color": MUTED_TEXT},
            "itemsizing": "constant",
            "bgcolor": "rgba(0,0,0,0)",
        },
        "uirevision": "keep",  # zoom and legend clicks survive data updates
    }
    out.update(extra)
    return out


def subplot_title(text: str, x: float, y: float = 1.0, anchor: str = "left") -> dict[str, Any]:
    """An annotation that titles a subplot (top-left corner of its domain)."""
    return {
        "text": f"<b>{text}</b>",
        "x": x,
        "y": y,
        "xref": "paper",
        "yref": "paper",
        "xanchor": anchor,
        "yanchor": "bottom",
        "showarrow": False,
        "font": {"size": 12, "color": TEXT_COLOR},
    }


def placeholder(text: str, x: float = 0.5, y: float = 0.5) -> dict[str, Any]:
    """An annotation that says what a (sub)plot would show, where it has nothing to show yet."""
    return {
        "text": text,
        "x": x,
        "y": y,
        "xref": "paper",
        "yref": "paper",
        "showarrow": False,
        "font": {"size": 12, "color": MUTED_TEXT},
    }
