"""The Session: a search you start, watch and steer from a notebook."""

from hpo_lab.session._config import SessionNotFoundError
from hpo_lab.session._manage import delete_session, list_sessions
from hpo_lab.session._session import Session

__all__ = ["Session", "SessionNotFoundError", "delete_session", "list_sessions"]
