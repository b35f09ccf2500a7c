"""Faults a search must survive: killed workers, timeouts, interrupted searches (a killed driver
and its resume: test_resume.py).

Workers are killed by PID, as a user or a cluster would kill them, while a trial is
known to run: its job (`tests.controlled_jobs`) announced that it started and waits.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from qnas.evaluation import EvalResult
from qnas.executor import Job, TaskCache, run_job
from qnas.ray_executor import RayExecutor
from qnas.search import SearchConfig, run_search
from qnas.spec import CandidateSpec, TrainingSpec
from qnas.tasks import make_task
from qnas.training import Report
from tests.conftest import SMALL_MOONS, poll_all
from tests.controlled_jobs import TEST_WAIT_S, ControlledJobs


def test_worker_killed_mid_trial_is_retried_and_the_count_is_reached(local_ray, tiny_space: str, storage: str,
                                                                    tmp_path: Path) -> None:
    jobs = ControlledJobs(str(tmp_path), hold=(0,))  # trial 0 runs until its worker is killed
    missed: list[BaseException] = []

    def kill_trial_0() -> None:
        try:
            os.kill(jobs.wait_started(0), signal.SIGKILL)
        except BaseException as exc:  # let the held job go, so the search ends and the test reports it
            missed.append(exc)
            jobs.release(0)

    killer = threading.Thread(target=kill_trial_0)
    killer.start()
    outcome = run_search(
        SearchConfig(space=tiny_space, task=SMALL_MOONS, trials=3, workers=1, storage=storage, study="s", max_retries=2),
        job_runner=jobs,
    )
    killer.join()
    assert not missed, missed
    trials = optuna.load_study(study_name="s", storage=storage).trials
    died = [t for t in trials if t.state == TrialState.FAIL]
    assert len(died) == 1 and died[0].number == 0 and died[0].user_attrs["fail_reason"].startswith("worker died")
    assert died[0].user_attrs["retried"] is True
    retry = [t for t in trials if t.user_attrs.get("retry_of") == died[0].number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].user_attrs["spec_hash"] == died[0].user_attrs["spec_hash"]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3 and outcome.counts.done == 3
    assert outcome.counts.failed_attempts == 1, "the summary counts the attempt lost to the dead worker"
    assert outcome.counts.failures_line().startswith("1 failed attempt, 1 of them retried: 1 x worker died")


def test_timeout_fails_the_trial_and_frees_its_worker(local_ray, tmp_path: Path) -> None:
    jobs = ControlledJobs(str(tmp_path), hold=(0,), evaluate=False)  # job 0 never ends; job 1 ends at once
    task = make_task(SMALL_MOONS).config()
    spec = CandidateSpec(n_qubits=2, training=TrainingSpec(epochs=2)).to_dict()
    executor = RayExecutor(1, trial_timeout=5, job_runner=jobs)
    try:
        executor.submit(Job(0, spec, task, {"name": "default.qubit"}, {"seed": 0}))
        [(_, result)] = poll_all(executor, deadline_s=TEST_WAIT_S)
        assert result.status == "failed" and result.error == "timed out after 5 s"
        assert executor.running == 0
        executor.submit(Job(1, spec, task, {"name": "default.qubit"}, {"seed": 0}))
        [(_, result)] = poll_all(executor, deadline_s=TEST_WAIT_S)
        assert result.status == "ok", result.error
        assert jobs.wait_started(1) != jobs.wait_started(0), "a fresh worker took the timed-out one's slot"
    finally:
        executor.shutdown()


def _raise_on_the_first_job(job: Job, tasks: TaskCache, report: Report | None) -> EvalResult:
    if job.id == 0:
        raise RuntimeError("boom")
    return run_job(job, tasks, report)


def test_a_raising_job_runner_fails_its_one_trial(wide_space: str, storage: str) -> None:
    run_search(SearchConfig(space=wide_space, task=SMALL_MOONS, trials=2, workers=0, storage=storage, study="s"),
               job_runner=_raise_on_the_first_job)
    trials = optuna.load_study(study_name="s", storage=storage).trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.COMPLETE]
    assert trials[0].user_attrs["fail_reason"].startswith("worker raised: RuntimeError('boom')")


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
