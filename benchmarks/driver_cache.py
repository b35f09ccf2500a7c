"""The driver's Optuna work per trial on SQLite: Optuna's own cache against `DriverCachedStorage`.

A search driver's storage pattern without any training: three trials open at a time (two
running, one spare), each asked with TPE (constant liar, two parameters), given two user
attributes and told. Printed: driver CPU ms per trial for

- `optuna cache`: RDBStorage, which Optuna wraps in its `_CachedStorage` (the baseline);
- `driver cache`: `qnas.storage.open_storage`, i.e. `DriverCachedStorage`;
- `journal`: an Optuna journal file, for scale.

The kinds alternate for --repeats rounds, and the medians are printed.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/driver_cache.py --trials 200 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import deque
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, RDBStorage

from qnas.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)
KINDS = ("optuna cache", "driver cache", "journal")


def driver_cpu_ms(storage: BaseStorage | str, trials: int) -> float:
    study = optuna.create_study(
        storage=storage, direction="maximize", sampler=optuna.samplers.TPESampler(seed=0, constant_liar=True)
    )
    open_trials: deque[optuna.Trial] = deque()
    started = time.process_time()
    for number in range(trials):
        trial = study.ask()
        trial.suggest_float("learning_rate", 1e-3, 0.1, log=True)
        trial.suggest_categorical("entangler", ["linear", "ring", "full"])
        open_trials.append(trial)
        if len(open_trials) == 3:
            done = open_trials.popleft()
            done.set_user_attr("metrics", {"val_accuracy": 0.9, "n_params": 12})
            done.set_user_attr("history", [0.5, 0.7, 0.9])
            study.tell(done, (number % 17) / 17)
    return 1000 * (time.process_time() - started) / trials


def storage_for(kind: str, folder: Path, name: str) -> BaseStorage | str:
    if kind == "optuna cache":
        return RDBStorage(f"sqlite:///{folder / name}.db")
    if kind == "driver cache":
        return open_storage(f"sqlite:///{folder / name}.db")
    return open_storage(f"journal:///{folder / name}.log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for kind in KINDS if repeat % 2 == 0 else reversed(KINDS):
                runs[kind].append(driver_cpu_ms(storage_for(kind, Path(tmp), f"{kind[0]}{repeat}"), args.trials))
    baseline = statistics.median(runs["optuna cache"])
    print(f"{args.trials} trials, TPE with constant liar, 3 open at a time; medians of {args.repeats} repeats\n")
    print("| storage | driver CPU per trial (ms) | against Optuna's cache |")
    print("|---|---|---|")
    for kind in KINDS:
        median = statistics.median(runs[kind])
        print(f"| {kind} | {median:.1f} | {baseline / median:.2f}x |")


if __name__ == "__main__":
    main()
