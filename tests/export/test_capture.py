"""Capturing an objective as source: what it uses becomes imports, constants, definitions and
statements; what cannot be recreated is reported, never silently dropped."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest

import hpo_lab as hl
from hpo_lab.examples.digits import digits_objective
from hpo_lab.export import CapturedObjective, CaptureError, capture_objective
from hpo_lab.export._capture import merge_imports
from hpo_lab.export._values import import_line, literal
from tests.export.helpers import run_ipython_cells

SCALE = 3.0
OFFSETS = {"a": (1, 2.5), "b": None}
RNG = np.random.default_rng(0)  # not a constant: imported from this module


def helper(x: float) -> float:
    return math.sqrt(x) * SCALE


def module_objective(trial: hl.Trial) -> float:
    x = trial.suggest_float("x", 0, 4)
    total = sum(v[0] for v in [OFFSETS["a"]])
    return helper(x) + total + np.float64(0.5) + 0 * RNG.random()


def run_captured(captured: CapturedObjective, params: dict) -> object:
    """Execute the captured source in a fresh namespace and call its objective."""
    namespace: dict = {"__name__": "exported"}
    exec(captured.source, namespace)
    objective = eval(captured.entry, namespace)
    return objective(hl.FixedTrial(params, number=1, verbose=False))


def test_module_objective_imports_from_its_module() -> None:
    captured = capture_objective(module_objective)
    assert captured.origin == "module tests.export.test_capture"
    assert captured.name == captured.entry == "module_objective"
    assert captured.imports == (
        "import hpo_lab as hl",  # from an annotation: imported, though never evaluated
        "import numpy as np",  # (helper's own `math` stays in its module)
        "from tests.export.test_capture import OFFSETS, RNG, helper",
    )
    assert captured.blocks[-1].startswith("def module_objective(trial: hl.Trial) -> float:")
    assert captured.missing == {}
    assert run_captured(captured, {"x": 4.0}) == module_objective(
        hl.FixedTrial({"x": 4.0}, verbose=False)
    )


def test_partial_of_a_package_function() -> None:
    captured = capture_objective(functools.partial(digits_objective, epochs=1, batch_size=256))
    assert captured.entry == "functools.partial(digits_objective, epochs=1, batch_size=256)"
    assert "import functools" in captured.imports
    assert (
        "from hpo_lab.examples.digits import evaluate, load_digits_data, make_mlp"
        in captured.imports
    )
    assert "from torch import nn" in captured.imports
    params = {"lr": 0.05, "hidden": 16, "layers": 1, "dropout": 0.0, "weight_decay": 1e-5}
    direct = digits_objective(
        hl.FixedTrial(params, number=1, verbose=False), epochs=1, batch_size=256
    )
    assert run_captured(captured, params) == direct


def make_objective(scale: float, shift: int):
    """A factory: the objective's closure holds its constants and a helper."""

    def square(v: float) -> float:
        return v * v

    def objective(trial: hl.Trial) -> float:
        return square(trial.suggest_float("x", -1, 1)) * scale + shift

    return objective


def test_closure_variables_become_module_constants() -> None:
    captured = capture_objective(make_objective(2.5, 1))
    assert "scale = 2.5\n" in captured.blocks and "shift = 1\n" in captured.blocks
    assert any(b.startswith("def square(v: float)") for b in captured.blocks)
    assert captured.blocks[-1].startswith("def objective(trial: hl.Trial)")  # dedented
    assert run_captured(captured, {"x": 0.5}) == 0.5 * 0.5 * 2.5 + 1


@pytest.mark.parametrize(
    ("objective", "match"),
    [
        (lambda trial: 1.0, "is a lambda"),
        (type("Objective", (), {"__call__": lambda self, t: 1.0})(), "must be a function"),
        (print, "must be a function"),
        (functools.partial(digits_objective, epochs=object()), "argument 'epochs'"),
    ],
)
def test_what_cannot_be_captured(objective, match) -> None:
    with pytest.raises(CaptureError, match=match):
        capture_objective(objective)


def test_exec_defined_objective_without_source() -> None:
    namespace: dict = {"__name__": "__main__"}
    exec("def objective(trial):\n    return 1.0\n", namespace)
    with pytest.raises(CaptureError, match="source of objective is not available"):
        capture_objective(namespace["objective"])


def test_unresolvable_names_are_reported() -> None:
    namespace: dict = {"__name__": "__main__", "thing": object(), "N": 3}

    def objective(trial):
        return undefined_name + thing + N  # type: ignore[name-defined]  # noqa: F821

    rebuilt = type(objective)(objective.__code__, namespace, "objective")
    captured = capture_objective(rebuilt)
    assert captured.missing == {
        "undefined_name": "it was not defined when the objective was captured",
        "thing": "a object that is not a constant, not importable, and not bound by a "
        "top-level statement hpo_lab could find",
    }
    assert "N = 3\n" in captured.blocks


def test_literals() -> None:
    assert literal({"a": (1,), "b": [2.5, None], "c": {3, 1}}) == (
        "{'a': (1,), 'b': [2.5, None], 'c': {1, 3}}"
    )
    assert literal(float("-inf")) == "float('-inf')"
    assert literal(frozenset()) == "frozenset()"
    assert literal(frozenset({2})) == "frozenset({2})"
    assert literal(b"x") == "b'x'"
    assert literal(list(range(10_000))) is None  # too big to inline
    assert literal([object()]) is None
    # Subclasses (numpy scalars, enums) keep their type: imported or looked up instead.
    assert literal(np.float64(1.5)) is None and literal(np.int64(2)) is None


