"""Checking a constraint against what the session has seen so far."""

from __future__ import annotations

from typing import TYPE_CHECKING

from optuna.distributions import BaseDistribution

from hpo_lab.constraints import OutcomeConstraint, ParamConstraint

if TYPE_CHECKING:
    from hpo_lab.session._session import Session


def known_distributions(session: Session) -> dict[str, BaseDistribution]:
    """Each parameter's distribution in the most recent trial that suggested it."""
    out: dict[str, BaseDistribution] = {}
    for t in session.study.get_trials(deepcopy=False):
        out.update(t.distributions)
    return out


def check_param(session: Session, c: ParamConstraint, strict: bool) -> None:
    dists = known_distributions(session)
    if c.name in dists:
        c.check_against(dists[c.name])
    elif strict and dists:
        raise ValueError(
            f"constrain: no trial has suggested a parameter {c.name!r} yet; known parameters are "
            f"{sorted(dists)} (pass strict=False for one that appears later)"
        )


def known_outcomes(session: Session) -> set[str]:
    names = set(session.objective_names or [])
    names.update(session.store.series_names(session.name))
    for t in session.study.get_trials(deepcopy=False):
        names.update(k for k, v in t.user_attrs.items() if isinstance(v, (int, float)))
    return names


def check_outcome(session: Session, c: OutcomeConstraint, strict: bool) -> None:
    names = known_outcomes(session)
    if strict and names and c.name not in names:
        raise ValueError(
            f"constrain: {c.name!r} is not an objective, a reported series or a numeric user "
            f"attribute of this session; known: {sorted(names)} (pass strict=False for one that "
            "appears later)"
        )
