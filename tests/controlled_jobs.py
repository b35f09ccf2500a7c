"""Jobs whose course a test controls, run through the executors' public `job_runner` hook.

A fault test must act while a trial is known to be running: kill its worker, restart the
database, let a timeout expire. A real trial's length depends on the machine, so a test that
guesses it breaks on a faster or a slower one. These jobs instead announce that they started (a
file holding their PID), wait for what the test says, and only then, if ever, evaluate for real.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from qnas.evaluation import EvalResult
from qnas.executor import Job, TaskCache, failed_result, run_job
from qnas.spec import CandidateSpec
from qnas.training import Report

WAIT_STEP_S = 0.05
"""How often a waiting job or test looks for the file it waits on."""
TEST_WAIT_S = 300.0
"""How long a test waits for a job to start before it fails: only to end a run where it never will."""


def wait_for(path: Path, within_s: float | None = None, process: subprocess.Popen | None = None) -> bool:
    """Wait until `path` exists (True), or until `within_s` seconds have passed or `process` has
    exited (False)."""
    end = None if within_s is None else time.monotonic() + within_s
    while not path.exists():
        if (end is not None and time.monotonic() > end) or (process is not None and process.poll() is not None):
            return False
        time.sleep(WAIT_STEP_S)
    return True


@dataclass(frozen=True)
class ControlledJobs:
    """A job runner: every job writes `started-ID` (its PID) into `folder`, then behaves as told."""

    folder: str
    hold: tuple[int, ...] = ()
    """Jobs that wait after starting until the test releases them (or kills them)."""
    together: tuple[int, ...] = ()
    """Jobs that each wait until all of them run at once, then record the others' PIDs in `met-ID`."""
    together_within_s: float = TEST_WAIT_S
    """How long a `together` job waits for the others before it fails: only to end a run where they cannot meet."""
    evaluate: bool = True
    """False: a job that is let go returns "ok" at once, for tests of an executor rather than of evaluation."""

    def __call__(self, job: Job, tasks: TaskCache, report: Report | None) -> EvalResult:
        self._write("started", job.id, str(os.getpid()))
        if job.id in self.hold:
            wait_for(self._path("released", job.id))
        if job.id in self.together and not self._meet(job.id):
            others = [other for other in self.together if other != job.id]
            return failed_result(job, f"job {job.id} never ran beside jobs {others} within {self.together_within_s:g} s")
        if not self.evaluate:
            return EvalResult(status="ok", value=0.0, spec_hash=CandidateSpec.from_dict(job.spec).hash)
        return run_job(job, tasks, report)

    def _meet(self, job_id: int) -> bool:
        end = time.monotonic() + self.together_within_s
        for other in self.together:
            if not wait_for(self._path("started", other), max(0.0, end - time.monotonic())):
                return False
        pids = [int(self._path("started", other).read_text()) for other in self.together if other != job_id]
        self._write("met", job_id, " ".join(map(str, pids)))
        return True

    def _path(self, event: str, job_id: int) -> Path:
        return Path(self.folder) / f"{event}-{job_id}"

    def _write(self, event: str, job_id: int, text: str) -> None:
        """Write through a rename, so whoever sees the file sees all of it."""
        partial = self._path(f".{event}", job_id)
        partial.write_text(text)
        partial.rename(self._path(event, job_id))

    # What the test calls.

    def wait_started(self, job_id: int, driver: subprocess.Popen | None = None) -> int:
        """Wait until job `job_id` has started; return the PID of the process that runs it. Fails
        when `driver`, the process that should start it, exits first."""
        if not wait_for(self._path("started", job_id), TEST_WAIT_S, driver):
            detail = f"its driver exited with {driver.poll()}" if driver and driver.poll() is not None else "in time"
            raise AssertionError(f"job {job_id} never started: {detail}")
        return int(self._path("started", job_id).read_text())

    def release(self, job_id: int) -> None:
        self._write("released", job_id, "")

    def met(self, job_id: int) -> list[int] | None:
        """The PIDs that ran the other `together` jobs while this one ran; None if it never met them."""
        path = self._path("met", job_id)
        return [int(pid) for pid in path.read_text().split()] if path.exists() else None


def report_until_stopped(job: Job, tasks: TaskCache, report: Report | None) -> EvalResult:
    """A job with no last step: it reports until the driver asks it to stop, so only a stop ends it."""
    assert report is not None, "report_until_stopped needs an executor with an on_report handler"
    step = 0
    while not report(step, 0.0):
        step += 1
        time.sleep(WAIT_STEP_S)  # paces the reports; nothing depends on how many there are
    return EvalResult(status="pruned", metrics={"epochs_run": step + 1}, spec_hash=CandidateSpec.from_dict(job.spec).hash)
