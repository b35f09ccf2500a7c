"""Does a SuperCircuit's inherited score rank classifiers as training from scratch does? (issue 21,
point 5). Per dataset: train one SuperCircuit (`qnas.weight_sharing`) for `--steps` minibatch
steps, then score `--candidates` distinct members of its family both ways, and print Spearman's
rank correlation and whether sharing would be on (at least 0.7).

The family is what `--agent shared` searches over the `classification` space
(`agents.shared_proposer.family_members`): angle_y encoding and a post layer of 8; up to 4
features, quantum_first with a qubit per feature, else quantum_middle (a pre layer of 8 into 4
qubits); Adam at 0.05 for 15 epochs of 32; 1-3 layers of one of the space's rotation sets, an
entangler (none, linear, ring, full) and a gate (CNOT, CZ, CRZ): 120 members.

With `--scratch-seeds` k >= 2 it also prints the ceiling: the highest Spearman any score could
show against the mean of k trainings, and against one training (what a search's check compares
with), where seed noise reorders the candidates (`RankingCheck.ceiling`).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/weight_sharing.py --datasets moons iris --candidates 50
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from qnas.agents.shared_proposer import family_members
from qnas.search_spaces import load_space
from qnas.tasks import make_task
from qnas.weight_sharing import SHARING_MIN_SPEARMAN, Family, SuperCircuit, ranking_check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["moons", "iris"])
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--steps", type=int, default=2000, help="SuperCircuit training steps (minibatches)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scratch-seeds", type=int, default=1, help="trainings from scratch averaged per candidate")
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = load_space("classification")
    print(f"| dataset | qubits | SuperCircuit training s | candidates | Spearman (inherited vs scratch) "
          f"| sharing (>= {SHARING_MIN_SPEARMAN}) | scratch accuracy range | ceiling, {args.scratch_seeds} seeds "
          f"| ceiling, 1 seed | check s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        task = make_task(name)
        members = Family(tuple(spec for _, spec in family_members(space, int(task.n_features))))
        qubits = members.base.n_qubits
        supercircuit = SuperCircuit(task, members, seed=args.seed)
        started = time.perf_counter()
        supercircuit.train(args.steps, seed=args.seed)
        trained = time.perf_counter() - started
        rng = np.random.default_rng(args.seed + 1)
        candidates = {}
        while len(candidates) < args.candidates:
            spec = members.sample(rng)
            candidates[spec.hash] = spec
        started = time.perf_counter()
        check = ranking_check(supercircuit, list(candidates.values()), seed=args.seed, scratch_seeds=args.scratch_seeds)
        print(f"| {name} | {qubits} | {trained:.0f} | {len(candidates)} | {check.spearman:.3f} "
              f"| {'on' if check.sharing_on else 'off'} | {min(check.scratch):.2f}-{max(check.scratch):.2f} "
              f"| {_number(check.ceiling())} | {_number(check.ceiling(1))} | {time.perf_counter() - started:.0f} |", flush=True)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
