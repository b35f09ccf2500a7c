"""Search quality with 4 parallel workers against sequential, at equal trial counts (issue 3).

TPE proposes while other trials run; its constant liar keeps parallel proposals apart. This runs
the same search (a VQE task, the shipped gate-level vqe_gates space, TPE) with 1 worker and with 4
workers, for several seeds, and prints the best energy error after N trials: median and range
per setting. (GHZ state preparation is no test of this: every setting reaches fidelity 1. H2
saturates too: most runs find the exact energy.) The 4-worker runs oversubscribe 2 cores, which
changes wall time only.

    OMP_NUM_THREADS=1 RAY_AUTH_MODE=disabled .venv/bin/python benchmarks/parallel_sampling.py \\
        --task heisenberg --task-arg n=4 --trials 30 --seeds 5 2>/dev/null
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

import optuna
import ray

from qnas.cli import parse_task_args
from qnas.ray_executor import WORKER_ENV
from qnas.search import SearchConfig, run_search


def best_error(task: dict[str, Any], workers: int, seed: int, trials: int, folder: Path) -> float:
    storage = f"sqlite:///{folder / f'w{workers}-s{seed}.db'}"
    config = SearchConfig(task=task, trials=trials, workers=workers, storage=storage,
                          study="vqe", sampler="tpe", seed=seed)
    run_search(config)
    return optuna.load_study(study_name="vqe", storage=storage).best_value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="h2")
    parser.add_argument("--task-arg", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    task = {"name": args.task, **parse_task_args(args.task_arg)}
    ray.init(num_cpus=4, include_dashboard=False, _node_ip_address="127.0.0.1", runtime_env={"env_vars": WORKER_ENV})
    results: dict[int, list[float]] = {1: [], 4: []}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            for workers in results:
                results[workers].append(best_error(task, workers, seed, args.trials, Path(tmp)))
    ray.shutdown()
    print(f"{task} VQE (vqe_gates), TPE, {args.trials} trials, seeds 0..{args.seeds - 1}: best energy error (Ha)\n")
    print("| workers | median | min | max | per seed |")
    print("|---|---|---|---|---|")
    for workers, values in results.items():
        shown = ", ".join(f"{v:.1e}" for v in values)
        print(f"| {workers} | {statistics.median(values):.1e} | {min(values):.1e} | {max(values):.1e} | {shown} |")


if __name__ == "__main__":
    main()
