"""The Ray actor pool on a real local Ray: parallel trials, pruning via the mailbox, a killed worker.

Jobs run through `tests.controlled_jobs`, so each test acts on a job known to be running."""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
import ray

from qnas.agents import OptunaProposer
from qnas.errors import QnasError
from qnas.executor import Job
from qnas.ray_executor import RayExecutor
from qnas.search import SearchConfig, run_search
from qnas.search_spaces import load_space
from qnas.spec import CandidateSpec, TrainingSpec
from qnas.tasks import make_task
from qnas.training import due_reports
from tests.conftest import SMALL_MOONS, poll_all
from tests.controlled_jobs import TEST_WAIT_S, ControlledJobs, report_until_stopped


@pytest.fixture(autouse=True)
def _ray(local_ray) -> None:
    """Every test here runs on the module's local Ray."""


def _job(job_id: int, spec: CandidateSpec) -> Job:
    return Job(job_id, spec.to_dict(), make_task(SMALL_MOONS).config(), {"name": "default.qubit"}, {"seed": 0})


def _parallel_search(workers: int, folder: Path, wide_space: str, storage: str, within_s: float) -> list[list[int] | None]:
    """A search whose first two trials each wait until both run; the PIDs each saw running the other."""
    jobs = ControlledJobs(str(folder), together=(0, 1), together_within_s=within_s)
    config = SearchConfig(
        space=wide_space, task=SMALL_MOONS, trials=4, workers=workers, storage=storage, study="s", sampler="random",
        seed=3, pruner="none",
    )
    run_search(config, job_runner=jobs)
    return [jobs.met(0), jobs.met(1)]


def _ran_in_two_processes_at_once(met: list[list[int] | None], pids: list[int]) -> bool:
    """Job 0 saw job 1's process while it ran, and the other way round, and they are two processes."""
    return met == [[pids[1]], [pids[0]]] and pids[0] != pids[1]


def test_two_workers_run_trials_in_parallel(wide_space: str, storage: str, tmp_path: Path) -> None:
    """Two worker processes run trials at the same time. Without a pruner the workers send no
    per-epoch messages; the study still gets the values."""
    met = _parallel_search(2, tmp_path, wide_space, storage, within_s=TEST_WAIT_S)
    trials = optuna.load_study(study_name="s", storage=storage).trials
    pids = [trial.user_attrs["worker"]["pid"] for trial in trials[:2]]
    assert _ran_in_two_processes_at_once(met, pids), f"met {met}, pids {pids}"
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 4
    for trial in trials:
        assert trial.intermediate_values == due_reports(trial.user_attrs["history"]) != {}


def test_the_parallel_check_fails_in_process(wide_space: str, storage: str, tmp_path: Path) -> None:
    """The check above can fail: in the driver's one process, job 0 never meets job 1."""
    met = _parallel_search(0, tmp_path, wide_space, storage, within_s=0.5)
    trials = optuna.load_study(study_name="s", storage=storage).trials
    pids = [trial.user_attrs["worker"]["pid"] for trial in trials[:2]]
    assert not _ran_in_two_processes_at_once(met, pids)
    assert trials[0].user_attrs["fail_reason"] == "job 0 never ran beside jobs [1] within 0.5 s"


def test_pruning_decisions_reach_the_worker(tiny_space: str) -> None:
    """A job that stops only when told to: it ends pruned, after the pruner's first stop request."""
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0))
    study.set_user_attr("artifact_dir", "unused")
    proposer = OptunaProposer(study, load_space(tiny_space), None, "tpe")
    stop_requested_at: list[int] = []

    def on_report(job_id: int, step: int, value: float) -> bool:
        stop = proposer.report(job_id, step, value)
        if stop and not stop_requested_at:
            stop_requested_at.append(step)
        return stop

    executor = RayExecutor(1, on_report=on_report, job_runner=report_until_stopped)
    try:
        proposal = proposer.ask()
        executor.submit(_job(proposal.id, proposal.spec))
        [(job, result)] = poll_all(executor, deadline_s=TEST_WAIT_S)
    finally:
        executor.shutdown()
    assert result.status == "pruned"
    assert result.metrics["epochs_run"] > stop_requested_at[0], "it stopped only after the stop was requested"


def test_killed_worker_fails_one_trial_and_is_replaced(tmp_path: Path) -> None:
    jobs = ControlledJobs(str(tmp_path), hold=(0,))  # job 0 runs until it is killed
    executor = RayExecutor(1, on_report=lambda job_id, step, value: False, job_runner=jobs)
    try:
        spec = CandidateSpec(n_qubits=2, training=TrainingSpec(epochs=2))
        executor.submit(_job(0, spec))
        jobs.wait_started(0)
        (actor,) = [actor for _, actor in executor._running.values()]
        ray.kill(actor, no_restart=True)
        [(_, result)] = poll_all(executor, deadline_s=TEST_WAIT_S)
        assert result.status == "failed" and result.error.startswith("worker died")
        executor.submit(_job(1, spec))  # a real evaluation on the replacement worker
        [(_, result)] = poll_all(executor, deadline_s=TEST_WAIT_S)
        assert result.status == "ok", result.error
    finally:
        executor.shutdown()


def test_workers_released_when_the_search_fails_after_they_started(wide_space: str, storage: str, tmp_path) -> None:
    """The pool starts before the study opens, so a failure while setting up (here: a missing RL
    policy) must still give its CPUs back."""
    config = SearchConfig(
        space=wide_space, task=SMALL_MOONS, trials=2, workers=2, storage=storage, study="s", agent="rl",
        policy=str(tmp_path / "no-such-agent"),
    )
    with pytest.raises(QnasError, match="no-such-agent"):
        run_search(config)
    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 2
