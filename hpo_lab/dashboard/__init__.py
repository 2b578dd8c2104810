"""Dashboard widgets: live views of a study in JupyterLab."""

from ._table import TrialTable

__all__ = ["TrialTable"]
