"""Evaluation on a pool of long-lived Ray actors, with job events and pruning relayed by a mailbox actor.

Workers stay alive for the whole search so each pays its PennyLane/torch import cost once.
Workers never see the study: a worker posts to a mailbox actor when it starts a job and, after
each epoch, its objective, learning whether the driver has asked it to stop; the driver drains
the mailbox, consults the Optuna pruner, and posts stop requests back.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError, RayTaskError

from qnas.errors import QnasError
from qnas.evaluation import EvalResult
from qnas.executor import Executor, Job, JobRunner, ReportHandler, TaskCache, failed_result, run_job
from qnas.job_mailbox import JobMailbox

WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@ray.remote(num_cpus=1)
class EvalWorker:
    """A long-lived evaluation process: one thread, imports paid once, tasks cached."""

    def __init__(self, job_runner: JobRunner) -> None:
        import torch

        torch.set_num_threads(1)
        self._job_runner = job_runner
        self._tasks = TaskCache()
        self._where = {"node_id": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}

    def evaluate(self, job: Job, mailbox: Any = None, reports: bool = False) -> EvalResult:
        """Run `job`. With a `mailbox`, post when it starts (timeouts count from there) and, with
        `reports`, each intermediate value (the driver may answer "stop")."""
        if mailbox is not None:
            mailbox.started.remote(job.id)
        unanswered: list[ray.ObjectRef] = []

        def report(step: int, value: float) -> bool:
            # Not waiting for the answer keeps the worker training while the mailbox (a process
            # that competes for the same cores) catches up: a stop request lands an epoch later.
            unanswered.append(mailbox.report.remote(job.id, step, value))
            answered, unanswered[:] = ray.wait(unanswered, num_returns=len(unanswered), timeout=0)
            return any(ray.get(answered))

        result = self._job_runner(job, self._tasks, report if reports and mailbox is not None else None)
        ray.get(unanswered)  # every report reaches the mailbox before the result reaches the driver
        result.worker = self._where
        return result


def new_worker(job_runner: JobRunner) -> Any:
    # Actor-level env vars merge with a job's runtime_env (`ray job submit --runtime-env-json`).
    return EvalWorker.options(runtime_env={"env_vars": WORKER_ENV}).remote(job_runner)


CONNECT_SECONDS = 10.0
"""How long a cluster's HOST:PORT may take to accept a connection; Ray itself waits minutes."""


def check_address(address: str) -> None:
    """Fail fast, with the fix, when nothing listens at a HOST:PORT cluster address."""
    host, _, port = address.rpartition(":")
    if address == "auto" or "://" in address or not host or not port.isdigit():
        return  # "auto", ray:// client addresses and bare hosts: Ray's own lookup reports these
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as exc:
        raise _no_cluster(address, exc.strerror or str(exc)) from None


def _no_cluster(address: str, detail: str) -> QnasError:
    return QnasError(
        f"no Ray cluster answers at --address {address} ({detail}). Start one with "
        "`ray start --head --port PORT`, pass the head's HOST:PORT (`ray status` on the head prints it), "
        "or leave --address out to run on a private local Ray."
    )


def connect(address: str | None, workers: int) -> bool:
    """Join the cluster at `address` (or $RAY_ADDRESS, as under `ray job submit`), else start a
    private local Ray bound to loopback with a CPU slot per worker (at least one per core).
    Returns True when this call started Ray."""
    if ray.is_initialized():
        return False
    quiet = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address or os.environ.get("RAY_ADDRESS"):
        target = address or os.environ["RAY_ADDRESS"]
        check_address(target)
        try:
            ray.init(address=address, **quiet)
        except (ConnectionError, TimeoutError) as exc:
            raise _no_cluster(target, str(exc).splitlines()[0]) from None
        return False
    for key, value in WORKER_ENV.items():
        os.environ.setdefault(key, value)
    # Ray >= 2.50 turns on token auth for new heads; a private loopback Ray does not need it.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=max(workers, os.cpu_count() or 1), _node_ip_address="127.0.0.1", **quiet)
    return True


