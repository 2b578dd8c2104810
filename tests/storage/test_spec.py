from pathlib import Path

import optuna
import pytest
from optuna.storages import InMemoryStorage, JournalStorage
from optuna.storages.journal import BaseJournalBackend, JournalFileBackend

from hpo_lab.storage import default_dir, resolve_storage


def test_default_is_a_project_folder_in_the_working_directory(tmp_path):
    spec = resolve_storage(None)
    assert Path(spec.journal_path) == tmp_path / ".hpo_lab" / "journal.log"
    assert spec.side_url == f"sqlite:///{tmp_path / '.hpo_lab' / 'hpo_lab.db'}"
    assert Path(spec.artifact_dir) == tmp_path / ".hpo_lab" / "artifacts"
    assert isinstance(spec.open_optuna(), JournalStorage)


def test_env_var_moves_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("HPO_LAB_DIR", str(tmp_path / "elsewhere"))
    assert default_dir() == tmp_path / "elsewhere"
    assert Path(resolve_storage(None).journal_path).parent == tmp_path / "elsewhere"


def test_folder_journal_file_and_url(tmp_path):
    assert (
        Path(resolve_storage(tmp_path / "runs").journal_path) == tmp_path / "runs" / "journal.log"
    )
    spec = resolve_storage(str(tmp_path / "x.log"))
    assert spec.journal_path == str(tmp_path / "x.log")
    assert spec.side_url.endswith("x.log.hpo_lab.db")
    spec = resolve_storage(f"sqlite:///{tmp_path / 'a.db'}")
    assert spec.url == spec.side_url and spec.journal_path is None


def test_optuna_objects(tmp_path):
    mem = InMemoryStorage()
    spec = resolve_storage(mem)
    assert spec.open_optuna() is mem and spec.side_url == "sqlite://"
    journal = JournalStorage(JournalFileBackend(str(tmp_path / "j.log")))
    spec = resolve_storage(journal)
    assert spec.open_optuna() is journal and spec.side_url.endswith("j.log.hpo_lab.db")
    rdb = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'r.db'}")
    spec = resolve_storage(rdb)
    assert spec.open_optuna() is rdb and spec.side_url == f"sqlite:///{tmp_path / 'r.db'}"


class _ListBackend(BaseJournalBackend):
    """A journal backend hpo_lab knows nothing about."""

    def __init__(self):
        self.logs = []

    def read_logs(self, log_number_from):
        yield from self.logs[log_number_from:]

    def append_logs(self, logs):
        self.logs.extend(logs)


def test_unknown_objects_warn_or_take_side_storage(tmp_path):
    with pytest.warns(UserWarning, match="side_storage"):
        resolve_storage(JournalStorage(_ListBackend()))
    spec = resolve_storage(
        JournalStorage(_ListBackend()), side_storage=f"sqlite:///{tmp_path / 's.db'}"
    )
    assert spec.side_url.endswith("s.db")


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        ("", ValueError, "empty"),
        ("redis://localhost", ValueError, "unsupported URL scheme 'redis'"),
        ("sqlite://", ValueError, "in-memory SQLite"),
        (42, TypeError, "storage must be"),
    ],
)
def test_bad_storage_is_a_clear_error(bad, exc, match):
    with pytest.raises(exc, match=match):
        resolve_storage(bad)


def test_bad_side_storage():
    with pytest.raises(ValueError, match="side_storage"):
        resolve_storage(":memory:", side_storage="not a url")


def test_urls_in_descriptions_hide_passwords():
    from hpo_lab.storage._spec import StorageSpec

    spec = StorageSpec(side_url="x", url="postgresql://me:secret@localhost/db")
    assert "secret" not in spec.describe()


def test_a_plain_postgresql_url_uses_psycopg_3_when_psycopg2_is_missing(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: (
            object() if name == "psycopg" else None if name == "psycopg2" else real(name, *a)
        ),
    )
    spec = resolve_storage("postgresql://u:secret@127.0.0.1:5432/hpo")
    assert spec.url == spec.side_url == "postgresql+psycopg://u:secret@127.0.0.1:5432/hpo"
    assert "secret" not in spec.describe()
    explicit = resolve_storage("postgresql+psycopg2://u@127.0.0.1/hpo")
    assert explicit.url == "postgresql+psycopg2://u@127.0.0.1/hpo"  # an explicit driver stays
