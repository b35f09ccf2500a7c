"""Evaluation on a pool of long-lived Ray actors, with pruning decisions relayed by a broker actor.

Workers stay alive for the whole search so each pays its PennyLane/torch import cost once.
Workers never see the study: after each epoch a worker posts its objective to the broker and
learns whether the driver has asked it to stop; the driver drains the broker, consults the
Optuna pruner, and posts stop requests back.
"""

from __future__ import annotations

import logging
import os
import traceback
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

from qnas.evaluation import EvalResult
from qnas.executor import Executor, Job, ReportHandler, TaskCache, run_job
from qnas.spec import CandidateSpec

WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@ray.remote(num_cpus=0)
class PruningBroker:
    """Mailbox between workers (intermediate values) and the driver (stop requests)."""

    def __init__(self) -> None:
        self._reports: list[tuple[int, int, float]] = []
        self._stopped: set[int] = set()

    def report(self, job_id: int, step: int, value: float) -> bool:
        self._reports.append((job_id, step, value))
        return job_id in self._stopped

    def drain(self) -> list[tuple[int, int, float]]:
        reports, self._reports = self._reports, []
        return reports

    def stop(self, job_id: int) -> None:
        self._stopped.add(job_id)


@ray.remote(num_cpus=1)
class EvalWorker:
    """A long-lived evaluation process: one thread, imports paid once, tasks cached."""

    def __init__(self) -> None:
        import torch

        torch.set_num_threads(1)
        self._tasks = TaskCache()

    def evaluate(self, job: Job, broker: Any) -> EvalResult:
        def report(step: int, value: float) -> bool:
            return ray.get(broker.report.remote(job.id, step, value))

        return run_job(job, self._tasks, report)


def _failed(job: Job, reason: str) -> EvalResult:
    return EvalResult(status="failed", error=reason, spec_hash=CandidateSpec.from_dict(job.spec).hash)


class RayExecutor(Executor):
    """A fixed pool of `workers` actors on the local Ray (started here) or an already running one."""

    def __init__(self, workers: int, on_report: ReportHandler) -> None:
        self._started_ray = not ray.is_initialized()
        if self._started_ray:
            for key, value in WORKER_ENV.items():
                os.environ.setdefault(key, value)
            # Ray >= 2.50 turns on token auth for new heads; a private loopback cluster does not need it.
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                log_to_driver=False,
                logging_level=logging.WARNING,
                _node_ip_address="127.0.0.1",
                runtime_env={"env_vars": WORKER_ENV},
            )
        self.capacity = workers
        self._on_report = on_report
        self._broker = PruningBroker.remote()
        self._idle = [EvalWorker.remote() for _ in range(workers)]
        self._running: dict[ray.ObjectRef, tuple[Job, Any]] = {}

    @property
    def running(self) -> int:
        return len(self._running)

    def submit(self, job: Job) -> None:
        actor = self._idle.pop()
        self._running[actor.evaluate.remote(job, self._broker)] = (job, actor)

    def poll(self, timeout: float) -> list[tuple[Job, EvalResult]]:
        self._relay_reports()
        if not self._running:
            return []
        ready, _ = ray.wait(list(self._running), num_returns=len(self._running), timeout=timeout)
        finished = []
        for ref in ready:
            job, actor = self._running.pop(ref)
            try:
                result = ray.get(ref)
            except RayActorError as exc:
                result = _failed(job, f"worker died: {exc}")
                actor = EvalWorker.remote()
            except RayTaskError as exc:
                result = _failed(job, f"worker raised: {exc.cause!r}\n{traceback.format_exc()}")
            self._idle.append(actor)
            finished.append((job, result))
        return finished

    def _relay_reports(self) -> None:
        try:
            reports = ray.get(self._broker.drain.remote(), timeout=10)
        except GetTimeoutError:
            return
        for job_id, step, value in reports:
            if self._on_report(job_id, step, value):
                self._broker.stop.remote(job_id)

    def shutdown(self) -> None:
        for actor in self._idle + [actor for _, actor in self._running.values()]:
            ray.kill(actor)
        ray.kill(self._broker)
        if self._started_ray:
            ray.shutdown()
