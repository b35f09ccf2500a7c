"""Pruned against unpruned VQE searches at equal trial counts (issue 19, point 6).

For each task and seed, three `qnas search` runs that differ only in the pruner: `percentile`
(qnas's pruner for classification, and the default before issue 19), `median`, and `none`.
Since issue 19 a pruner asked for on a VQE task is rank-checked (`qnas.agents.rank_checked_pruner`):
run at a commit before it (see below) to measure the plain rules.
Everything else is the same and given explicitly: the task, the `vqe_gates` space, the `tpe`
sampler, the seed (sampler and every evaluation), the trial count (finished trials: complete,
pruned or failed, as `qnas search --trials` counts them), in-process evaluation (`workers=0`),
the ideal `default.qubit` device on the fast path, and a fresh SQLite study in its own temporary
folder per run. The three arms run one after another in the same process, their order rotated
per seed, so that their wall times are measured side by side.

Fixed before the runs (the defaults below): tasks `lih` (LiH, 4 qubits, the task's default
bond length 1.5949 A; chemical accuracy 1.6e-3 Ha), and two 6-qubit spin chains: `heisenberg6`
(isotropic Heisenberg chain, `--task heisenberg --task-arg n=6`, J = 1, open ends: the nearest
shipped task to the XXZ chain of the report) and `tfim6` (transverse-field Ising chain, `--task
tfim --task-arg n=6`, J = h = 1, open ends); seeds 0-4; 30 trials per run.

What is read from each study afterwards (`optuna.load_study`):

- best: the lowest objective value (energy error E - E_exact, Ha) over COMPLETE trials, i.e.
  what the search reports as its best trial;
- every PRUNED trial's last intermediate value (the energy error at the epoch it was stopped)
  and its lowest one (what Optuna's percentile and median pruners compare);
- would-be winners, two counts. (a) Pruned trials whose last intermediate value is already below
  the run's best: a VQE evaluation keeps the weights with the lowest energy seen and is seeded,
  so had such a trial been let finish, its final error would have been at most that value.
  (b) Pruned trials that, trained to the end, beat the run's best: after each run (outside its
  timed wall time) each pruned trial's spec is evaluated again, with the run's seed and no
  pruner, which is what the trial would have returned had it not been stopped. A check
  re-evaluates each run's best trial the same way and must reproduce its value.
- for the `none` arm: would the other arms' pruners have stopped the trial that turned out
  best? The pruner's rule (qnas's `make_pruner` settings, Optuna's percentile rule) is replayed
  on the study's recorded intermediate values, against the trials complete before it finished.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vqe_pruning.py --out /tmp/vqe_pruning.json

To measure one commit while the tree is being edited, export it and put it first on the path:
`git archive COMMIT | tar -x -C /tmp/qnas-at-commit`, then `PYTHONPATH=/tmp/qnas-at-commit` before
the command above (the script prints where `qnas` was imported from).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

TASKS: dict[str, dict[str, Any]] = {
    "lih": {"name": "lih"},
    "heisenberg6": {"name": "heisenberg", "n": 6},
    "tfim6": {"name": "tfim", "n": 6},
}
PRUNERS = ("percentile", "median", "none")
CHEMICAL_ACCURACY = 1.6e-3  # Ha
SPACE = "vqe_gates"
SAMPLER = "tpe"


def _git_state() -> str:
    """The commit, and whether the working tree had uncommitted changes (read-only git calls)."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{commit}{' (uncommitted changes in the tree)' if dirty else ''}"


def _task(task_key: str) -> Any:
    from qnas.tasks import make_task

    if task_key not in _TASK_CACHE:
        _TASK_CACHE[task_key] = make_task(dict(TASKS[task_key]))
    return _TASK_CACHE[task_key]


_TASK_CACHE: dict[str, Any] = {}


def finished_value(task_key: str, spec: dict[str, Any], seed: int) -> float:
    """What a trial with this spec returns when no pruner stops it (the search's own evaluation)."""
    from qnas.evaluation import Budget, evaluate

    result = evaluate(
        spec, _task(task_key), {"name": "default.qubit", "options": {}}, Budget(seed=seed, fast_path=True)
    )
    return float(result.value) if result.status == "ok" else float("nan")


