"""Optuna's intermediate values written in batches while no pruner reads them."""

import json
import threading
import time

import optuna
import pytest
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from hpo_lab.trial import Mailbox, Pause, Resume, Trial, TrialSettings
from hpo_lab.trial._intermediate import IntermediateValues, write_intermediate_values


def journal(path):
    return JournalStorage(JournalFileBackend(str(path)))


def journal_trial(tmp_path):
    """A journal storage in ``tmp_path`` and the id of a trial of a new study in it."""
    storage = journal(tmp_path / "j.log")
    return storage, optuna.create_study(storage=storage).ask()._trial_id


def stored(storage, trial_id):
    return dict(storage.get_trial(trial_id).intermediate_values)


def test_a_batch_writes_the_records_optuna_writes_one_by_one(tmp_path):
    """Same log records, same replay: a fresh reader of the file sees what Optuna would."""
    one, many = tmp_path / "one.log", tmp_path / "many.log"
    values = [(s, 1.0 / (s + 1)) for s in range(20)] + [(20, float("nan"))]
    for path, batched in ((one, False), (many, True)):
        storage = journal(path)
        trial_id = optuna.create_study(storage=storage, study_name="s").ask()._trial_id
        if batched:
            write_intermediate_values(storage, trial_id, values)
        else:
            for s, v in values:
                storage.set_trial_intermediate_value(trial_id, s, v)
        assert list(stored(storage, trial_id))[:20] == list(range(20))  # in step order

    def records(path):
        out = []
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            rec.pop("worker_id")
            if "datetime_start" not in rec:  # the ask's timestamps differ
                out.append(rec)
        return out

    assert json.dumps(records(one)) == json.dumps(records(many))
    fresh = journal(many)
    got = fresh.get_all_trials(fresh.get_all_studies()[0]._study_id)[0].intermediate_values
    assert list(got.items())[:20] == values[:20] and got[20] != got[20]  # NaN kept


def test_other_storages_get_the_values_one_by_one():
    storage = optuna.storages.InMemoryStorage()
    trial_id = optuna.create_study(storage=storage).ask()._trial_id
    write_intermediate_values(storage, trial_id, [(0, 1.0), (3, 0.5)])
    assert stored(storage, trial_id) == {0: 1.0, 3: 0.5}


def test_a_fast_reporter_holds_values_until_the_interval(tmp_path):
    storage, trial_id = journal_trial(tmp_path)
    iv = IntermediateValues(storage, trial_id, interval=30.0)
    for s in range(10):
        iv.add(s, float(s))
    assert stored(storage, trial_id) == {0: 0.0}  # the first value goes at once
    assert iv.held == 9
    iv.flush(older_than=30.0)  # not old enough yet
    assert iv.held == 9
    iv.flush()
    assert stored(storage, trial_id) == {s: float(s) for s in range(10)} and iv.held == 0


def test_a_slow_reporter_writes_each_value_at_once(tmp_path):
    storage, trial_id = journal_trial(tmp_path)
    iv = IntermediateValues(storage, trial_id, interval=0.05)
    for s in range(3):
        iv.add(s, float(s))
        assert stored(storage, trial_id) == {k: float(k) for k in range(s + 1)}
        time.sleep(0.06)


def test_values_of_a_quiet_trial_are_written_in_the_background(tmp_path):
    storage, trial_id = journal_trial(tmp_path)
    iv = IntermediateValues(storage, trial_id, interval=0.1)
    iv.add(0, 0.0)
    iv.add(1, 1.0)
    assert iv.held == 1
    deadline = time.monotonic() + 3
    while iv.held and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stored(storage, trial_id) == {0: 0.0, 1: 1.0}


def test_a_failed_write_raises_in_the_caller_and_keeps_the_values(tmp_path):
    storage, trial_id = journal_trial(tmp_path)
    iv = IntermediateValues(storage, trial_id, interval=30.0)
    iv.add(0, 0.0)
    iv.add(1, 1.0)
    storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL)  # ended elsewhere
    with pytest.raises(UpdateFinishedTrialError):
        iv.flush()
    assert iv.held == 1


def make_trial(tmp_path, pruner, box=None):
    storage = journal(tmp_path / "j.log")
    study = optuna.create_study(storage=storage, pruner=pruner)
    pruning = not isinstance(pruner, optuna.pruners.NopPruner)
    settings = TrialSettings(metric="loss", pruning=pruning)
    trial = Trial(study.ask(), settings=settings, publish=lambda e: None, mailbox=box or Mailbox())
    return study, trial


def test_with_a_pruner_every_value_is_stored_at_its_report(tmp_path):
    study, trial = make_trial(tmp_path, optuna.pruners.MedianPruner())
    for s in range(5):
        trial.report(s, loss=float(s))
        assert study.trials[0].intermediate_values == {k: float(k) for k in range(s + 1)}


def test_without_a_pruner_the_trial_stores_all_values_when_it_pauses_and_ends(tmp_path):
    box = Mailbox()
    study, trial = make_trial(tmp_path, optuna.pruners.NopPruner(), box)
    trial._intermediate.interval = 30.0  # only the pause and the end write them
    for s in range(5):
        trial.report(s, loss=float(s))
    assert len(study.trials[0].intermediate_values) < 5  # held: nothing reads them yet
    box.post(Pause())
    t = threading.Thread(target=trial.report, args=(5,), kwargs={"loss": 5.0}, daemon=True)
    t.start()
    deadline = time.monotonic() + 3
    while len(study.trials[0].intermediate_values) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert study.trials[0].intermediate_values == {k: float(k) for k in range(6)}
    box.post(Resume())
    t.join(3)
    trial.report(6, loss=6.0)
    trial._close()
    assert study.trials[0].intermediate_values == {k: float(k) for k in range(7)}


def test_a_failed_write_at_the_end_is_logged_not_raised(tmp_path, caplog):
    study, trial = make_trial(tmp_path, optuna.pruners.NopPruner())
    trial.report(0, loss=0.0)
    trial.report(1, loss=1.0)
    study._storage.set_trial_state_values(trial._ot._trial_id, optuna.trial.TrialState.FAIL)
    trial._close()
    assert "writing 1 intermediate values" in caplog.text
    assert study.trials[0].intermediate_values == {0: 0.0}
