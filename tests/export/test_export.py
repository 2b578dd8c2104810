"""Session.export end to end: the script reproduces the trial in a fresh process, JSON and YAML
round-trip, several objectives need a named rule, lineage is carried, and neither storage
locations nor passwords ever reach the file."""

from __future__ import annotations

import functools
import json
import math
import warnings
from pathlib import Path

import optuna
import pytest
import yaml

import hpo_lab as hl
from hpo_lab.examples.digits import digits_objective
from hpo_lab.examples.digits_multi import DIRECTIONS, digits_multi_objective
from hpo_lab.export import ExportRecord, load_export, stored_objectives
from hpo_lab.export._export import export_study, resolve_target
from hpo_lab.export._redact import storage_secrets
from hpo_lab.storage import resolve_storage
from tests.export.helpers import run_python, script_result

TOLERANCE = 1e-6  # relative: the same seeded float32 computation, in another process


def quadratic(trial: hl.Trial) -> float:
    x = trial.suggest_float("x", -10, 10)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    trial.report(0, loss=(x - 2) ** 2)
    return (x - 2) ** 2 + (0.5 if kind == "b" else 0.0)


def session(objective=quadratic, n: int = 6, **kwargs) -> hl.Session:
    kwargs.setdefault("storage", ":memory:")
    s = hl.Session(objective, progress=False, seed=0, **kwargs)
    s.start(n_trials=n).wait()
    return s


def assert_close(result: float, recorded: float) -> None:
    assert math.isclose(result, recorded, rel_tol=TOLERANCE, abs_tol=1e-9), (result, recorded)


@pytest.mark.slow
def test_script_reproduces_the_best_digits_trial(tmp_path: Path) -> None:
    s = session(
        functools.partial(digits_objective, epochs=3),
        n=3,
        name="digits",
        metric="val_loss",
        storage=tmp_path / "runs",
    )
    path = s.export(path=tmp_path / "out" / "best.py")
    assert path == tmp_path / "out" / "best.py"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = run_python([str(path)], cwd=elsewhere).stdout
    result, recorded = script_result(out)
    assert recorded == {"value": s.best_value}
    assert_close(result, s.best_value)
    assert out.count("step ") == 3  # every report printed
    text = path.read_text()
    assert f"TRIAL_NUMBER = {s.best_trial.number}\n" in text
    assert "functools.partial(digits_objective, epochs=3)" in text


def test_json_and_yaml_round_trip(tmp_path: Path) -> None:
    s = session(name="quad", metric="loss")
    best = s.best_trial
    records = [load_export(s.export(path=tmp_path / f"best.{ext}")) for ext in ("json", "yaml")]
    assert records[0].exported_at and records[0] == records[1]
    r = records[0]
    assert (r.session, r.trial, r.state, r.metric) == ("quad", best.number, "COMPLETE", "loss")
    assert r.params == best.params and r.values == {"value": best.value}
    assert r.directions == {"value": "minimize"}
    assert r.choice["rule"] == "best"
    assert r.objective["name"] == "quadratic" and r.objective_note is None
    dist = optuna.distributions.json_to_distribution(json.dumps(r.distributions["kind"]))
    assert dist == best.distributions["kind"]
    assert ExportRecord.from_json(json.loads(json.dumps(r.to_json()))) == r
    # The YAML keeps source readable: a block scalar, not an escaped one-liner.
    assert "blocks:\n  - |\n    def quadratic(" in (tmp_path / "best.yaml").read_text()
    fixed = hl.FixedTrial.from_export(tmp_path / "best.json", verbose=False)
    assert quadratic(fixed) == pytest.approx(best.value)
    assert fixed.number == best.number


def test_not_an_export(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"format": "something/2"}')
    with pytest.raises(ValueError, match="not an hpo_lab export"):
        load_export(tmp_path / "x.json")
    (tmp_path / "y.yaml").write_text("format: hpo_lab.export/1\nsession: s\n")
    with pytest.raises(ValueError, match="not an hpo_lab export"):
        load_export(tmp_path / "y.yaml")


@pytest.mark.parametrize(
    ("path", "fmt", "expected"),
    [
        (None, None, ("best.py", "script")),
        (None, "yaml", ("best.yaml", "yaml")),
        ("a/b.ipynb", None, ("a/b.ipynb", "notebook")),
        ("t.yml", "yaml", ("t.yml", "yaml")),
        ("run", "script", ("run", "script")),
    ],
)
def test_path_and_format(path, fmt, expected) -> None:
    got_path, got_fmt = resolve_target(path, fmt)
    assert (str(got_path), got_fmt) == expected