def replay_pruner(pruner_name: str, trials: list[Any], target: Any) -> int | None:
    """The epoch at which `pruner_name`'s rule would have stopped `target`, judged against the
    trials complete before it finished; None when it would have let it finish."""
    import numpy as np
    from optuna.trial import TrialState

    from qnas.agents.optuna_proposer import make_pruner

    pruner = make_pruner(pruner_name)
    before = [
        t
        for t in trials
        if t.state == TrialState.COMPLETE
        and t.number != target.number
        and t.datetime_complete < target.datetime_complete
    ]
    if len(before) < pruner._n_startup_trials:
        return None
    best_so_far = float("inf")
    for step in sorted(target.intermediate_values):
        best_so_far = min(best_so_far, target.intermediate_values[step])
        if step < pruner._n_warmup_steps:
            continue
        others = [t.intermediate_values[step] for t in before if step in t.intermediate_values]
        if len(others) < pruner._n_min_trials:
            continue
        if best_so_far > float(np.nanpercentile(np.array(others, dtype=float), pruner._percentile)):
            return step
    return None


def run_one(task_key: str, pruner: str, seed: int, trials: int, keep: Path | None, replay: list[str]) -> dict[str, Any]:
    """One search into a fresh SQLite study; returns what its study holds."""
    import optuna
    from optuna.trial import TrialState
    from rich.console import Console

    from qnas.progress import SearchProgress
    from qnas.search import SearchConfig, run_search

    folder = Path(tempfile.mkdtemp(prefix=f"vqe-pruning-{task_key}-{pruner}-s{seed}-"))
    storage = f"sqlite:///{folder / 'study.db'}"
    study_name = f"{task_key}-{pruner}-s{seed}"
    config = SearchConfig(
        space=SPACE,
        task=dict(TASKS[task_key]),
        trials=trials,
        workers=0,
        storage=storage,
        study=study_name,
        sampler=SAMPLER,
        pruner=pruner,
        seed=seed,
        device={"name": "default.qubit", "options": {}},
        artifact_dir=str(folder / "artifacts"),
        address=None,
        trial_timeout=None,
        max_retries=2,
        resume=False,
        agent="optuna",
        policy=None,
        agent_timesteps=4096,
        objectives=(),
        fast_path=True,
    )
    quiet = SearchProgress(trials, "energy_error", "minimize", console=Console(file=io.StringIO()))
    started = time.perf_counter()
    try:
        run_search(config, progress=quiet)
        wall = time.perf_counter() - started

        study = optuna.load_study(study_name=study_name, storage=storage)
        trials_ = study.get_trials(deepcopy=False)
        complete = [t for t in trials_ if t.state == TrialState.COMPLETE]
        pruned = [t for t in trials_ if t.state == TrialState.PRUNED]
        failed = [t for t in trials_ if t.state == TrialState.FAIL]
        best = min((t.value for t in complete), default=float("nan"))
        pruned_records = []
        for t in pruned:
            steps = sorted(t.intermediate_values)
            last_step = steps[-1] if steps else None
            pruned_records.append(
                {
                    "trial": t.number,
                    "epoch": last_step,
                    "epochs_planned": t.params.get("epochs"),
                    "last": t.intermediate_values[last_step] if steps else None,
                    "lowest": min(t.intermediate_values.values()) if steps else None,
                }
            )
        by_number = {t.number: t for t in pruned}
        for p in pruned_records:
            p["if_finished"] = finished_value(task_key, by_number[p["trial"]].user_attrs["spec"], seed)
        would_be = [p for p in pruned_records if p["last"] is not None and p["last"] < best]
        would_be_finished = [p for p in pruned_records if p["if_finished"] < best]
        best_t = min(complete, key=lambda t: t.value) if complete else None
        check = finished_value(task_key, best_t.user_attrs["spec"], seed) if best_t else float("nan")
        replayed = (
            {name: replay_pruner(name, trials_, best_t) for name in replay} if best_t and pruner == "none" else {}
        )
        seen = [best] + [p["lowest"] for p in pruned_records if p["lowest"] is not None]
        return {
            "task": task_key,
            "pruner": pruner,
            "seed": seed,
            "trials": len(trials_),
            "complete": len(complete),
            "pruned": len(pruned),
            "failed": len(failed),
            "duplicates": sum("duplicate_of" in t.user_attrs for t in trials_),
            "best": best,
            "best_trial": best_t.number if best_t else None,
            "best_seen_incl_pruned": min(seen),
            "chemical_accuracy": bool(best <= CHEMICAL_ACCURACY),
            "pruned_trials": pruned_records,
            "would_be_winners": len(would_be),
            "would_be_winner_trials": [p["trial"] for p in would_be],
            "would_be_winners_finished": len(would_be_finished),
            "best_if_pruned_finished": min([best] + [p["if_finished"] for p in pruned_records]),
            "best_reevaluated": check,
            "best_trial_epochs": best_t.params.get("epochs") if best_t else None,
            "best_trial_pruned_at_by": replayed,
            "epochs_run": sum(t.user_attrs.get("metrics", {}).get("epochs_run", 0) for t in trials_),
            "wall_s": wall,
        }
    finally:
        if keep is not None:
            shutil.copytree(folder, keep / folder.name)
        shutil.rmtree(folder, ignore_errors=True)


