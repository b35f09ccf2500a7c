"""`qnas search` with controlled jobs, for tests that kill or disturb a driver while a trial runs.

    python -m tests.controlled_search FOLDER HOLD SEARCH_ARGS...

FOLDER is where the jobs announce themselves (`tests.controlled_jobs.ControlledJobs`); HOLD is a
comma-separated list of job ids that wait, once started, until the test releases them. The
search arguments are `qnas search`'s own, read by its parser, so a study started here can be
resumed with the real `qnas search --resume`.
"""

from __future__ import annotations

import sys

from qnas.cli import build_parser, search_config
from qnas.search import run_search
from tests.controlled_jobs import ControlledJobs


def main(argv: list[str]) -> None:
    folder, hold, *search_args = argv
    jobs = ControlledJobs(folder, hold=tuple(int(job_id) for job_id in hold.split(",") if job_id))
    run_search(search_config(build_parser().parse_args(["search", *search_args])), job_runner=jobs)


if __name__ == "__main__":
    main(sys.argv[1:])
