"""Turning an :class:`ExportRecord` into text: a script, a notebook, JSON or YAML."""

from __future__ import annotations

import json
from typing import Any

from hpo_lab.export._capture import CapturedObjective, join_blocks, merge_imports
from hpo_lab.export._record import ExportRecord
from hpo_lab.export._values import literal

FORMATS = {"script": ".py", "notebook": ".ipynb", "json": ".json", "yaml": ".yaml"}
_NAMES = ("TRIAL_NUMBER", "PARAMS", "RECORDED", "LINEAGE", "main")


def render(record: ExportRecord, format: str) -> str:
    """The export of ``record`` in ``format`` (one of :data:`FORMATS`)."""
    if format == "json":
        return json.dumps(record.to_json(), indent=2, ensure_ascii=False) + "\n"
    if format == "yaml":
        return _yaml(record.to_json())
    captured = record.captured
    if captured is None:
        raise ValueError(
            f"cannot export trial {record.trial} as a {format}: {record.objective_note}. "
            "format='json' or 'yaml' exports its parameters and values"
        )
    if format == "script":
        return _script(record, captured)
    if format == "notebook":
        return _notebook(record, captured)
    raise ValueError(f"format must be one of {sorted(FORMATS)}, got {format!r}")


# ---------------------------------------------------------------------- shared pieces
def header(record: ExportRecord, captured: CapturedObjective, run: str) -> list[str]:
    """The export's description, as paragraphs."""
    v = record.versions.get("hpo_lab", "?")
    paras = [
        f"Trial {record.trial} of session {record.session!r}, exported by hpo_lab {v} "
        f"({record.exported_at}).",
        f"Chosen: {record.choice['description']}.",
    ]
    if record.values is not None:
        vals = ", ".join(f"{k} = {x:.6g}" for k, x in record.values.items())
        paras.append(f"Recorded: {vals} ({record.state}).")
    else:
        paras.append(f"Recorded: no value (the trial is {record.state}).")
    paras.append(
        f"{run} It calls the objective ({captured.name}, defined in {_where(captured)}) once, "
        "with the trial's parameters fixed and its number (so seeds derived from it match), "
        "on CUDA if available, else on the CPU. It needs hpo_lab and the packages it imports."
    )
    if record.lineage:
        steps = []
        for e in record.lineage:
            text = f"trial {e['trial']} was forked from trial {e.get('parent')}"
            if "fork_step" in e:
                text += f" at step {e['fork_step']}"
            if "checkpoint" in e:
                text += f", starting from checkpoint {e['checkpoint']!r}"
            steps.append(text)
        paras.append(
            "Lineage: "
            + "; ".join(steps)
            + ". The original run continued from that checkpoint; the objective receives the "
            "lineage as trial.user_attrs (LINEAGE), so it can resume from it too, otherwise "
            "a run from scratch can give another value."
        )
    if record.objective_note:
        paras.append(f"Note: {record.objective_note}.")
    if captured.missing:
        items = "; ".join(f"{k} ({why})" for k, why in captured.missing.items())
        paras.append(
            "WARNING: the objective uses names that hpo_lab could not recreate; define them "
            f"before running: {items}."
        )
    return paras


def _where(captured: CapturedObjective) -> str:
    kind, _, rest = captured.origin.partition(" ")
    if kind == "script":
        return f"the script {rest}"
    if kind == "module":
        return captured.origin
    return "a notebook" if kind == "notebook" else "an interactive session"


def _names(captured: CapturedObjective) -> dict[str, str]:
    """The export's own names, prefixed when the user's code already uses one."""
    taken = captured.defined_names | set(captured.missing)
    prefix = "EXPORTED_" if taken & set(_NAMES) else ""
    return {n: prefix + n for n in _NAMES}


