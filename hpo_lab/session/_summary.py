"""Tables and summaries of a session: text and HTML reprs, DataFrames."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape as e
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from hpo_lab.session._session import Session


def counts(session: Session) -> Counter[str]:
    """How many trials are in each state."""
    return Counter(t.state.name for t in session.trials)


def _best(session: Session) -> tuple[float, int] | None:
    return session._best_so_far()


def text(session: Session) -> str:
    c = counts(session)
    total = sum(c.values())
    parts = [f"name={session.name!r}", f"state={session.state!r}", f"trials={total}"]
    detail = ", ".join(
        f"{c[s]} {s.lower()}" for s in ("RUNNING", "COMPLETE", "PRUNED", "FAIL") if c[s]
    )
    if detail:
        parts[-1] += f" ({detail})"
    best = _best(session)
    if best is not None:
        parts.append(f"best={best[0]:.6g} (trial {best[1]})")
    elif session.objective_names or len(session.directions) > 1:
        parts.append(f"pareto_front={len(session.best_trials)} trials")
    return f"Session({', '.join(parts)})"


def html_summary(session: Session) -> str:
    c = counts(session)
    names = session.objective_names or [f"value {i}" for i in range(len(session.directions))]
    rows = [
        ("state", session.state),
        ("objectives", ", ".join(f"{n} ({d})" for n, d in zip(names, session.directions))),
        ("metric", session.metric or "—"),
        (
            "trials",
            ", ".join(
                f"{c[s]} {s.lower()}"
                for s in ("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING")
                if c[s]
            )
            or "none yet",
        ),
        ("storage", session.storage.describe()),
    ]
    best = _best(session)
    if best is not None:
        params = session.trials[best[1]].params
        rows.append(("best", f"{best[0]:.6g} (trial {best[1]})"))
        rows.append(("best params", ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())))
    body = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{e(k)}</th>"
        f"<td style='text-align:left'>{e(str(v))}</td></tr>"
        for k, v in rows
    )
    return (
        f"<div class='hpo-lab-session'><b>hpo_lab Session</b> <code>{e(session.name)}</code>"
        f"<table>{body}</table></div>"
    )


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def trials_dataframe(session: Session, **kwargs: Any) -> pd.DataFrame:
    df = session.study.trials_dataframe(**kwargs)
    if df.empty:
        return df
    last = session.store.last_steps(session.name)
    df["last_step"] = df["number"].map(lambda n: last.get(int(n), np.nan))
    return df


def metrics_frame(
    session: Session, trial: int | None, names: Sequence[str] | None, wide: bool | None
) -> pd.DataFrame:
    session._writer.flush()
    pts = session.store.read_points(
        session.name, trials=None if trial is None else [trial], names=names
    )
    long = pd.DataFrame(
        {
            "trial": pts.trial,
            "name": pts.name.astype(str),
            "step": pts.step,
            "value": pts.value,
            "time": pts.time,
        }
    )
    if wide is None:
        wide = trial is not None
    if not wide:
        return long
    if long.empty:
        return pd.DataFrame(index=pd.Index([], name="step", dtype=float))
    index = ["step"] if trial is not None else ["trial", "step"]
    out = long.pivot_table(index=index, columns="name", values="value", aggfunc="last")
    out.columns.name = None
    return out


def actions_frame(session: Session) -> pd.DataFrame:
    recs = session.store.read_actions(session.name)
    df = pd.DataFrame(recs, columns=["id", "time", "source", "kind", "trial", "payload", "result"])
    if not df.empty:
        df["time"] = pd.to_datetime(df["time"], unit="s")
    return df
