"""Wall time of one whole VQE evaluation: H2 (4 qubits), 2 RY/CNOT layers, 60 epochs of Adam.

This is the evaluation `tests/test_evaluation.py::test_h2_reaches_a_small_energy_error` checks for
its outcome; its time is measured here instead, since a test must not depend on CPU speed. The
baseline is the same `evaluate` call on qnas's PennyLane path (`Budget(fast_path=False)`, what
`--no-fast-path` runs), timed in the same process with the order alternating per repeat.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vqe_evaluation.py --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from qnas.evaluation import Budget, evaluate
from qnas.spec import CandidateSpec, EncodingSpec, LayerSpec, TrainingSpec
from qnas.tasks import make_task

SPEC = CandidateSpec(
    split="quantum_only",
    n_qubits=4,
    encoding=EncodingSpec("none"),
    layers=(LayerSpec(("RY",), "linear", "CNOT"),) * 2,
    training=TrainingSpec(learning_rate=0.1, epochs=60),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats = {args.repeats} must be at least 1: the medians need one timed run of each path")
    torch.set_num_threads(1)
    task = make_task("h2")
    evaluate(SPEC, task, budget=Budget(seed=0))  # first call pays imports and compilation
    seconds: dict[bool, list[float]] = {True: [], False: []}
    errors: dict[bool, float] = {}
    for repeat in range(args.repeats):
        for fast_path in (True, False) if repeat % 2 == 0 else (False, True):
            started = time.perf_counter()
            result = evaluate(SPEC, task, budget=Budget(seed=0, fast_path=fast_path))
            seconds[fast_path].append(time.perf_counter() - started)
            errors[fast_path] = result.value
    fast, pennylane = statistics.median(seconds[True]), statistics.median(seconds[False])
    print(f"H2, 4 qubits, 2 layers, 60 epochs, {args.repeats} repeats (median s per evaluation):")
    print(f"  qnas fast path    {fast:7.2f} s   energy error {errors[True]:.2e} Ha")
    print(f"  qnas PennyLane    {pennylane:7.2f} s   energy error {errors[False]:.2e} Ha")
    print(f"  fast path speed-up {pennylane / fast:.2f}x")


if __name__ == "__main__":
    main()
