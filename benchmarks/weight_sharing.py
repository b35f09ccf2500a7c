"""Does a SuperCircuit's inherited score rank classifiers as training from scratch does? (issue 21,
point 5). Per dataset: train one SuperCircuit (`qnas.weight_sharing`) for `--steps` minibatch
steps, then score `--candidates` distinct members of its family both ways, and print Spearman's
rank correlation and whether sharing would be on (at least 0.7).

The family: angle_y encoding and a post layer of 8; up to 4 features, quantum_first with a qubit
per feature, else quantum_middle (a pre layer of 8 into 4 qubits); Adam at 0.05 for 15 epochs of
32; 1-3 layers of one of the classification space's rotation sets, an entangler (none, linear,
ring, full) and a gate (CNOT, CZ, CRZ).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/weight_sharing.py --datasets moons iris --candidates 50
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from qnas.spec import CandidateSpec, EncodingSpec, TrainingSpec
from qnas.tasks import make_task
from qnas.weight_sharing import SHARING_MIN_SPEARMAN, Family, SuperCircuit, ranking_check

ROTATIONS = (("RY",), ("RX", "RZ"), ("RY", "RZ"), ("RX", "RY", "RZ"))
ENTANGLERS = ("none", "linear", "ring", "full")
GATES = ("CNOT", "CZ", "CRZ")
MAX_DIRECT_FEATURES = 4
"""Up to this many features each gets a qubit; more go through a classical pre layer into 4 qubits."""


def family(n_features: int) -> Family:
    training = TrainingSpec(optimizer="adam", learning_rate=0.05, epochs=15, batch_size=32)
    if n_features <= MAX_DIRECT_FEATURES:
        base = CandidateSpec(split="quantum_first", n_qubits=n_features, encoding=EncodingSpec("angle_y"),
                             post_layers=(8,), training=training)
    else:
        base = CandidateSpec(split="quantum_middle", n_qubits=MAX_DIRECT_FEATURES, encoding=EncodingSpec("angle_y"),
                             pre_layers=(8,), post_layers=(8,), training=training)
    return Family(base, 3, ROTATIONS, ENTANGLERS, GATES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["moons", "iris"])
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--steps", type=int, default=2000, help="SuperCircuit training steps (minibatches)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scratch-seeds", type=int, default=1, help="trainings from scratch averaged per candidate")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"| dataset | qubits | SuperCircuit training s | candidates | Spearman (inherited vs scratch) "
          f"| sharing (>= {SHARING_MIN_SPEARMAN}) | scratch accuracy range | check s |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.datasets:
        task = make_task(name)
        members = family(int(task.n_features))
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
              f"| {time.perf_counter() - started:.0f} |", flush=True)


if __name__ == "__main__":
    main()
