"""Where candidates are evaluated: the Executor interface, and the in-process executor.

A job carries only plain data (spec, task config, device, budget), so the same job runs in the
driver (`--workers 0`, for debugging and unit tests) or on a Ray worker (`qnas.ray_executor`).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from qnas.evaluation import Budget, EvalResult, evaluate
from qnas.spec import CandidateSpec

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


def run_job(job: Job, tasks: TaskCache, report: Callable[[int, float], bool] | None) -> EvalResult:
    """Build the job's task and evaluate; shared by every executor. Like `evaluate`, it never
    raises: a task that cannot be built here (a CSV missing on this node) fails the one trial."""
    try:
        task = tasks.get(job.task)
    except Exception as exc:
        return EvalResult(
            status="failed",
            error=f"task could not be built on this worker: {exc}",
            spec_hash=CandidateSpec.from_dict(job.spec).hash,
        )
    return evaluate(job.spec, task, job.device, Budget.from_dict(job.budget), report=report)


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

    def __init__(self, on_report: ReportHandler | None = None) -> None:
        self.on_report = on_report
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
        result = run_job(job, self._tasks, report)
        result.worker = {"node_id": "driver", "pid": os.getpid()}
        return [(job, result)]


def make_executor(workers: int, address: str | None = None, trial_timeout: float | None = None) -> Executor:
    """`workers == 0` evaluates in-process; otherwise a pool of that many Ray actors, on a local
    Ray or on the cluster at `address`, starting up from this call on."""
    if workers == 0:
        return InProcessExecutor()
    from qnas.ray_executor import RayExecutor

    return RayExecutor(workers, address=address, trial_timeout=trial_timeout)
