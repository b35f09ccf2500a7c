"""The mailbox actor between evaluation workers and the search driver.

Its own module, importing Ray alone: an actor's process imports the module that defines its
class, and importing the evaluation modules (torch, PennyLane) would make this small actor's
start-up heavy, with CPU taken from the workers beside it.
"""

from __future__ import annotations

import ray


@ray.remote(num_cpus=0)
class JobMailbox:
    """Between workers (job started, intermediate values) and the driver (stop requests)."""

    def __init__(self) -> None:
        self._started: list[int] = []
        self._reports: list[tuple[int, int, float]] = []
        self._stopped: set[int] = set()

    def started(self, job_id: int) -> None:
        self._started.append(job_id)

    def report(self, job_id: int, step: int, value: float) -> bool:
        self._reports.append((job_id, step, value))
        return job_id in self._stopped

    def drain(self) -> tuple[list[int], list[tuple[int, int, float]]]:
        started, reports = self._started, self._reports
        self._started, self._reports = [], []
        return started, reports

    def stop(self, job_id: int) -> None:
        self._stopped.add(job_id)