class RayExecutor(Executor):
    """A fixed pool of `workers` actors on a local Ray (started here) or a running cluster.

    The actors are asked for at construction and import torch and PennyLane while the caller
    goes on (opening the study, building the proposer); the first `submit` waits for none of it.

    A mailbox actor carries job starts and intermediate values only when something reads them
    (a trial timeout, or an `on_report` handler, which may be set until the first submit):
    without both, a job is one actor call and nothing else.

    Each job runs `job_runner` on its worker (`qnas.executor.JobRunner`; `run_job` by default).

    `trial_timeout` (seconds) bounds one evaluation, from the moment its worker starts it (a fresh
    worker's start-up does not count): past it the worker is killed, the job fails with "timed out
    after S s", and a fresh worker takes the freed slot.
    """

    def __init__(
        self,
        workers: int,
        on_report: ReportHandler | None = None,
        address: str | None = None,
        trial_timeout: float | None = None,
        job_runner: JobRunner = run_job,
    ) -> None:
        self._started_ray = connect(address, workers)
        cpus = ray.cluster_resources().get("CPU", 0)
        if workers > cpus:
            if self._started_ray:
                ray.shutdown()
            raise QnasError(
                f"--workers = {workers} needs {workers} CPUs, but the Ray cluster has {cpus:g}; "
                "lower --workers or add nodes (each worker takes one CPU)."
            )
        self.capacity = workers
        self.on_report = on_report
        self._trial_timeout = trial_timeout
        self._mailbox: Any = None
        self._job_runner = job_runner
        self._idle = [new_worker(job_runner) for _ in range(workers)]
        self._running: dict[ray.ObjectRef, tuple[Job, Any]] = {}
        self._started_at: dict[int, float] = {}

    @property
    def running(self) -> int:
        return len(self._running)

    def submit(self, job: Job) -> None:
        if self._mailbox is None and (self.on_report is not None or self._trial_timeout is not None):
            self._mailbox = JobMailbox.remote()
        actor = self._idle.pop()
        call = actor.evaluate.remote(job, self._mailbox, self.on_report is not None)
        self._running[call] = (job, actor)

    def poll(self, timeout: float) -> list[tuple[Job, EvalResult]]:
        if not self._running:
            return []
        # Return as soon as one job is done (a freed worker should not idle out the timeout),
        # with every other job that is done by then.
        ready, rest = ray.wait(list(self._running), num_returns=1, timeout=timeout)
        if ready and rest:
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        self._relay_mail()  # after the wait, so a finishing job's last report reaches its trial before tell
        finished = [self._collect(ref) for ref in ready]
        return finished + self._expire_overdue()

    def _collect(self, ref: ray.ObjectRef) -> tuple[Job, EvalResult]:
        job, actor = self._running.pop(ref)
        self._started_at.pop(job.id, None)
        try:
            result = ray.get(ref)
        except RayActorError as exc:
            result = failed_result(job, f"worker died: {exc}")
            actor = new_worker(self._job_runner)
        except RayTaskError as exc:
            result = failed_result(job, f"worker raised: {exc.cause!r}\n{traceback.format_exc()}")
        except RayError as exc:  # lost objects, out-of-memory kills, dead nodes: one failed trial
            result = failed_result(job, f"worker died: {type(exc).__name__}: {exc}")
            ray.kill(actor, no_restart=True)
            actor = new_worker(self._job_runner)
        self._idle.append(actor)
        return job, result

    def _expire_overdue(self) -> list[tuple[Job, EvalResult]]:
        if self._trial_timeout is None:
            return []
        now, expired = time.monotonic(), []
        for ref, (job, actor) in list(self._running.items()):
            if now - self._started_at.get(job.id, now) > self._trial_timeout:
                del self._running[ref]
                del self._started_at[job.id]
                ray.kill(actor, no_restart=True)
                self._idle.append(new_worker(self._job_runner))
                expired.append((job, failed_result(job, f"timed out after {self._trial_timeout:g} s")))
        return expired

    def _relay_mail(self) -> None:
        """Start the timeout clocks of jobs that began, and pass intermediate values to the pruner."""
        if self._mailbox is None:
            return
        try:
            started, reports = ray.get(self._mailbox.drain.remote(), timeout=10)
        except GetTimeoutError:
            return
        now = time.monotonic()
        for job_id in started:
            self._started_at[job_id] = now
        for job_id, step, value in reports:
            if self.on_report is not None and self.on_report(job_id, step, value):
                self._mailbox.stop.remote(job_id)

    def shutdown(self) -> None:
        for actor in self._idle + [actor for _, actor in self._running.values()]:
            ray.kill(actor)
        if self._mailbox is not None:
            ray.kill(self._mailbox)
        if self._started_ray:
            ray.shutdown()
