"""Where candidates are evaluated: the Executor interface, and the in-process executor.

A job carries only plain data (spec, task config, device, budget), so the same job runs in the
driver (`--workers 0`, for debugging and unit tests) or on a Ray worker (`qnas.ray_executor`).
"""

from __future__ import annotations

import os
import traceback
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qnas.evaluation import Budget, EvalResult, evaluate
from qnas.spec import CandidateSpec
from qnas.training import Report

ReportHandler = Callable[[int, int, float], bool]
"""(job id, step, objective value) -> True when that job should stop (pruned)."""


@dataclass(frozen=True)
class Job:
    """One evaluation, as plain JSON-able data so that it can cross process boundaries."""

    id: int
    spec: dict[str, Any]
    task: dict[str, Any]
    device: dict[str, Any]
    budget: dict[str, Any]
    data_sha256: str | None = None
    """The SHA-256 of the task's data file the study searches; a worker whose copy differs fails the trial."""
    start_angles: tuple[float, ...] | None = None
    """Where training starts for the spec's trainable gates (`Proposal.angles`); None: random."""


class TaskCache:
    """Tasks are rebuilt from their config once per process (loading data, building Hamiltonians)."""

    def __init__(self) -> None:
        self._tasks: dict[str, Any] = {}

    def get(self, config: dict[str, Any]) -> Any:
        import json

        from qnas.tasks import make_task

        key = json.dumps(config, sort_keys=True)
        if key not in self._tasks:
            self._tasks[key] = make_task(config)
        return self._tasks[key]


def failed_result(job: Job, reason: str) -> EvalResult:
    """The result of a job that ended without an evaluation (a dead worker, a timeout, a raise)."""
    return EvalResult(status="failed", error=reason, spec_hash=CandidateSpec.from_dict(job.spec).hash)


def run_job(job: Job, tasks: TaskCache, report: Report | None) -> EvalResult:
    """Build the job's task and evaluate: every executor's default job runner. Like `evaluate`, it
    never raises: a task that cannot be built here (a CSV missing on this node) fails the one trial."""
    try:
        task = tasks.get(job.task)
    except Exception as exc:
        return failed_result(job, f"task could not be built on this worker: {exc}")
    if job.data_sha256 is not None and task.data_sha256 != job.data_sha256:
        return failed_result(
            job,
            f"the task's data file on this worker has SHA-256 {str(task.data_sha256)[:12]}, not the study's "
            f"{job.data_sha256[:12]}: give every node the same file.",
        )
    return evaluate(job.spec, task, job.device, Budget.from_dict(job.budget), report=report, start_angles=job.start_angles)


JobRunner = Callable[[Job, TaskCache, Report | None], EvalResult]
"""What a worker runs for one job, given the job, its process's task cache and, when something
reads them, a `report` for intermediate values. `run_job` unless the caller passes its own: to
wrap evaluation (logging, a custom training loop around `evaluate`), or to run a job whose course a
test controls (one that blocks until killed, or loops until told to stop). On Ray workers it must
pickle: a module-level function, or an instance of a module-level class. Return an `EvalResult`;
an exception fails the one trial with the exception's text."""


class Executor(ABC):
    """Runs jobs and hands back finished results; `capacity` jobs may run at once."""

    capacity: int
    on_report: ReportHandler | None = None
    """Takes intermediate values while jobs run (a pruner); None: they come with the result only."""

    @abstractmethod
    def submit(self, job: Job) -> None:
        """Start a job; only called while `running < capacity`."""

    @abstractmethod
    def poll(self, timeout: float) -> list[tuple[Job, EvalResult]]:
        """Wait up to `timeout` seconds and return the jobs that finished."""

    @property
    @abstractmethod
    def running(self) -> int:
        """Jobs submitted and not yet returned by `poll`."""

    def shutdown(self) -> None:
        """Release workers; the default has none."""


class InProcessExecutor(Executor):
    """Evaluates one job at a time in the driver: no Ray start-up, easy to debug."""

    capacity = 1

    def __init__(self, on_report: ReportHandler | None = None, job_runner: JobRunner = run_job) -> None:
        self.on_report = on_report
        self._job_runner = job_runner
        self._queue: deque[Job] = deque()
        self._tasks = TaskCache()

    def submit(self, job: Job) -> None:
        self._queue.append(job)

    @property
    def running(self) -> int:
        return len(self._queue)

    def poll(self, timeout: float) -> list[tuple[Job, EvalResult]]:
        if not self._queue:
            return []
        job = self._queue.popleft()
        on_report = self.on_report
        report = None if on_report is None else lambda step, value: on_report(job.id, step, value)
        try:
            result = self._job_runner(job, self._tasks, report)
        except Exception as exc:  # as on a Ray worker: a raising job runner fails its one trial
            result = failed_result(job, f"worker raised: {exc!r}\n{traceback.format_exc()}")
        result.worker = {"node_id": "driver", "pid": os.getpid()}
        return [(job, result)]


def make_executor(
    workers: int, address: str | None = None, trial_timeout: float | None = None, job_runner: JobRunner = run_job
) -> Executor:
    """`workers == 0` evaluates in-process; otherwise a pool of that many Ray actors, on a local
    Ray or on the cluster at `address`, starting up from this call on. Each job runs `job_runner`."""
    if workers == 0:
        return InProcessExecutor(job_runner=job_runner)
    from qnas.ray_executor import RayExecutor

    return RayExecutor(workers, address=address, trial_timeout=trial_timeout, job_runner=job_runner)
