"""VQE at batch: energy evaluations per second for many angle sets in one batched call, beside one
QNode call per evaluation, measured in the same run.

The ansatz is the hardware-efficient one of ../shared/benchmarks/README.md: RY on every wire, then
twice (CNOT chain, RY on every wire), from the task's reference state; 12 angles on 4 qubits.
Tasks: H2 and LiH (4 qubits) from the shared `.npz` Hamiltonians, and qnas' own `h2` task.
The sides, all without gradients unless named so:

- pennylane QNode: `qml.expval(H)` on `default.qubit`, one call per angle set (the baseline);
- qnas pennylane: `EnergyModel.energies` with `fast_path=False`, which loops over the sets;
- qnas fast, one call each: the compiled path, one angle set per call;
- qnas fast, batched: `EnergyModel.energies(angle_sets)`, all sets in one call;
- with gradients: energy and its gradient for every set, QNode + backward per set against one
  batched call + one backward.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/vqe_batch.py --sets 1024 --repeats 5 [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from profiling import print_phases

from qnas.circuits import make_qnode
from qnas.evaluation import make_model_config
from qnas.models import build_model
from qnas.spec import CandidateSpec, EncodingSpec, LayerSpec
from qnas.tasks import make_task

SHARED = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "hamiltonians"
TASKS = {
    "H2 (npz, 0.7414 A)": ("npz", {"path": str(SHARED / "h2_4q_jw_0.7414A.npz")}),
    "LiH (npz, 4q, 2.2 A)": ("npz", {"path": str(SHARED / "lih_4q_parity_2.2A.npz")}),
    "H2 (qnas task h2)": ("h2", {}),
}
ANSATZ = CandidateSpec(
    split="quantum_only",
    n_qubits=4,
    encoding=EncodingSpec("none"),
    layers=(LayerSpec(("RY",), "linear", "CNOT"),) * 2 + (LayerSpec(("RY",), "none"),),
)


def random_angle_sets(model: torch.nn.Module, count: int, seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return {
        name: torch.rand(count, *value.shape, generator=generator, dtype=torch.float64) * 2 * torch.pi
        for name, value in model.weights.items()
    }


def one_set(angle_sets: dict[str, torch.Tensor], index: int) -> dict[str, torch.Tensor]:
    return {name: value[index] for name, value in angle_sets.items()}


def sides(task, per_call_sets: int, batched_sets: int) -> dict[str, tuple[int, Callable[[], torch.Tensor]]]:
    """Name -> (evaluations per run, run() returning the energies)."""
    config = make_model_config(ANSATZ, task)
    fast, slow = build_model(config), build_model(config, fast_path=False)
    qnode = make_qnode(ANSATZ, measurement=task.hamiltonian, reference_state=task.reference_state)
    few, many = random_angle_sets(fast, per_call_sets, 0), random_angle_sets(fast, batched_sets, 1)
    with_grad = {name: value.clone().requires_grad_() for name, value in many.items()}

    def qnode_each() -> torch.Tensor:
        with torch.no_grad():
            return torch.stack([qnode(**one_set(few, i)) for i in range(per_call_sets)])

    def qnode_each_with_grad() -> torch.Tensor:
        energies = []
        for i in range(per_call_sets):
            weights = {name: value.clone().requires_grad_() for name, value in one_set(few, i).items()}
            energy = qnode(**weights)
            energy.backward()
            energies.append(energy.detach())
        return torch.stack(energies)

    def fast_each() -> torch.Tensor:
        with torch.no_grad():
            return torch.stack([fast.energies({k: v[i : i + 1] for k, v in few.items()})[0] for i in range(per_call_sets)])

    def batched_with_grad() -> torch.Tensor:
        energies = fast.energies(with_grad)
        energies.sum().backward()
        return energies.detach()

    def no_grad(run: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
        def wrapped() -> torch.Tensor:
            with torch.no_grad():
                return run()

        return wrapped

    return {
        "pennylane QNode, one call each": (per_call_sets, qnode_each),
        "qnas pennylane path": (per_call_sets, no_grad(lambda: slow.energies(few))),
        "qnas fast, one call each": (per_call_sets, fast_each),
        "qnas fast, batched": (batched_sets, no_grad(lambda: fast.energies(many))),
        "with grad: pennylane QNode + backward each": (per_call_sets, qnode_each_with_grad),
        "with grad: qnas fast batched + one backward": (batched_sets, batched_with_grad),
    }


def check_agreement(task) -> float:
    """Largest |batched fast-path energy - QNode energy| over 32 random angle sets."""
    config = make_model_config(ANSATZ, task)
    fast = build_model(config)
    qnode = make_qnode(ANSATZ, measurement=task.hamiltonian, reference_state=task.reference_state)
    angle_sets = random_angle_sets(fast, 32, 2)
    with torch.no_grad():
        batched = fast.energies(angle_sets)
        each = torch.stack([qnode(**one_set(angle_sets, i)) for i in range(32)])
    return float((batched - each).abs().max())


def profile(task, batched_sets: int) -> None:
    """Where a batched call spends its time (timers), and where one QNode call does (cProfile)."""
    timers: dict[str, float] = {}
    started = time.perf_counter()
    fast = build_model(make_model_config(ANSATZ, task))
    timers["model building (compile circuit, H matrix)"] = time.perf_counter() - started
    angle_sets = {k: v.requires_grad_() for k, v in random_angle_sets(fast, batched_sets, 3).items()}
    states, timers["simulation (batched state vectors)"] = _timed(lambda: fast.circuit(angle_sets))
    energies, timers["energy <psi|H|psi>"] = _timed(lambda: fast.expectations(states))
    timers["backward"] = _timed(lambda: energies.sum().backward())[1]
    title = f"Profile, qnas fast batched, {batched_sets} angle sets with gradients"
    print_phases(title, timers, sum(timers.values()), rest=None)

    qnode = make_qnode(ANSATZ, measurement=task.hamiltonian, reference_state=task.reference_state)
    few = random_angle_sets(fast, 50, 4)
    profiler = cProfile.Profile()
    with torch.no_grad():
        profiler.enable()
        for i in range(50):
            qnode(**one_set(few, i))
        profiler.disable()
    print("\nProfile, pennylane QNode, 50 calls: functions by cumulative time")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(12)


def _timed(run: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = run()
    return out, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=1024, help="angle sets per batched call")
    parser.add_argument("--per-call-sets", type=int, default=64, help="angle sets the one-call-each sides run")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="also print where the time goes")
    args = parser.parse_args()
    torch.set_num_threads(1)

    tasks = {label: make_task(name, **params) for label, (name, params) in TASKS.items()}
    runs = {label: sides(task, args.per_call_sets, args.sets) for label, task in tasks.items()}
    for label in runs:  # warm-up
        for _, run in runs[label].values():
            run()
    times: dict[tuple[str, str], list[float]] = defaultdict(list)
    for repeat in range(args.repeats):
        for label, named in runs.items():
            order = list(named.items())
            for side, (_, run) in order if repeat % 2 == 0 else order[::-1]:
                times[(label, side)].append(_timed(run)[1])

    print(
        f"Energy evaluations per second ({ANSATZ.n_qubits} qubits, 12 RY + 6 CNOT, batched calls of {args.sets} "
        f"angle sets, one-call-each sides on {args.per_call_sets}, {torch.get_num_threads()} thread, "
        f"median of {args.repeats})\n"
    )
    side_names = list(next(iter(runs.values())))
    print("| task | " + " | ".join(side_names) + " | batched / QNode | with grad: batched / QNode |")
    print("|---" * (len(side_names) + 3) + "|")
    for label, named in runs.items():
        rate = {side: named[side][0] / statistics.median(times[(label, side)]) for side in side_names}
        cells = " | ".join(f"{rate[side]:,.0f}" for side in side_names)
        speedup = rate["qnas fast, batched"] / rate["pennylane QNode, one call each"]
        grad_speedup = rate["with grad: qnas fast batched + one backward"] / rate["with grad: pennylane QNode + backward each"]
        print(f"| {label} | {cells} | {speedup:,.0f}x | {grad_speedup:,.0f}x |")
    for label, task in tasks.items():
        print(f"{label}: max |batched - QNode| energy over 32 angle sets = {check_agreement(task):.1e} Ha")
    if args.profile:
        profile(tasks["LiH (npz, 4q, 2.2 A)"], args.sets)


if __name__ == "__main__":
    main()
