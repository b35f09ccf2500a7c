"""The Ray actor pool on a real local Ray: parallel trials, pruning via the mailbox, a killed worker."""

from __future__ import annotations

import time
from dataclasses import replace

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


@pytest.fixture(autouse=True)
def _ray(local_ray) -> None:
    """Every test here runs on the module's local Ray."""


def _job(job_id: int, spec: CandidateSpec) -> Job:
    return Job(job_id, spec.to_dict(), make_task(SMALL_MOONS).config(), {"name": "default.qubit"}, {"seed": 0})


def test_two_workers_run_trials_in_parallel(wide_space: str, storage: str) -> None:
    """Without a pruner the workers send no per-epoch messages; the study still gets the values."""
    config = SearchConfig(
        space=wide_space, task=SMALL_MOONS, trials=4, workers=2, storage=storage, study="s", sampler="random", seed=3,
        pruner="none",
    )
    run_search(config)
    trials = optuna.load_study(study_name="s", storage=storage).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 4
    for trial in trials:
        assert trial.intermediate_values == due_reports(trial.user_attrs["history"]) != {}
    trained = sorted((t for t in trials if "duplicate_of" not in t.user_attrs), key=lambda t: t.datetime_start)
    overlaps = [a.datetime_complete > b.datetime_start for a, b in zip(trained, trained[1:], strict=False)]
    assert any(overlaps), "with 2 workers at least two evaluations run at the same time"


def test_pruning_decisions_reach_the_worker(tiny_space: str) -> None:
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=2.0))
    study.set_user_attr("artifact_dir", "unused")
    proposer = OptunaProposer(study, load_space(tiny_space), None, "tpe")
    executor = RayExecutor(1, on_report=proposer.report)
    try:
        proposal = proposer.ask()
        long_run = replace(proposal.spec, training=replace(proposal.spec.training, epochs=200))
        executor.submit(_job(proposal.id, long_run))
        [(job, result)] = poll_all(executor)
    finally:
        executor.shutdown()
    assert result.status == "pruned"
    # The stop request arrives within a couple of reports, far before 200 epochs.
    assert result.metrics.get("epochs_run", 0) < 50


def test_killed_worker_fails_one_trial_and_is_replaced() -> None:
    executor = RayExecutor(1, on_report=lambda job_id, step, value: False)
    try:
        spec = CandidateSpec(n_qubits=2, training=TrainingSpec(epochs=400))
        executor.submit(_job(0, spec))
        time.sleep(3)
        (actor,) = [actor for _, actor in executor._running.values()]
        ray.kill(actor, no_restart=True)
        [(_, result)] = poll_all(executor)
        assert result.status == "failed" and result.error.startswith("worker died")
        executor.submit(_job(1, CandidateSpec(n_qubits=2, training=TrainingSpec(epochs=2))))
        [(_, result)] = poll_all(executor)
        assert result.status == "ok"
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
