"""Scheduling overhead per trial and parallel efficiency of 2 Ray workers against 1 (issue 3).

The same N trials of a fast task run twice on one local Ray: with 1 worker, then with 2, with
the same sampler, seed and space (pruning off, so both runs do the same work). Printed per run:

- wall time, and the driver's scheduling overhead per trial, measured two ways:
  (wall - time waiting on the executor) / N, and the driver process's CPU time / N (asks,
  tells, storage writes, Ray client threads);
- parallel efficiency = T(1 worker) / (2 x T(2 workers)).

    OMP_NUM_THREADS=1 RAY_AUTH_MODE=disabled .venv/bin/python benchmarks/search_load.py --trials 200 2>/dev/null

(The per-trial progress lines go to stderr, and are printed in both runs as in a real search.)
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

import ray

from qnas.ray_executor import WORKER_ENV
from qnas.search import SearchConfig, run_search

FAST_SPACE = """
name: fast
task_kinds: [classification]
fixed: {split: quantum_head, n_qubits: 2, encoding: angle_y, measurement: expval, optimizer: adam,
        epochs: 8, batch_size: 32}
params:
  learning_rate: {float: [0.001, 0.1], log: true}
layer: {rotations: {choices: [RY]}, entangler: {choices: [linear]}, entangling_gate: {choices: [CNOT]}}
"""


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run(workers: int, trials: int, sampler: str, folder: Path) -> dict[str, float]:
    space = folder / "fast.yaml"
    space.write_text(FAST_SPACE)
    config = SearchConfig(
        space=str(space), task={"name": "moons", "n_samples": 120}, trials=trials, workers=workers,
        storage=f"sqlite:///{folder / f'load-{workers}.db'}", study="load", sampler=sampler, pruner="none", seed=0,
    )
    cpu = _cpu_seconds()
    outcome = run_search(config)
    cpu = _cpu_seconds() - cpu
    return {
        "wall_s": outcome.wall_time_s,
        "overhead_ms": 1000 * (outcome.wall_time_s - outcome.executor_wait_s) / trials,
        "driver_cpu_ms": 1000 * cpu / trials,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--sampler", default="tpe")
    args = parser.parse_args()
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", runtime_env={"env_vars": WORKER_ENV})
    with tempfile.TemporaryDirectory() as tmp:
        one = run(1, args.trials, args.sampler, Path(tmp))
        two = run(2, args.trials, args.sampler, Path(tmp))
    ray.shutdown()
    print(f"{args.trials} trials, sampler {args.sampler}, SQLite storage, 2 qubits x 8 epochs on moons (120 samples)\n")
    print("| workers | wall (s) | overhead per trial (ms) | driver CPU per trial (ms) |")
    print("|---|---|---|---|")
    for workers, row in ((1, one), (2, two)):
        print(f"| {workers} | {row['wall_s']:.1f} | {row['overhead_ms']:.1f} | {row['driver_cpu_ms']:.1f} |")
    print(f"\nparallel efficiency, 2 workers against 1: {one['wall_s'] / (2 * two['wall_s']):.2f}")


if __name__ == "__main__":
    main()
