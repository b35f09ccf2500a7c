"""`qnas search` with controlled jobs, for tests that kill or disturb a driver while a trial runs.

    python -m tests.controlled_search FOLDER HOLD SEARCH_ARGS...

FOLDER is where the jobs announce themselves (`tests.controlled_jobs.ControlledJobs`); HOLD is a
comma-separated list of job ids that wait, once started, until the test releases them. The
search arguments are `qnas search`'s own, and the search runs through `qnas.cli.main` (its
summary, its errors, its exit code), so a study started here can be resumed with the real
`qnas search --resume`. QNAS_TEST_RECONNECT_SECONDS, when set, replaces how long a lost database
connection is retried.
"""

from __future__ import annotations

import functools
import os
import sys

import qnas.search
import qnas.storage
from qnas.cli import main as qnas_main
from tests.controlled_jobs import ControlledJobs


def main(argv: list[str]) -> int:
    folder, hold, *search_args = argv
    jobs = ControlledJobs(folder, hold=tuple(int(job_id) for job_id in hold.split(",") if job_id))
    if "QNAS_TEST_RECONNECT_SECONDS" in os.environ:
        qnas.storage.RECONNECT_SECONDS = float(os.environ["QNAS_TEST_RECONNECT_SECONDS"])
    qnas.search.run_search = functools.partial(qnas.search.run_search, job_runner=jobs)
    return qnas_main(["search", *search_args])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
