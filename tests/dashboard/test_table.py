"""TrialTable without a browser: traits, the messages it sends, and what it does with replies."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hpo_lab.dashboard import TrialTable, _assets, _table

PARAM_COLUMNS = [
    {"key": "number", "label": "#", "type": "int"},
    {"key": "state", "label": "State", "type": "state"},
    {"key": "value", "label": "Loss", "type": "float"},
    {"key": "lr", "type": "float"},
    {"key": "optimizer", "type": "str"},
]


class Recorder:
    """Stands in for ``widget.send`` and keeps every message."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def __call__(self, content: dict[str, Any], buffers: Any = None) -> None:
        self.messages.append(content)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == kind]


@pytest.fixture
def table() -> TrialTable:
    widget = TrialTable(columns=PARAM_COLUMNS)
    widget.send = Recorder()  # type: ignore[method-assign]
    return widget


def from_front_end(table: TrialTable, content: dict[str, Any]) -> None:
    """Delivers ``content`` as a custom message from the front end."""
    table._handle_custom_msg(content, [])


def test_defaults_show_number_state_value_step_duration() -> None:
    table = TrialTable()
    assert [c["key"] for c in table.columns] == [
        "number",
        "state",
        "value",
        "last_step",
        "duration",
    ]
    assert [a["name"] for a in table.actions] == ["prune", "stop"]
    assert (table.selected, table.best, table.sort_by, table.sort_desc) == (
        None,
        None,
        "number",
        False,
    )
    assert table.columns[3] == {"key": "last_step", "label": "Step", "type": "int"}


def test_column_spec_is_normalised() -> None:
    table = TrialTable(columns=[{"key": "lr", "type": "float", "width": 90}, {"key": "name"}])
    assert table.columns == [
        {"key": "lr", "label": "lr", "type": "float", "width": 90},
        {"key": "name", "label": "name", "type": "str"},
    ]


def test_upsert_stores_rows_and_sends_only_them(table: TrialTable) -> None:
    table.upsert([{"number": i, "state": "RUNNING", "lr": 0.1 * i} for i in range(3)])
    table.send.messages.clear()
    table.upsert([{"number": 1, "state": "COMPLETE", "value": 0.25}])
    assert table.send.messages == [
        {"type": "upsert", "rows": [{"number": 1, "state": "COMPLETE", "value": 0.25}]}
    ]
    assert table.rows[1] == {"number": 1, "state": "COMPLETE", "lr": 0.1, "value": 0.25}
    assert table.rows[0]["state"] == "RUNNING"
    assert len(table.rows) == 3


def test_rows_returns_a_copy(table: TrialTable) -> None:
    table.upsert([{"number": 0, "value": 1.0}])
    table.rows[0]["value"] = 2.0
    assert table.rows[0]["value"] == 1.0


def test_none_clears_a_cell(table: TrialTable) -> None:
    table.upsert([{"number": 0, "value": 1.0}])
    table.upsert([{"number": 0, "value": None}])
    assert table.rows[0] == {"number": 0, "value": None}


def test_values_are_encoded_for_json(table: TrialTable) -> None:
    table.upsert(
        [
            {"number": np.int64(4), "value": float("nan"), "lr": np.float32(0.5)},
            {"number": 5, "value": math.inf, "lr": -math.inf, "optimizer": True},
        ]
    )
    (message,) = table.send.messages
    assert message["rows"] == [
        {"number": 4, "value": "NaN", "lr": 0.5},
        {"number": 5, "value": "Infinity", "lr": "-Infinity", "optimizer": "True"},
    ]
    assert type(table.rows[4]["number"]) is int
    assert math.isnan(table.rows[4]["value"])


def test_large_upsert_is_chunked(table: TrialTable) -> None:
    table.upsert({"number": i} for i in range(_table.CHUNK_ROWS * 2 + 1))
    sizes = [len(m["rows"]) for m in table.send.of_type("upsert")]
    assert sizes == [_table.CHUNK_ROWS, _table.CHUNK_ROWS, 1]


def test_remove_sends_known_numbers_and_clears_selection(table: TrialTable) -> None:
    table.upsert([{"number": i} for i in range(4)])
    table.selected = 2
    table.send.messages.clear()
    table.remove([2, 3, 99])
    assert table.send.messages == [{"type": "remove", "numbers": [2, 3]}]
    assert sorted(table.rows) == [0, 1]
    assert table.selected is None
    table.remove([99])
    assert len(table.send.messages) == 1


def test_clear(table: TrialTable) -> None:
    table.upsert([{"number": 0}])
    table.selected = 0
    table.clear()
    assert table.rows == {}
    assert table.selected is None
    assert table.send.messages[-1] == {"type": "clear"}


def test_snapshot_request_gets_every_row_in_chunks(table: TrialTable) -> None:
    table.upsert([{"number": i, "state": "COMPLETE"} for i in range(_table.CHUNK_ROWS + 5)])
    table.upsert([{"number": 3, "value": 0.5}])
    table.send.messages.clear()
    from_front_end(table, {"type": "snapshot_request"})
    chunks = table.send.of_type("snapshot")
    assert [(m["chunk"], m["chunks"]) for m in chunks] == [(0, 2), (1, 2)]
    rows = {row["number"]: row for m in chunks for row in m["rows"]}
    assert len(rows) == _table.CHUNK_ROWS + 5
    assert rows[3] == {"number": 3, "state": "COMPLETE", "value": 0.5}


def test_snapshot_of_an_empty_table_is_one_empty_chunk(table: TrialTable) -> None:
    from_front_end(table, {"type": "snapshot_request"})
    assert table.send.messages == [{"type": "snapshot", "rows": [], "chunk": 0, "chunks": 1}]


