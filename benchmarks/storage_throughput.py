"""Storage and driver ceilings for scaling (issue 3): trials per second with no evaluation cost.

1. Storage: asks + tells per second of a trivial objective (one float parameter), with 1 and
   with 2 writer processes on one study, for SQLite, an Optuna journal file and PostgreSQL.
2. Driver ceiling: the qnas driver's own per-trial path, without training: OptunaProposer.ask
   (sampling a CandidateSpec from the classification space) and tell (recording spec, metrics,
   baseline and history as user attributes), with TPE and with random sampling.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/storage_throughput.py \\
        --postgres postgresql+psycopg://postgres@127.0.0.1:55432/postgres
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.synchronize
import tempfile
import time
import uuid
from pathlib import Path

import optuna

from qnas.agents import OptunaProposer, make_sampler
from qnas.evaluation import EvalResult
from qnas.search_spaces import load_space
from qnas.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _ask_tell(url: str, study_name: str, n: int, start: multiprocessing.synchronize.Event, times) -> None:
    """One writer: `n` asks + tells with random sampling, so only storage is measured."""
    study = optuna.load_study(study_name=study_name, storage=open_storage(url), sampler=optuna.samplers.RandomSampler())
    start.wait()
    started = time.perf_counter()
    for _ in range(n):
        trial = study.ask()
        study.tell(trial, trial.suggest_float("x", -1.0, 1.0) ** 2)
    times.put((started, time.perf_counter()))


def storage_rate(url: str, writers: int, n: int) -> float:
    """Asks + tells per second, summed over `writers` processes doing `n` each at the same time
    (timed from the first writer's start to the last writer's end; process start-up excluded)."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=open_storage(url))
    context = multiprocessing.get_context("spawn")
    start, times = context.Event(), context.Queue()
    processes = [context.Process(target=_ask_tell, args=(url, name, n, start, times)) for _ in range(writers)]
    for process in processes:
        process.start()
    time.sleep(1.0)  # let every writer load its study before the start signal
    start.set()
    spans = [times.get() for _ in processes]
    for process in processes:
        process.join()
    return writers * n / (max(end for _, end in spans) - min(begin for begin, _ in spans))


def driver_rate(url: str, sampler: str, n: int) -> float:
    """Trials per second through OptunaProposer.ask and tell with a realistic record, no training."""
    study = optuna.create_study(study_name=f"driver-{uuid.uuid4().hex[:8]}", storage=open_storage(url),
                                direction="maximize", sampler=make_sampler(sampler, 0, n))
    proposer = OptunaProposer(study, load_space("classification"), None, sampler)
    metrics = {"val_accuracy": 0.9, "test_accuracy": 0.9, "n_params": 100, "depth": 20, "two_qubit_gates": 8,
               "n_gates": 40, "shots": 0, "wall_time_s": 5.0, "epochs_run": 25}
    started = time.perf_counter()
    for i in range(n):
        proposal = proposer.ask()
        result = EvalResult(status="ok", value=0.5 + (i % 7) / 20, metrics=metrics,
                            baseline={"model": "mlp", "n_params": 99, "hidden": 24, "val_accuracy": 0.9,
                                      "test_accuracy": 0.9}, history=[0.8] * 25, spec_hash=proposal.spec.hash)
        proposer.tell(proposal.id, result)
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="PostgreSQL URL to include (a scratch database)")
    parser.add_argument("--trials", type=int, default=300, help="asks + tells per writer")
    parser.add_argument("--driver-trials", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        storages = {"SQLite": f"sqlite:///{Path(tmp) / 'bench.db'}", "journal file": f"journal:///{Path(tmp) / 'bench.log'}"}
        if args.postgres:
            storages["PostgreSQL"] = args.postgres
        print(f"Storage: asks + tells per second, trivial objective, {args.trials} per writer process\n")
        print("| storage | 1 writer | 2 writers |")
        print("|---|---|---|")
        for label, url in storages.items():
            print(f"| {label} | {storage_rate(url, 1, args.trials):.0f} | {storage_rate(url, 2, args.trials):.0f} |")
        print(f"\nDriver ceiling: qnas ask + tell per second, classification space, no training, {args.driver_trials} trials\n")
        print("| storage | TPE | random |")
        print("|---|---|---|")
        for label, url in storages.items():
            tpe = driver_rate(url, "tpe", args.driver_trials)
            rnd = driver_rate(url, "random", args.driver_trials)
            print(f"| {label} | {tpe:.1f} | {rnd:.1f} |")


if __name__ == "__main__":
    main()
