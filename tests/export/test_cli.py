"""``hpo-lab export``: from storage alone, in another process."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pytest

import hpo_lab as hl
from hpo_lab.cli import main
from hpo_lab.export import load_export
from tests.export.helpers import run_python, script_result


def objective(trial: hl.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    y = trial.suggest_int("y", 0, 3)
    trial.report(0, loss=x * x + y)
    return x * x + y


def two(trial: hl.Trial, scale: float = 1.0) -> dict[str, float]:
    x = trial.suggest_float("x", 0, 1)
    return {"error": scale * x, "size": 1 - x * x}


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    storage = tmp_path / "runs"
    with hl.Session(objective, name="cli", storage=storage, progress=False, seed=0) as s:
        s.start(n_trials=5).wait()
    with hl.Session(
        functools.partial(two, scale=2.0),
        name="cli-two",
        directions={"error": "minimize", "size": "minimize"},
        storage=storage,
        progress=False,
        seed=0,
    ) as s:
        s.start(n_trials=6).wait()
    return storage


def test_export_script_in_another_process(stored: Path, tmp_path: Path) -> None:
    best = hl.Session.load("cli", storage=stored, progress=False).best_trial
    out = run_python(
        ["-m", "hpo_lab", "export", "--study", "cli", "--storage", str(stored), "-o", "best.py"],
        cwd=tmp_path,
    ).stdout
    assert out.strip() == "wrote best.py"
    text = (tmp_path / "best.py").read_text()
    assert str(stored) not in text and str(tmp_path) not in text
    result, recorded = script_result(run_python(["best.py"], cwd=tmp_path).stdout)
    assert recorded == {"value": best.value}
    assert math.isclose(result, best.value, rel_tol=1e-12)


def test_export_formats_trials_and_rules(
    stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = ["export", "--study", "cli", "--storage", str(stored)]
    assert main([*args, "--trial", "2", "--format", "yaml", "-o", str(tmp_path / "t2.yaml")]) == 0
    assert load_export(tmp_path / "t2.yaml").trial == 2
    two_args = ["export", "--study", "cli-two", "--storage", str(stored)]
    assert main([*two_args, "--trial", "knee", "-o", str(tmp_path / "knee.json")]) == 0
    assert load_export(tmp_path / "knee.json").choice["rule"] == "knee"
    assert main([*two_args, "--weights", "error=1,size=0", "-o", str(tmp_path / "w.json")]) == 0
    record = load_export(tmp_path / "w.json")
    assert record.choice["weights"] == {"error": 1.0, "size": 0.0}
    assert main([*two_args, "--trial", "best:size", "-o", str(tmp_path / "s.ipynb")]) == 0
    assert (tmp_path / "s.ipynb").read_text().startswith("{")
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--study", "nope"], "no session named 'nope'"),
        (["--study", "cli-two"], "choose one from the Pareto front"),
        (["--study", "cli", "--trial", "99"], "trial=99: no such trial"),
        (["--study", "cli", "-o", "x.txt"], "cannot tell the format"),
        (["--study", "cli", "--trial", "1", "--weights", "a=1"], "either --trial or --weights"),
    ],
)
def test_errors_exit_2_with_the_reason(
    stored: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    assert main(["export", "--storage", str(stored), *extra]) == 2
    assert message in capsys.readouterr().err


def test_bad_weights_are_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["export", "--study", "x", "--weights", "error"])
    assert info.value.code == 2
    assert "--weights must look like name=2,other=1" in capsys.readouterr().err
