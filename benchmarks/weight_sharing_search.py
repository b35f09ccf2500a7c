"""Does a search with shared weights reach a 200-trial TPE search's best validation accuracy in a
fifth of its wall time? (issue 21, point 5, the classification target).

Per dataset and seed, fixed before the runs:
- **TPE:** `qnas search --agent optuna` (TPE, the percentile pruner) over the whole
  `classification` space, 200 trials on `--workers` Ray workers. Its wall time is the whole
  search's, Ray's start included; its best validation accuracy is the target.
- **shared:** `qnas search --agent shared` on the same task and space, up to `--shared-trials`
  trials on the same workers: the SuperCircuit trained in the driver, the check's 50 members
  trained from scratch, then the family best inherited score first (or TPE, where the check fails).
  Its time to the target is from the search's start to the end of its first trial at or above
  TPE's best (SuperCircuit, check and Ray's start included). A run that never gets there counts
  its whole wall time and is marked.

Both run one after the other on the same machine; the ratio is shared's time to the target over
TPE's wall time. Where a check trial (a random member) is the first to reach the target, the
table says so: that is the check's luck, not the ranking's.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/weight_sharing_search.py --datasets iris digits --seeds 2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import optuna

from qnas.search import SearchConfig, run_search

TPE_TRIALS = 200


def search(task: str, agent: str, trials: int, seed: int, workers: int, folder: Path) -> tuple[optuna.Study, float, float]:
    """(study, the search's start as a timestamp, its wall seconds)."""
    storage = f"sqlite:///{folder / f'{task}-{agent}-{seed}.db'}"
    started, clock = time.time(), time.perf_counter()
    outcome = run_search(SearchConfig(task={"name": task}, trials=trials, workers=workers, storage=storage,
                                      study=f"{task}-{agent}", agent=agent, seed=seed, artifact_dir=str(folder / "weights")))
    wall = time.perf_counter() - clock
    return optuna.load_study(study_name=outcome.study_name, storage=storage), started, wall


def first_reaching(study: optuna.Study, target: float, started: float) -> tuple[float | None, optuna.trial.FrozenTrial | None]:
    """Seconds from `started` to the end of the first finished trial at or above `target`."""
    reached = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE and t.value >= target]
    if not reached:
        return None, None
    first = min(reached, key=lambda t: t.datetime_complete)
    return first.datetime_complete.timestamp() - started, first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["iris", "digits"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--shared-trials", type=int, default=80)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print("| dataset | seed | TPE-200 best val acc | TPE wall s | shared: time to it s | ratio | reached by | "
          "Spearman (sharing) | shared trials | shared wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for dataset in args.datasets:
            for seed in range(args.seeds):
                tpe, _, tpe_wall = search(dataset, "optuna", TPE_TRIALS, seed, args.workers, Path(folder))
                target = tpe.best_value
                shared, started, shared_wall = search(dataset, "shared", args.shared_trials, seed, args.workers, Path(folder))
                seconds, trial = first_reaching(shared, target, started)
                ratio = (seconds if seconds is not None else shared_wall) / tpe_wall
                ratios.setdefault(dataset, []).append(ratio)
                attrs = shared.user_attrs
                by = "not reached" if trial is None else f"trial {trial.number} ({trial.user_attrs.get('weight_sharing', 'sampler')})"
                print(f"| {dataset} | {seed} | {target:.4f} | {tpe_wall:.0f} | "
                      f"{'>' if seconds is None else ''}{seconds if seconds is not None else shared_wall:.0f} | {ratio:.3f} | {by} | "
                      f"{attrs.get('weight_sharing_spearman', float('nan')):.3f} ({attrs.get('weight_sharing', '?')}) | "
                      f"{len(shared.trials)} | {shared_wall:.0f} |", flush=True)
    print("\n| dataset | median ratio | max ratio |\n|---|---|---|")
    for dataset, values in ratios.items():
        print(f"| {dataset} | {statistics.median(values):.3f} | {max(values):.3f} |")


if __name__ == "__main__":
    main()