def test_import_lines() -> None:
    import torch
    from torch import nn

    assert import_line("np", np) == "import numpy as np"
    assert import_line("nn", nn) == "from torch import nn"
    assert import_line("torch", torch) == "import torch"
    assert import_line("Linear", nn.Linear) == "from torch.nn import Linear"
    line = import_line("DTYPE", torch.float32)  # an instance: found by identity
    assert line.startswith("from torch import ") and line.endswith(" as DTYPE")
    namespace: dict = {}
    exec(line, namespace)
    assert namespace["DTYPE"] is torch.float32
    assert import_line("f", make_objective) == (
        "from tests.export.test_capture import make_objective as f"
    )
    assert import_line("x", object()) is None
    assert merge_imports(["from a import b", "import z", "from a import c as d", "import z"]) == (
        "import z",
        "from a import b, c as d",
    )


def test_json_round_trip() -> None:
    captured = capture_objective(module_objective)
    assert CapturedObjective.from_json(json.loads(json.dumps(captured.to_json()))) == captured
    with pytest.raises(ValueError, match="not a captured objective"):
        CapturedObjective.from_json({"name": "x"})


NOTEBOOK_CELLS = [
    """
    import torch
    from torch import nn
    import numpy as np
    import hpo_lab as hl
    from hpo_lab.examples.digits import evaluate, load_digits_data, make_mlp
    """,
    """
    EPOCHS = 3
    data = load_digits_data()
    data = data.to("cpu")          # rebinding: both statements are needed, in order
    model = "a leftover global the objective never reads"
    """,
    """
    class Scaler:
        def __init__(self, k):
            self.k = k

        def __call__(self, x):
            return x * self.k * FACTOR

    FACTOR = 0.5
    act = lambda x: torch.relu(x)

    def penalty(v):
        return float(np.mean(v)) + act(torch.tensor(-1.0)).item()
    """,
    """
    %time twice = [i * 2 for i in range(3)]
    """,
    """
    def objective(trial: hl.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-2, 3e-1, log=True)
        torch.manual_seed(trial.number)
        model = make_mlp(16, 1, 0.0)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        for epoch in range(EPOCHS):
            loss = nn.functional.cross_entropy(model(data.x_train), data.y_train)
            opt.zero_grad()
            loss.backward()
            opt.step()
            val_loss, _ = evaluate(model, data.x_val, data.y_val)
            trial.report(epoch, val_loss=val_loss)
        return float(val_loss) + Scaler(2)(penalty([0.0])) + 0 * len(twice)
    """,
    """
    import json
    from hpo_lab.export import capture_objective
    with open("captured.json", "w") as f:
        json.dump(capture_objective(objective).to_json(), f)
    session = hl.Session(objective, name="nb", metric="val_loss", storage="runs",
                         progress=False, seed=0)
    session.start(n_trials=3).wait()
    print(session.export(path="best.py"), session.export(path="best.ipynb"))
    with open("best_value.json", "w") as f:
        json.dump([session.best_trial.number, session.best_value], f)
    """,
]


@pytest.mark.slow
def test_notebook_objective_end_to_end(tmp_path: Path) -> None:
    """An objective defined in IPython cells: captured with its cells' statements, exported
    by the session, and re-run by `python best.py` in a fresh process to the same value."""
    from tests.export.helpers import run_python, script_result

    run_ipython_cells(NOTEBOOK_CELLS, tmp_path)
    captured = CapturedObjective.from_json(json.loads((tmp_path / "captured.json").read_text()))
    assert captured.origin == "notebook"
    assert captured.missing == {}
    blocks = [b.strip() for b in captured.blocks]
    rebound = [b for b in blocks if b.startswith('data = data.to("cpu")')]
    assert len(rebound) == 1
    assert blocks.index("data = load_digits_data()") < blocks.index(rebound[0])
    assert "FACTOR = 0.5" in blocks and "EPOCHS = 3" in blocks
    assert "act = lambda x: torch.relu(x)" in blocks
    assert any(b.startswith("class Scaler:") for b in blocks)
    assert any(b.startswith("def penalty(v):") for b in blocks)
    assert "twice = [0, 2, 4]" in blocks  # a constant: its value, not the magic that made it
    assert not any("leftover" in b for b in blocks)
    number, value = json.loads((tmp_path / "best_value.json").read_text())
    out = run_python(["best.py"], tmp_path).stdout
    result, recorded = script_result(out)
    assert recorded == {"value": value}
    assert result == pytest.approx(value, rel=1e-6, abs=1e-9)  # seeded by the trial number
    assert f"TRIAL_NUMBER = {number}" in (tmp_path / "best.py").read_text()


@pytest.mark.parametrize("store_history", [True, False], ids=["history", "no-history"])
def test_notebook_statements_are_found_with_or_without_history(
    tmp_path: Path, store_history: bool
) -> None:
    """nbval runs cells with store_history=False: the statements that made an objective's
    globals are then read from the cells IPython compiled."""
    cells = [
        "import fractions\nimport json",
        "scale = fractions.Fraction(1, 3)",
        "scale = scale * 3  # rebinds it",
        "def objective(trial):\n    return float(scale) * trial.suggest_float('x', 0, 1)",
        "from hpo_lab.export import capture_objective\n"
        "json.dump(capture_objective(objective).to_json(), open('captured.json', 'w'))",
    ]
    run_ipython_cells(cells, tmp_path, store_history=store_history)
    captured = CapturedObjective.from_json(json.loads((tmp_path / "captured.json").read_text()))
    assert captured.origin == "notebook"
    assert captured.missing == {}
    blocks = [b.strip() for b in captured.blocks]
    made = blocks.index("scale = fractions.Fraction(1, 3)")
    assert blocks.index("scale = scale * 3  # rebinds it") > made
