"""The driver's cache (`qnas.driver_cache`) answers as the database does, with fewer reads and writes."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from sqlalchemy import event

from qnas.agents import OptunaProposer
from qnas.driver_cache import DriverCachedStorage
from qnas.search_spaces import load_space
from qnas.storage import open_storage, write_trial_record

REFRESH_S = 0.3


def _as_read_from_the_database(url: str, study_name: str) -> dict[int, tuple]:
    """Each trial's facts, read by a fresh process-like storage with no cache of its own."""
    study = optuna.load_study(study_name=study_name, storage=RDBStorage(url))
    return {t.number: _facts(t) for t in study.get_trials(deepcopy=False)}


def _facts(trial: optuna.trial.FrozenTrial) -> tuple:
    return (trial.state, trial.values, trial.params, trial.user_attrs, trial.intermediate_values)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cache.db'}"


def test_own_open_trials_are_read_from_memory_and_equal_the_database(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = DriverCachedStorage(RDBStorage(url), refresh_s=REFRESH_S)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    trial = study.ask()
    trial.suggest_float("lr", 1e-3, 1e-1, log=True)
    trial.suggest_categorical("gate", ["CNOT", "CZ"])
    trial.set_user_attr("spec", {"n_qubits": 2})
    trial.report(0.5, 1)
    write_trial_record(storage, trial._trial_id, {"metrics": {"acc": 0.9}}, {2: 0.75})

    reads: list[int] = []
    real_get_trial = RDBStorage.get_trial
    monkeypatch.setattr(RDBStorage, "get_trial", lambda self, trial_id: reads.append(trial_id) or real_get_trial(self, trial_id))
    cached = storage.get_trial(trial._trial_id)
    assert reads == [], "an open trial of this process is served from memory"
    storage.flush(trial._trial_id)
    assert _facts(cached) == _as_read_from_the_database(url, "s")[0]
    assert cached.intermediate_values == {1: 0.5, 2: 0.75} and cached.user_attrs["metrics"] == {"acc": 0.9}

    study.tell(trial, 0.8)
    finished = storage.get_trial(trial._trial_id)
    assert finished.state == TrialState.COMPLETE and _facts(finished) == _as_read_from_the_database(url, "s")[0]


def test_other_processes_trials_appear_within_the_refresh_interval(url: str) -> None:
    ours = optuna.create_study(study_name="s", storage=DriverCachedStorage(RDBStorage(url), refresh_s=REFRESH_S))
    theirs = optuna.load_study(study_name="s", storage=RDBStorage(url))
    assert ours.get_trials() == []  # the first look reads the database, and starts the interval
    theirs.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    time.sleep(REFRESH_S * 1.5)
    assert [t.state for t in ours.get_trials()] == [TrialState.COMPLETE] * 2

    theirs.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    own = ours.ask()
    ours.tell(own, 0.5)
    time.sleep(REFRESH_S * 1.5)
    assert len(ours.get_trials(states=(TrialState.COMPLETE,))) == 4
    assert {t.number: _facts(t) for t in ours.get_trials()} == _as_read_from_the_database(url, "s")


def test_own_finished_trials_are_known_without_a_read(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    study = optuna.create_study(study_name="s", storage=DriverCachedStorage(RDBStorage(url), refresh_s=60))
    assert study.get_trials() == []  # the first look reads the database, and starts the interval
    reads: list[int] = []
    real_get_trials = RDBStorage._get_trials
    monkeypatch.setattr(RDBStorage, "_get_trials", lambda self, *a, **k: reads.append(1) or real_get_trials(self, *a, **k))
    for value in (0.1, 0.2):
        trial = study.ask()
        trial.suggest_float("x", 0, 1)
        study.tell(trial, value)
    assert [(t.state, t.values) for t in study.get_trials()] == [(TrialState.COMPLETE, [0.1]), (TrialState.COMPLETE, [0.2])]
    assert reads == [], "this process's finished trials are served from what it wrote"
    assert {t.number: _facts(t) for t in study.get_trials()} == _as_read_from_the_database(url, "s")


def test_an_enqueued_trial_is_taken_by_the_next_ask(url: str) -> None:
    """The search retries a trial whose worker died with `enqueue_trial`: its parameters come back."""
    study = optuna.create_study(study_name="s", storage=DriverCachedStorage(RDBStorage(url), refresh_s=60))
    first = study.ask()
    first.suggest_float("lr", 1e-3, 1e-1, log=True)
    study.tell(first, state=TrialState.FAIL)
    study.enqueue_trial(first.params, user_attrs={"retry_of": first.number})
    again = study.ask()
    assert again.suggest_float("lr", 1e-3, 1e-1, log=True) == first.params["lr"]
    assert again.user_attrs == {"retry_of": 0}
    study.tell(again, 1.0)
    assert _facts(study.get_trials()[1]) == _as_read_from_the_database(url, "s")[1]
    assert study.get_trials()[1].state == TrialState.COMPLETE


def test_study_attributes_are_reread_after_the_interval_and_after_our_own_writes(url: str) -> None:
    ours = optuna.create_study(study_name="s", storage=DriverCachedStorage(RDBStorage(url), refresh_s=REFRESH_S))
    theirs = optuna.load_study(study_name="s", storage=RDBStorage(url))
    ours.set_user_attr("artifact_dir", "/a")
    assert ours.user_attrs == {"artifact_dir": "/a"}
    theirs.set_user_attr("trials_requested", 5)
    time.sleep(REFRESH_S * 1.5)
    assert ours.user_attrs == {"artifact_dir": "/a", "trials_requested": 5}
    ours.set_user_attr("artifact_dir", "/b")
    assert ours.user_attrs["artifact_dir"] == "/b"


def _count_commits(storage: DriverCachedStorage) -> list[int]:
    commits: list[int] = []
    event.listen(storage._backend.engine, "commit", lambda _connection: commits.append(1))
    return commits


def test_held_writes_reach_the_database_in_one_transaction_at_flush_and_at_the_end(url: str) -> None:
    storage = DriverCachedStorage(RDBStorage(url), refresh_s=60)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    first = study.ask()
    first.suggest_float("lr", 1e-3, 1e-1, log=True)  # a name's first use is checked in the database
    study.tell(first, 0.5)

    trial = study.ask()
    commits = _count_commits(storage)
    trial.suggest_float("lr", 1e-3, 1e-1, log=True)
    trial.set_user_attr("spec", {"n_qubits": 2})
    storage.set_trial_system_attr(trial._trial_id, "relative", "{}")
    assert commits == [], "writes to an open trial of this driver are held"
    assert _as_read_from_the_database(url, "s")[1][2] == {}, "not in the database yet"
    with pytest.raises(ValueError, match="Cannot set different distribution kind"):
        trial.suggest_int("lr", 1, 3)  # checked at once, as Optuna does, though held

    storage.flush(trial._trial_id)
    assert len(commits) == 1
    assert _facts(storage.get_trial(trial._trial_id)) == _as_read_from_the_database(url, "s")[1]

    write_trial_record(storage, trial._trial_id, {"metrics": {"acc": 0.9}}, {1: 0.25, 2: float("inf")})
    study.tell(trial, 0.75)
    assert len(commits) == 2, "the record and the end in one transaction"
    fresh = optuna.load_study(study_name="s", storage=RDBStorage(url)).trials[1]
    assert fresh.state == TrialState.COMPLETE and fresh.datetime_complete == storage.get_trial(trial._trial_id).datetime_complete
    assert fresh.system_attrs == {"relative": "{}"}
    assert _facts(storage.get_trial(trial._trial_id)) == _facts(fresh)


def test_a_read_of_the_database_writes_what_is_held_first(url: str) -> None:
    storage = DriverCachedStorage(RDBStorage(url), refresh_s=REFRESH_S)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    study.tell(study.ask({"x": optuna.distributions.FloatDistribution(0, 1)}), 0.1)
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    trial.set_user_attr("note", "held")
    time.sleep(REFRESH_S * 1.5)
    assert {t.number: _facts(t) for t in study.get_trials()} == _as_read_from_the_database(url, "s")
    assert study.get_trials()[1].user_attrs == {"note": "held"}


def test_ending_a_trial_another_process_ended_writes_nothing(url: str) -> None:
    storage = DriverCachedStorage(RDBStorage(url), refresh_s=60)
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    trial = study.ask()
    theirs = RDBStorage(url)
    theirs.set_trial_state_values(trial._trial_id, TrialState.FAIL)
    write_trial_record(storage, trial._trial_id, {"late": True}, {})
    with pytest.raises(UpdateFinishedTrialError, match="Trial#0 has already finished"):
        storage.set_trial_state_values(trial._trial_id, TrialState.COMPLETE, [1.0])
    assert _as_read_from_the_database(url, "s")[0] == (TrialState.FAIL, None, {}, {}, {})
    assert study.get_trials()[0].state == TrialState.FAIL, "the cache reads the trial back"


def test_a_proposal_runs_with_its_parameters_in_the_database(tmp_path: Path, tiny_space: str) -> None:
    """The proposer writes what the driver holds once the candidate is drawn, before any worker starts it."""
    url = f"sqlite:///{tmp_path / 'proposals.db'}"
    study = optuna.create_study(study_name="s", storage=open_storage(url), direction="maximize")
    proposer = OptunaProposer(study, load_space(tiny_space), None, "random")
    proposals = [proposer.ask() for _ in range(3)]
    stored = _as_read_from_the_database(url, "s")
    assert [stored[p.id][2] for p in proposals] == [p.params for p in proposals]
    assert all(stored[p.id][0] == TrialState.RUNNING for p in proposals)
