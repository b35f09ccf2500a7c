"""Where a fresh evaluation worker's start-up goes: imports, the first job, the next (issue 3).

Every search starts its workers, and no number of workers shortens that start-up, so over a short
search it bounds the whole-wall parallel efficiency (`search_load.py`). This prints, each from a
fresh Python process (as a Ray worker starts):

- the import time of what a worker imports (`qnas.ray_executor`), with torch, PennyLane and Ray
  apart, from `python -X importtime`;
- the first job of the `search_load.py` fast task against the second, in one process after
  those imports;
- the import of `torch._dynamo` on its own, after torch: `torch.optim`'s first optimizer pays it
  (torch/_compile.py imports it lazily on the first call of a `_disable_dynamo` function).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/worker_startup.py --repeats 3
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys

PACKAGES = ("torch", "pennylane", "ray", "qnas.ray_executor")

FIRST_JOBS = """
import sys, tempfile, time
from pathlib import Path
started = time.perf_counter()
import torch
from qnas.executor import TaskCache, run_job
sys.path.insert(0, "benchmarks")
import search_load
imported = time.perf_counter()
torch.set_num_threads(1)
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "fast.yaml"
    path.write_text(search_load.FAST_SPACE.replace("EPOCHS", "30"))
    [job] = search_load.fast_jobs(path, [0.01])
cache, times = TaskCache(), []
for _ in range(2):
    begun = time.perf_counter()
    assert run_job(job, cache, None).status == "ok"
    times.append(time.perf_counter() - begun)
print(imported - started, *times)
"""

DYNAMO = "import torch, time; t = time.perf_counter(); import torch._dynamo; print(time.perf_counter() - t)"


def _python(code: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True)


def import_seconds() -> dict[str, float]:
    """Cumulative import seconds of each of PACKAGES where it is first imported (a package
    another one imported earlier is not counted again); qnas.ray_executor is all of it."""
    log = _python("import qnas.ray_executor", "-X", "importtime").stderr
    found = dict(
        (module, int(microseconds) / 1e6)
        for microseconds, module in re.findall(r"import time:\s+\d+ \|\s+(\d+) \| *(\S+)", log)
    )
    return {name: found[name] for name in PACKAGES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for name, seconds in import_seconds().items():
            rows.setdefault(f"import {name}", []).append(seconds)
        imports, first, second = map(float, _python(FIRST_JOBS).stdout.split())
        rows.setdefault("all imports of the job runner", []).append(imports)
        rows.setdefault("first job", []).append(first)
        rows.setdefault("second job", []).append(second)
        rows.setdefault("import torch._dynamo (after torch)", []).append(float(_python(DYNAMO).stdout))
    print(f"fresh-process start-up of an evaluation worker, {args.repeats} repeats (median, range), seconds\n")
    print("| part | median | range |")
    print("|---|---|---|")
    for name, values in rows.items():
        print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f}-{max(values):.2f} |")


if __name__ == "__main__":
    main()