def test_action_message_reaches_callbacks(table: TrialTable) -> None:
    table.upsert([{"number": 7, "state": "RUNNING"}])
    calls: list[tuple[str, int]] = []
    table.on_action(lambda action, number: calls.append((action, number)))
    from_front_end(table, {"type": "action", "action": "prune", "number": 7})
    from_front_end(table, {"type": "action", "action": "stop", "number": 7})
    assert calls == [("prune", 7), ("stop", 7)]


def test_removed_callback_is_not_called(table: TrialTable) -> None:
    table.upsert([{"number": 7, "state": "RUNNING"}])
    calls: list[tuple[str, int]] = []

    def callback(action: str, number: int) -> None:
        calls.append((action, number))

    table.on_action(callback)
    table.on_action(callback, remove=True)
    from_front_end(table, {"type": "action", "action": "prune", "number": 7})
    assert calls == []


@pytest.mark.parametrize(
    "content",
    [
        {"type": "action", "action": "explode", "number": 7},
        {"type": "action", "action": "prune", "number": 8},
        {"type": "action", "action": "prune", "number": "7"},
        {"type": "action", "action": "prune", "number": 6},  # COMPLETE: nothing to prune
        {"type": "no-such-message"},
    ],
)
def test_bad_front_end_messages_are_ignored(
    table: TrialTable, content: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    table.upsert([{"number": 7, "state": "RUNNING"}, {"number": 6, "state": "COMPLETE"}])
    calls: list[tuple[str, int]] = []
    table.on_action(lambda action, number: calls.append((action, number)))
    from_front_end(table, content)
    assert calls == []
    assert "ignored" in caplog.text


@pytest.mark.parametrize(
    ("rows", "error", "match"),
    [
        ([{"number": 0, "loss": 1.0}], ValueError, r"rows\[0\] has unknown column 'loss'"),
        ([{"number": 0}, {"value": 1.0}], ValueError, r"rows\[1\] has no 'number'"),
        ([{"number": 1.5}], TypeError, r"rows\[0\]\['number'\] must be an int; got 1.5"),
        ([{"number": True}], TypeError, r"'number'\] must be an int"),
        ([[0, 1.0]], TypeError, r"rows\[0\] must be a mapping"),
        ([{"number": 0, "value": [1]}], TypeError, r"rows\[0\]\['value'\] must be an int, float"),
        ([{"number": 0, "state": 3}], TypeError, r"'state'\] must be a str"),
    ],
)
def test_bad_rows_raise_and_change_nothing(
    table: TrialTable, rows: list[Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        table.upsert(rows)
    assert table.rows == {}
    assert table.send.messages == []


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        ([{"key": "lr", "type": "complex"}], r"columns\[0\]\['type'\] must be one of"),
        ([{"label": "no key"}], r"columns\[0\]\['key'\] must be a non-empty str"),
        ([{"key": "a"}, {"key": "a"}], r"keys must be unique; repeated: \['a'\]"),
        ([{"key": "a", "colour": "red"}], r"columns\[0\] has unknown fields \['colour'\]"),
        ([{"key": "a", "width": 5}], r"columns\[0\]\['width'\] must be an int of at least 24"),
    ],
)
def test_bad_columns_raise(columns: list[dict[str, Any]], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        TrialTable(columns=columns)


def test_bad_actions_and_traits_raise() -> None:
    with pytest.raises(ValueError, match=r"actions\[0\]\['states'\] must be a list"):
        TrialTable(actions=[{"name": "prune", "states": "RUNNING"}])
    with pytest.raises(ValueError, match=r"sort_by must be a column key .*; got 'loss'"):
        TrialTable(sort_by="loss")
    with pytest.raises(ValueError, match=r"height must be at least 120"):
        TrialTable(height=50)


def test_sort_by_accepts_column_keys(table: TrialTable) -> None:
    table.sort_by = "lr"
    table.sort_desc = True
    assert (table.sort_by, table.sort_desc) == ("lr", True)


def test_upserts_from_a_thread_and_snapshots_stay_consistent(table: TrialTable) -> None:
    def pump() -> None:
        for i in range(500):
            table.upsert([{"number": i % 50, "value": float(i)}])

    thread = threading.Thread(target=pump)
    thread.start()
    for _ in range(20):
        from_front_end(table, {"type": "snapshot_request"})
    thread.join()
    # Replaying the messages in order gives Python's rows: what a front end would end up with.
    replica: dict[int, dict[str, Any]] = {}
    for message in table.send.messages:
        if message["type"] == "snapshot" and message["chunk"] == 0:
            replica.clear()
        for row in message.get("rows", []):
            replica.setdefault(row["number"], {}).update(row)
    assert replica == table.rows


def test_assets_prefer_the_packaged_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _assets.asset_path("trial_table.js").parent.name in {"_static", "widgets"}
    package = tmp_path / "hpo_lab"
    (package / "_static").mkdir(parents=True)
    (package / "_static" / "x.js").write_text("export default {}")
    (tmp_path / "widgets").mkdir()
    (tmp_path / "widgets" / "x.js").write_text("export default {}")
    (tmp_path / "widgets" / "y.js").write_text("export default {}")
    monkeypatch.setattr(_assets, "_PACKAGE_DIR", package)
    assert _assets.asset_path("x.js") == package / "_static" / "x.js"
    assert _assets.asset_path("y.js") == tmp_path / "widgets" / "y.js"
    with pytest.raises(FileNotFoundError, match=r"'z.js' not found .*reinstall hpo_lab"):
        _assets.asset_path("z.js")


def test_widget_ships_its_front_end() -> None:
    table = TrialTable()
    assert "export default" in table._esm
    assert ".hpo-tt" in table._css