def _constants(record: ExportRecord, names: dict[str, str]) -> str:
    def mapping(d: dict[str, Any] | None) -> str:
        if d is None:
            return "None"
        if not d:
            return "{}"
        rows = [f"    {json.dumps(k)}: {_literal(v)}," for k, v in d.items()]
        return "{\n" + "\n".join(rows) + "\n}"

    return (
        f"{names['TRIAL_NUMBER']} = {record.trial}\n"
        f"{names['PARAMS']} = {mapping(record.params)}\n"
        f"{names['RECORDED']} = {mapping(record.values)}  # the values stored in the study\n"
        f"{names['LINEAGE']} = {mapping(record.lineage_attrs)}  # parent, fork_step, checkpoint\n"
    )


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # also a Python literal, in "quotes"
    text = literal(value)
    return text if text is not None else json.dumps(str(value))


def _hpo_lab(captured: CapturedObjective) -> str:
    """The name hpo_lab goes by in the script: the user's alias (``hl``) if there is one."""
    for line in captured.imports:
        if line == "import hpo_lab":
            return "hpo_lab"
        if line.startswith("import hpo_lab as "):
            return line[len("import hpo_lab as ") :]
    return "hpo_lab"


def _imports(captured: CapturedObjective) -> str:
    lines = list(captured.imports)
    if _hpo_lab(captured) == "hpo_lab":
        lines.append("import hpo_lab")
    return "from __future__ import annotations\n\n" + "\n".join(merge_imports(lines))


def _run_lines(captured: CapturedObjective, names: dict[str, str]) -> list[str]:
    call = captured.entry if captured.entry == captured.name else f"({captured.entry})"
    args = f"{names['PARAMS']}, number={names['TRIAL_NUMBER']}, user_attrs={names['LINEAGE']}"
    make = f"trial = {_hpo_lab(captured)}.FixedTrial({args})"
    if len(make) > 90:
        make = f"trial = {_hpo_lab(captured)}.FixedTrial(\n    {args}\n)"
    return [
        *make.split("\n"),
        f"result = {call}(trial)",
        'print("result:", result)',
        f'print("recorded:", {names["RECORDED"]})',
    ]


# ---------------------------------------------------------------------- formats
def _script(record: ExportRecord, captured: CapturedObjective) -> str:
    names = _names(captured)
    doc = "\n\n".join(_wrap(p) for p in header(record, captured, "Run: python <this file>."))
    doc = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    run = "\n".join("    " + line for line in _run_lines(captured, names))
    main = f"def {names['main']}() -> None:\n{run}\n"
    body = join_blocks([_imports(captured), _constants(record, names)], captured.blocks, [main])
    return f'"""{doc}\n"""\n\n{body}\n\nif __name__ == "__main__":\n    {names["main"]}()\n'


def _notebook(record: ExportRecord, captured: CapturedObjective) -> str:
    import nbformat

    names = _names(captured)
    intro = header(record, captured, "Run all cells.")
    cells = [nbformat.v4.new_markdown_cell(f"# Trial {record.trial} of `{record.session}`")]
    cells.append(nbformat.v4.new_markdown_cell("\n\n".join(intro)))
    cells.append(nbformat.v4.new_code_cell(_imports(captured)))
    cells.append(nbformat.v4.new_code_cell(_constants(record, names).rstrip()))
    group: list[str] = []
    for block in captured.blocks:
        if "\n" in block.strip():
            if group:
                cells.append(nbformat.v4.new_code_cell("\n".join(group)))
                group = []
            cells.append(nbformat.v4.new_code_cell(block.strip("\n")))
        else:
            group.append(block.strip("\n"))
    if group:
        cells.append(nbformat.v4.new_code_cell("\n".join(group)))
    cells.append(nbformat.v4.new_code_cell("\n".join(_run_lines(captured, names))))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nbformat.writes(nb) + "\n"


def _yaml(data: dict[str, Any]) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return yaml.dump(data, Dumper=Dumper, sort_keys=False, allow_unicode=True)


def _wrap(paragraph: str, width: int = 96) -> str:
    import textwrap

    return textwrap.fill(paragraph, width, break_long_words=False, break_on_hyphens=False)