@pytest.mark.parametrize(
    ("path", "fmt", "error", "match"),
    [
        (
            "best.py",
            "json",
            ValueError,
            "names a script file but format='json'; use path='best.json'",
        ),
        ("best.txt", None, ValueError, "cannot tell the format from its suffix"),
        (None, "csv", ValueError, "format must be one of"),
        (3, None, TypeError, "path must be a file path"),
    ],
)
def test_bad_path_or_format(path, fmt, error, match) -> None:
    with pytest.raises(error, match=match):
        resolve_target(path, fmt)


@pytest.mark.slow
def test_several_objectives_need_a_rule_and_the_script_returns_the_dict(tmp_path: Path) -> None:
    s = session(
        functools.partial(digits_multi_objective, epochs=2),
        n=4,
        directions=DIRECTIONS,
        storage=tmp_path / "runs",
    )
    front = sorted(t.number for t in s.best_trials)
    with pytest.raises(ValueError) as info:
        s.export()
    assert all(f"trial={n}:" in str(info.value) for n in front)
    path = s.export(trial="knee", path=tmp_path / "knee.py")
    text = path.read_text()
    assert "Chosen: the knee of the Pareto front" in text
    out = run_python([str(path)], cwd=tmp_path).stdout
    result, recorded = script_result(out)
    chosen = s.study.trials[int(text.split("TRIAL_NUMBER = ")[1].split("\n")[0])]
    assert chosen.number in front
    assert recorded == dict(zip(["val_error", "params"], chosen.values))
    assert result["params"] == recorded["params"]
    assert_close(result["val_error"], recorded["val_error"])
    assert set(result) == {"val_error", "params", "latency_ms"}
    record = load_export(s.export(trial={"val_error": 1, "params": 0}, path=tmp_path / "e.json"))
    assert record.values["val_error"] == min(s.study.trials[n].values[0] for n in front)
    assert record.choice["weights"] == {"val_error": 1.0, "params": 0.0}


def add_forked_trial(s: hl.Session, parent: int, step: int, checkpoint: str) -> int:
    """A trial as the fork feature leaves it: lineage in its user attributes."""
    best = s.best_trial
    s.study.add_trial(
        optuna.trial.create_trial(
            params=best.params,
            distributions=best.distributions,
            value=best.value,
            user_attrs={"parent": parent, "fork_step": step, "checkpoint": checkpoint},
        )
    )
    return s.study.trials[-1].number


def test_lineage_of_forked_trials(tmp_path: Path) -> None:
    s = session(n=3)
    first = add_forked_trial(s, 1, 4, "ckpt/1-4.pt")
    second = add_forked_trial(s, first, 10, f"ckpt/{first}-10.pt")
    record = load_export(s.export(trial=second, path=tmp_path / "t.json"))
    assert record.lineage == [
        {"trial": second, "parent": first, "fork_step": 10, "checkpoint": f"ckpt/{first}-10.pt"},
        {"trial": first, "parent": 1, "fork_step": 4, "checkpoint": "ckpt/1-4.pt"},
    ]
    text = s.export(trial=second, path=tmp_path / "t.py").read_text()
    assert (
        f"trial {second} was forked from trial {first} at step 10, starting from checkpoint "
        f"'ckpt/{first}-10.pt'; trial {first} was forked from trial 1 at step 4"
    ) in text.replace("\n", " ")
    assert f'"checkpoint": "ckpt/{first}-10.pt",' in text  # LINEAGE, for the FixedTrial
    fixed = hl.FixedTrial.from_export(record)
    assert fixed.user_attrs == {
        "parent": first,
        "fork_step": 10,
        "checkpoint": f"ckpt/{first}-10.pt",
    }
    result, recorded = script_result(run_python(["t.py"], cwd=tmp_path).stdout)
    assert_close(result, recorded["value"])
    assert load_export(s.export(trial=0, path=tmp_path / "t0.json")).lineage == []


def make_objective(secret_url: str, names_clash: bool = False):
    """An objective whose closure holds a database URL (with a password), as a user might."""
    PARAMS = {"clash": names_clash}  # the user's own PARAMS: the export renames its own

    def objective(trial):
        x = trial.suggest_float("x", -1, 1)
        assert secret_url  # read, so captured
        return x * x + (0.0 if PARAMS else 1.0)

    return objective


SECRET = "s3cr3t-Pa55"
PG_URL = f"postgresql://hpo_user:{SECRET}@db.internal:5432/hpo"


