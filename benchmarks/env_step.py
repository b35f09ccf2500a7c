"""Seconds per circuit-design step, this checkout beside the code at a base commit, in one run.

Issue 20, point 2: with `gate_set="blocks"` (each CNOT placed with a trainable RY on both of its
wires) a step on TFIM-8 took seconds. Each case runs one episode of a fixed action sequence on
both sides and times every `env.step` (the block placed and every angle re-optimized):

- tfim8-blocks, tfim12-blocks: TFIM with n qubits (J = h = 1, open chain), the RY + CNOT space
  (`benchmarks/spaces/vqe_ry_cnot.yaml`), `gate_set="blocks"`;
- tfim8-gates: the same with single gates (`gate_set="space"`), for reference.

The actions are drawn from a generator seeded with --seed among the legal actions of the case's
kind (blocks, or single gates); the environment is reset with the same seed, so both sides draw
the same actions and the same new angles, and the driver checks that they did. The env keeps its
defaults (L-BFGS, at most 50 iterations, one random restart), so both sides optimize to the same
tolerance. Spin chains are capped at 10 qubits by the task (`MAX_SPIN_QUBITS`, for its dense
exact diagonalization); each side lifts that cap in its own process for the 12-qubit case.

The sides run in subprocesses, one thread each (OMP_NUM_THREADS=1, torch.set_num_threads(1)):

- old: `git archive BASE` unpacked into a temporary folder and imported from there (with
  `qnas.envs` and the other mapped packages linked where the installed package maps them);
- new: this checkout, as installed (`make .venv/.installed`).

Each side checks that it imported its own files. Printed per case and side: median and max
seconds per step, the optimizer's evaluations, the final energy; then old/new ratios and the
largest energy difference over the steps. `--profile old` (or new) prints cProfile's top
functions for that side's steps.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/env_step.py [--base 5acdec0] [--steps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "benchmarks" / "spaces" / "vqe_ry_cnot.yaml"
CASES: dict[str, tuple[int, str]] = {
    "tfim8-blocks": (8, "blocks"),
    "tfim12-blocks": (12, "blocks"),
    "tfim8-gates": (8, "space"),
}
"""Case -> (qubits, gate_set)."""
MAPPED_PACKAGES = ("envs", "agents", "search_spaces")
"""Folders that pyproject.toml installs as qnas.<name>."""


def run_case(case: str, steps: int, seed: int, root: Path, profile: bool) -> dict[str, Any]:
    """One timed episode in this process (a side's subprocess)."""
    import cProfile
    import pstats
    import time

    import numpy as np
    import torch

    torch.set_num_threads(1)
    import gymnasium as gym

    import qnas.envs
    import qnas.tasks.vqe as vqe

    for module in (qnas.envs, vqe):
        if not Path(module.__file__).resolve().is_relative_to(root):
            raise SystemExit(f"imported {module.__file__}, not the code under {root}")
    n_qubits, gate_set = CASES[case]
    if hasattr(vqe, "MAX_SPIN_QUBITS"):  # commits before issue 20's point 1 capped chains at 10 qubits
        vqe.MAX_SPIN_QUBITS = max(vqe.MAX_SPIN_QUBITS, n_qubits)
    env = gym.make(
        qnas.envs.CIRCUIT_DESIGN_ID, task={"name": "tfim", "n": n_qubits}, space=str(SPACE), gate_set=gate_set
    ).unwrapped
    env.reset(seed=seed)
    circuit_class = type(env._circuit.circuit)
    evaluations = [0]
    original = circuit_class.value_and_grad

    def counted(self: Any, *args: Any) -> Any:
        evaluations[0] += 1
        return original(self, *args)

    circuit_class.value_and_grad = counted
    kind = "block" if gate_set == "blocks" else "gate"
    rng = np.random.default_rng(seed)
    profiler = cProfile.Profile() if profile else None
    labels, seconds, energies, counts = [], [], [], []
    for _ in range(steps):
        legal = [i for i, ok in enumerate(env.action_masks()) if ok and env.actions[i].kind == kind]
        action = int(rng.choice(legal))
        evaluations[0] = 0
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        _, _, terminated, truncated, info = env.step(action)
        if profiler:
            profiler.disable()
        seconds.append(time.perf_counter() - started)
        labels.append(env.actions[action].label)
        energies.append(info["energy"])
        counts.append(evaluations[0])
        if terminated or truncated:
            break
    if profiler:
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(15)
    return {"labels": labels, "seconds": seconds, "energies": energies, "evaluations": counts}


def old_tree(base: str, folder: Path) -> Path:
    """The code at commit `base`, unpacked into `folder`, importable as the installed package is."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", base], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    for name in MAPPED_PACKAGES:
        (folder / "qnas" / name).symlink_to(folder / name, target_is_directory=True)
    return folder


def describe_checkout() -> str:
    """This checkout's commit, and whether files differ from it."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    changed = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True)
    return f"{head.stdout.strip()}{' with uncommitted changes' if changed.stdout.strip() else ''} at {ROOT}"


def run_side(root: Path, case: str, args: argparse.Namespace, profile: bool) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    if root != ROOT:
        env["PYTHONPATH"] = str(root)
    command = [sys.executable, __file__, "--worker", case, "--root", str(root), "--steps", str(args.steps)]
    command += ["--seed", str(args.seed)] + (["--profile", "worker"] if profile else [])
    done = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="5acdec0", help="the commit to compare with (default: 5acdec0)")
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", choices=("old", "new", "worker"))
    parser.add_argument("--worker", choices=list(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = run_case(args.worker, args.steps, args.seed, args.root.resolve(), args.profile == "worker")
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="env_step_old_") as folder:
        sides = {"old": old_tree(args.base, Path(folder)), "new": ROOT}
        print(f"old: {args.base}; new: {describe_checkout()}; {args.steps} steps, seed {args.seed}, one thread")
        print("| case | side | median s/step | max s/step | evaluations | final energy |")
        print("|---|---|---|---|---|---|")
        summary = []
        for case in args.cases:
            results = {side: run_side(root, case, args, args.profile == side) for side, root in sides.items()}
            if results["old"]["labels"] != results["new"]["labels"]:
                raise SystemExit(f"{case}: the sides took different actions: {results}")
            for side, result in results.items():
                print(
                    f"| {case} | {side} | {statistics.median(result['seconds']):.4f} | {max(result['seconds']):.4f} "
                    f"| {sum(result['evaluations'])} | {result['energies'][-1]:.10f} |"
                )
            old, new = results["old"], results["new"]
            difference = max(abs(a - b) for a, b in zip(old["energies"], new["energies"], strict=True))
            summary.append(
                f"| {case} | {statistics.median(old['seconds']) / statistics.median(new['seconds']):.1f} "
                f"| {max(old['seconds']) / max(new['seconds']):.1f} | {difference:.1e} |"
            )
            print(f"  {case} actions: {' '.join(old['labels'])}", file=sys.stderr)
        print("\n| case | old/new median | old/new max | largest energy difference over the steps (Ha) |")
        print("|---|---|---|---|")
        print("\n".join(summary))


if __name__ == "__main__":
    main()
