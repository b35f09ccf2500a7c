"""Faults a search must survive: killed workers, killed drivers, timeouts, interrupted searches.

Workers are found and killed by PID, as a user or a cluster would kill them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from qnas.executor import Job
from qnas.ray_executor import RayExecutor
from qnas.search import SearchConfig, run_search
from qnas.spec import CandidateSpec, TrainingSpec
from qnas.tasks import make_task
from tests.conftest import SMALL_MOONS, poll_all


@pytest.fixture
def slow_space(tmp_path: Path, tiny_space: str) -> str:
    """The tiny space with enough epochs (several seconds a trial) to be caught mid-trial."""
    path = tmp_path / "slow.yaml"
    path.write_text(Path(tiny_space).read_text().replace("epochs: 4", "epochs: 60"))
    return str(path)


@pytest.fixture
def distinct_slow_space(tmp_path: Path, wide_space: str) -> str:
    """Every trial a new candidate (none reused from the cache) that trains for seconds."""
    path = tmp_path / "distinct_slow.yaml"
    path.write_text(Path(wide_space).read_text().replace("epochs: 1", "epochs: 150"))
    return str(path)


def _busy_worker_pids() -> list[int]:
    """PIDs of Ray workers inside EvalWorker.evaluate (Ray titles busy processes by method)."""
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if "EvalWorker.evaluate" in line]


def _kill_first_busy_worker(deadline_s: float = 60) -> list[int]:
    killed: list[int] = []
    end = time.monotonic() + deadline_s
    while not killed and time.monotonic() < end:
        for pid in _busy_worker_pids()[:1]:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.2)
    return killed


def test_worker_killed_mid_trial_is_retried_and_the_count_is_reached(local_ray, slow_space: str, storage: str) -> None:
    killer_result: list[int] = []
    killer = threading.Thread(target=lambda: killer_result.extend(_kill_first_busy_worker()))
    killer.start()
    outcome = run_search(
        SearchConfig(space=slow_space, task=SMALL_MOONS, trials=3, workers=1, storage=storage, study="s", max_retries=2)
    )
    killer.join()
    assert killer_result, "no busy worker was found to kill"
    trials = optuna.load_study(study_name="s", storage=storage).trials
    died = [t for t in trials if t.state == TrialState.FAIL]
    assert len(died) == 1 and died[0].user_attrs["fail_reason"].startswith("worker died")
    assert died[0].user_attrs["retried"] is True
    retry = [t for t in trials if t.user_attrs.get("retry_of") == died[0].number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].user_attrs["spec_hash"] == died[0].user_attrs["spec_hash"]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3 and outcome.counts.done == 3


def test_timeout_fails_the_trial_and_frees_its_worker(local_ray) -> None:
    task = make_task(SMALL_MOONS).config()
    # 10 s: far below the long job (about 70 s), well above a short job on a fresh, loaded worker.
    executor = RayExecutor(1, on_report=lambda *_: False, trial_timeout=10)
    try:
        executor.submit(Job(0, CandidateSpec(n_qubits=2, training=TrainingSpec(epochs=2000)).to_dict(), task,
                            {"name": "default.qubit"}, {"seed": 0}))
        [(_, result)] = poll_all(executor, deadline_s=60)
        assert result.status == "failed" and result.error == "timed out after 10 s"
        assert executor.running == 0
        executor.submit(Job(1, CandidateSpec(n_qubits=2, training=TrainingSpec(epochs=2)).to_dict(), task,
                            {"name": "default.qubit"}, {"seed": 0}))
        [(_, result)] = poll_all(executor, deadline_s=60)
        assert result.status == "ok", result.error
    finally:
        executor.shutdown()


def test_driver_killed_then_resumed_keeps_every_finished_trial(distinct_slow_space: str, storage: str) -> None:
    # Distinct, unpruned candidates: a reused or pruned trial can finish between two polls, and
    # the driver could then end the search before it is caught with a trial running.
    command = [sys.executable, "-m", "qnas.cli", "search", "--space", distinct_slow_space, "--workers", "0",
               "--pruner", "none", "--storage", storage, "--study", "r", "--task", "moons", "--task-arg", "n_samples=120"]
    driver = subprocess.Popen([*command, "--trials", "4"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    caught_mid_trial = False
    try:
        end = time.monotonic() + 180
        while not caught_mid_trial and time.monotonic() < end and driver.poll() is None:
            time.sleep(0.2)
            try:
                trials = optuna.load_study(study_name="r", storage=storage).trials
            except KeyError:
                continue
            states = [t.state for t in trials]
            caught_mid_trial = TrialState.COMPLETE in states and TrialState.RUNNING in states
        driver.send_signal(signal.SIGKILL)
    finally:
        driver.wait(timeout=30)
    assert caught_mid_trial, "the driver was never seen with one trial finished and another running"
    before = {t.number: t.value for t in optuna.load_study(study_name="r", storage=storage).trials
              if t.state == TrialState.COMPLETE}
    assert before, "the driver was killed before any trial finished"

    assert subprocess.run([*command, "--resume", "--trials", "2"], capture_output=True).returncode == 2
    resumed = subprocess.run([*command, "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    trials = optuna.load_study(study_name="r", storage=storage).trials
    assert {t.number: t.value for t in trials if t.number in before} == before
    interrupted = [t for t in trials if t.user_attrs.get("interrupted")]
    assert interrupted and all(t.state == TrialState.FAIL for t in interrupted)
    assert all("interrupted" in t.user_attrs["fail_reason"] for t in interrupted)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 4


def test_an_interrupted_search_leaves_no_trial_running(wide_space: str, storage: str, monkeypatch) -> None:
    """Ctrl-C mid-search: pending trials are failed with the reason, finished ones kept."""
    import qnas.executor

    calls = {"n": 0}
    real = qnas.executor.evaluate

    def interrupt_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(qnas.executor, "evaluate", interrupt_on_second)
    with pytest.raises(KeyboardInterrupt):
        run_search(SearchConfig(space=wide_space, task=SMALL_MOONS, trials=4, workers=0, storage=storage, study="s",
                                sampler="random", seed=4))
    trials = optuna.load_study(study_name="s", storage=storage).trials
    # Trial 1 was running; the spare proposal asked for the next free worker was pending too.
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAIL, TrialState.FAIL]
    assert all(t.user_attrs["fail_reason"] == "interrupted: the search stopped on KeyboardInterrupt" for t in trials[1:])


def test_a_continued_search_proposes_new_candidates(wide_space: str, storage: str) -> None:
    config = SearchConfig(space=wide_space, task=SMALL_MOONS, trials=3, workers=0, storage=storage, study="s",
                          sampler="random", seed=0)
    run_search(config)
    run_search(config)
    rates = [t.params["learning_rate"] for t in optuna.load_study(study_name="s", storage=storage).trials]
    assert len(set(rates)) == 6, "the second run repeated the first run's candidates"