def _fmt(x: float) -> str:
    return f"{x:.2e}"


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def report(runs: list[dict[str, Any]], tasks: list[str], pruners: list[str], seeds: list[int]) -> None:
    by = {(r["task"], r["pruner"], r["seed"]): r for r in runs}
    for task in tasks:
        lih = task == "lih"
        print(f"\n=== {task} ({TASKS[task]}), {runs[0]['trials']} trials per run, seeds {seeds[0]}-{seeds[-1]} ===")
        print(
            "| pruner | median best error (Ha) | best error per seed | pruned - none, per seed | seeds worse than none | "
            + ("chem. acc. | " if lih else "")
            + "epochs trained / none's | wall time / none's (median of seeds; total) |"
        )
        print("|---" * (8 if lih else 7) + "|")
        for pruner in pruners:
            rs = [by[(task, pruner, s)] for s in seeds]
            nones = [by.get((task, "none", s)) for s in seeds]
            bests = [r["best"] for r in rs]
            cells = [pruner, _fmt(_median(bests)), ", ".join(_fmt(b) for b in bests)]
            compared = pruner != "none" and all(nones)
            if compared:
                diffs = [r["best"] - n["best"] for r, n in zip(rs, nones, strict=True)]
                cells += [
                    ", ".join(f"{d:+.1e}" if d else "0" for d in diffs),
                    f"{sum(d > 0 for d in diffs)}/{len(seeds)}",
                ]
            else:
                cells += ["–", "–"]
            if lih:
                cells.append(f"{sum(r['chemical_accuracy'] for r in rs)}/{len(seeds)}")
            if compared:
                ratios = [r["wall_s"] / n["wall_s"] for r, n in zip(rs, nones, strict=True)]
                total = sum(r["wall_s"] for r in rs) / sum(n["wall_s"] for n in nones)
                epochs = sum(r["epochs_run"] for r in rs) / sum(n["epochs_run"] for n in nones)
                cells += [f"{epochs:.2f}", f"{_median(ratios):.2f}; {total:.2f}"]
            else:
                cells += ["1", "1"]
            print("| " + " | ".join(cells) + " |")

        print(
            "\n| pruner | pruned trials per seed | (a) pruned below the run's best when stopped | "
            "(b) pruned that would have beaten the run's best, finished | best had the pruned trials finished, per seed |"
        )
        print("|---" * 5 + "|")
        for pruner in pruners:
            if pruner == "none":
                continue
            rs = [by[(task, pruner, s)] for s in seeds]
            print(
                f"| {pruner} | {', '.join(str(r['pruned']) for r in rs)} | {', '.join(str(r['would_be_winners']) for r in rs)} | "
                f"{', '.join(str(r['would_be_winners_finished']) for r in rs)} | "
                f"{', '.join(_fmt(r['best_if_pruned_finished']) for r in rs)} |"
            )
        if "none" in pruners:
            print("\nunpruned runs: would the pruners have stopped the trial that turned out best? (epoch, or kept)")
            for s in seeds:
                r = by[(task, "none", s)]
                verdicts = ", ".join(
                    f"{name}: {'kept' if at is None else f'stopped at epoch {at}'}"
                    for name, at in r["best_trial_pruned_at_by"].items()
                )
                print(
                    f"  seed {s}: best trial {r['best_trial']} ({r['best_trial_epochs']} epochs, {_fmt(r['best'])}): {verdicts}"
                )
        mismatch = [
            r
            for r in runs
            if r["task"] == task and not abs(r["best_reevaluated"] - r["best"]) <= 1e-9 * max(1.0, abs(r["best"]))
        ]
        print(
            f"\nre-evaluating each run's best trial reproduced its value in {sum(r['task'] == task for r in runs) - len(mismatch)} of "
            f"{sum(r['task'] == task for r in runs)} runs"
            + (
                f"; mismatches: {[(r['pruner'], r['seed'], r['best'], r['best_reevaluated']) for r in mismatch]}"
                if mismatch
                else ""
            )
        )
        for pruner in pruners:
            for s in seeds:
                r = by[(task, pruner, s)]
                if r["pruned_trials"]:
                    values = ", ".join(
                        f"#{p['trial']}@{p['epoch']}/{p['epochs_planned']}: {_fmt(p['last'])} -> {_fmt(p['if_finished'])}"
                        for p in r["pruned_trials"]
                    )
                    print(
                        f"  {pruner} seed {s}: best {_fmt(r['best'])} (trial {r['best_trial']}); pruned "
                        f"(trial@epoch/epochs: error when stopped -> error had it finished): {values}"
                    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--trials", type=int, default=30, help="finished trials per run (default 30)")
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS), default=["lih", "heisenberg6", "tfim6"])
    parser.add_argument("--pruners", nargs="+", choices=PRUNERS, default=list(PRUNERS))
    parser.add_argument("--out", type=Path, help="write every run's record here (JSON)")
    parser.add_argument("--keep", type=Path, help="copy each run's study folder here")
    args = parser.parse_args()
    if args.seeds < 1 or args.trials < 1:
        parser.error("--seeds and --trials must be at least 1")

    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    seeds = list(range(args.seeds))
    import qnas

    print(
        f"this checkout: commit {_git_state()}; qnas imported from {Path(qnas.__file__).parent}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; {os.cpu_count()} CPUs"
    )
    print(
        f"tasks {args.tasks}, pruners {args.pruners}, seeds {seeds}, {args.trials} trials, space {SPACE}, sampler {SAMPLER}"
    )
    # Warm-up, not recorded: imports, compilation and the tasks' Hamiltonians, so that the first
    # recorded run's wall time pays none of them.
    for task in args.tasks:
        run_one(task, "none", 0, 2, None, [])
    runs: list[dict[str, Any]] = []
    started = time.perf_counter()
    for task in args.tasks:
        for seed in seeds:
            k = seed % len(args.pruners)
            for pruner in args.pruners[k:] + args.pruners[:k]:
                replay = [p for p in args.pruners if p != "none"]
                record = run_one(task, pruner, seed, args.trials, args.keep, replay)
                runs.append(record)
                print(
                    f"{task:12s} seed {seed} {pruner:10s} best {_fmt(record['best'])}  complete {record['complete']:3d} "
                    f"pruned {record['pruned']:3d} failed {record['failed']} would-be winners {record['would_be_winners']}/{record['would_be_winners_finished']}  "
                    f"{record['wall_s']:6.1f} s  (elapsed {time.perf_counter() - started:6.0f} s)",
                    flush=True,
                )
                if args.out:
                    args.out.write_text(
                        json.dumps(
                            {"args": vars(args) | {"out": str(args.out), "keep": str(args.keep)}, "runs": runs},
                            indent=1,
                        )
                    )
    report(runs, args.tasks, args.pruners, seeds)
    import sys

    roots = sorted(
        {
            str(
                Path(m.__file__)
                .resolve()
                .parents[m.__name__.count(".") + (1 if m.__file__.endswith("__init__.py") else 0)]
            )
            for name, m in list(sys.modules.items())
            if (name == "qnas" or name.startswith("qnas.")) and getattr(m, "__file__", None)
        }
    )
    print(f"qnas modules were loaded from: {roots} (one folder: no mix of two checkouts)")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