@pytest.mark.parametrize("kind", ["folder", "journal", "sqlite"])
def test_no_storage_location_or_password_in_any_format(tmp_path: Path, kind: str) -> None:
    storage = {
        "folder": str(tmp_path / "runs"),
        "journal": str(tmp_path / "j" / "study.log"),
        "sqlite": f"sqlite:///{tmp_path / 'db' / 'study.db'}",
    }[kind]
    (tmp_path / "db").mkdir()
    spec = resolve_storage(storage)
    location = spec.artifact_dir  # checkpoints live beside the storage
    s = session(make_objective(f"{PG_URL} {storage}"), n=3, name="leaky", storage=storage)
    forked = add_forked_trial(s, 0, 5, f"{location}/trial-0/step-5.pt")
    texts = {}
    for fmt in ("script", "notebook", "json", "yaml"):
        with pytest.warns(UserWarning, match="hides"):
            path = s.export(trial=forked, path=tmp_path / f"out-{fmt}", format=fmt)
        texts[fmt] = path.read_text()
    for fmt, text in texts.items():
        assert SECRET not in text, fmt
        assert str(tmp_path) not in text, fmt
        assert "<storage>" in text, fmt
    assert "hpo_user:***@db.internal" in texts["script"]
    assert "/trial-0/step-5.pt" in texts["script"]
    out = run_python(["out-script"], cwd=tmp_path).stdout  # still runs
    result, recorded = script_result(out)
    assert_close(result, recorded["value"])


def test_postgres_storage_secrets_are_hidden(tmp_path: Path) -> None:
    """A postgresql storage (not reachable here: its spec is resolved, never opened)."""
    spec = resolve_storage(PG_URL)
    secrets = storage_secrets(spec, raw=PG_URL)
    assert secrets[SECRET] == "***" and secrets[PG_URL] == "<storage>"
    s = session(make_objective(PG_URL), n=2)  # the study itself lives in memory
    forked = add_forked_trial(s, 0, 5, f"{PG_URL}#ckpt-{SECRET}")
    for fmt in ("script", "notebook", "json", "yaml"):
        with pytest.warns(UserWarning, match="hides"):
            path = export_study(
                s.study, forked, tmp_path / f"pg.{fmt}", format=fmt, secrets=secrets
            )
        text = path.read_text()
        assert SECRET not in text and "db.internal:5432" not in text, fmt
        assert "#ckpt-***" in text, fmt


def test_template_names_step_aside_for_the_users_names(tmp_path: Path) -> None:
    s = session(make_objective("sqlite:///x.db", names_clash=True), n=2)
    text = s.export(path=tmp_path / "clash.py").read_text()
    assert "EXPORTED_PARAMS = {" in text and "PARAMS = {'clash': True}" in text
    result, recorded = script_result(run_python(["clash.py"], cwd=tmp_path).stdout)
    assert_close(result, recorded["value"])


def test_study_without_stored_source(tmp_path: Path) -> None:
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    with pytest.raises(ValueError, match="no objective source is stored with this study"):
        export_study(study, path=tmp_path / "x.py")
    record = load_export(export_study(study, path=tmp_path / "x.json"))
    assert record.objective is None and "no objective source" in record.objective_note


def test_objective_that_cannot_be_captured_still_runs(tmp_path: Path) -> None:
    s = session(lambda trial: trial.suggest_float("x", 0, 1), n=2)
    assert len(s.trials) == 2
    (version,) = stored_objectives(s.study._storage, s.study._study_id)
    assert version.captured is None and "lambda" in version.error
    with pytest.raises(ValueError, match="is a lambda"):
        s.export(path=tmp_path / "x.py")
    assert load_export(s.export(path=tmp_path / "x.json")).params == s.best_params


def test_versions_follow_the_objective(tmp_path: Path) -> None:
    storage = tmp_path / "runs"
    s = session(n=2, name="v", storage=storage)
    s.start(n_trials=1).wait()  # the same objective again: no new version
    versions = stored_objectives(s.study._storage, s.study._study_id)
    assert [v.from_trial for v in versions] == [0]

    def quadratic(trial):  # redefined, as in a notebook cell run again
        return trial.suggest_float("x", -10, 10) ** 2 + trial.suggest_int("n", 0, 1)

    again = hl.Session.load("v", storage=storage, objective=quadratic, progress=False)
    again.start(n_trials=2).wait()
    versions = stored_objectives(again.study._storage, again.study._study_id)
    assert [v.from_trial for v in versions] == [0, 3]
    old = load_export(again.export(trial=1, path=tmp_path / "1.json"))
    new = load_export(again.export(trial=4, path=tmp_path / "4.json"))
    assert "kind" in old.objective["blocks"][-1] and "suggest_int" in new.objective["blocks"][-1]


@pytest.mark.slow
def test_notebook_export_runs_under_nbclient(tmp_path: Path, monkeypatch) -> None:
    import nbclient
    import nbformat

    from tests.export.helpers import env

    s = session(
        functools.partial(digits_objective, epochs=2), n=2, metric="val_loss", storage=tmp_path
    )
    path = s.export(path=tmp_path / "best.ipynb")
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and "Trial" in nb.cells[0].source
    monkeypatch.setenv("PYTHONPATH", env()["PYTHONPATH"])  # the kernel imports this checkout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        nbclient.NotebookClient(
            nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        ).execute()
    out = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    result, recorded = script_result(out)
    assert_close(result, s.best_value)
    assert yaml.safe_load(json.dumps(recorded)) == {"value": s.best_value}
