"""Evaluation cost against qubit count and dataset size, and the largest circuit that trains here.

1. Qubits: one training epoch (256 samples, batch 64, 3 ansatz layers, Adam, one thread) of the
   classifier of `training_throughput.py` at 2 to 12 qubits, on the compiled fast path and on
   PennyLane's TorchLayer path through qnas (`--no-fast-path`), measured in the same run;
   medians of --repeats. Printed as samples/s, with the memory the capacity guard plans for.
2. Dataset size: seconds per epoch at 4 qubits for 250 to 4,000 samples (fast path).
3. Largest: the capacity guard's limit for batch 1 on this machine (`qnas.devices.max_qubits`),
   one real training step there on the fast path with its peak memory, and the guard's refusal
   one qubit above it.

Writes docs/images/scaling.png (samples/s against qubits, both paths).

`--profile` prints, per qubit count and path, where one epoch goes: model building (circuit
compile or QNode), quantum forward (simulation), classical forward + loss, backward, optimizer.
Ray does not enter this in-process benchmark (see search_efficiency.py --workers 2 --profile).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scaling.py --repeats 3 [--profile]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from training_throughput import epoch_phases, make_data, qnas_config, train_epoch

from qnas.devices import AUTOGRAD_FACTOR, BYTES_PER_AMPLITUDE, DeviceConfig, check_capacity, max_qubits
from qnas.errors import DeviceError
from qnas.models import build_model

LAYERS, BATCH, SAMPLES = 3, 64, 256
PLOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "scaling.png"


def epoch_seconds(n_qubits: int, x, y, batch: int, fast_path: bool) -> float:
    torch.manual_seed(0)
    model = build_model(qnas_config(n_qubits, LAYERS, batch, x.shape[1])[0], fast_path=fast_path)
    return train_epoch(model, x, y, batch)


def planned_mib(n_qubits: int, batch: int) -> float:
    """What the capacity guard plans for one training run (qnas.devices)."""
    return BYTES_PER_AMPLITUDE * 2**n_qubits * batch * AUTOGRAD_FACTOR / 2**20


def qubit_table(qubits: list[int], repeats: int) -> dict[str, list[float]]:
    rates: dict[str, list[float]] = {"fast path": [], "PennyLane": []}
    print("| qubits | fast path (samples/s) | PennyLane TorchLayer (samples/s) | ratio | guard's plan (MiB) |")
    print("|---|---|---|---|---|")
    for n in qubits:
        x, y = make_data(4, SAMPLES, seed=n)
        times = {name: [] for name in rates}
        for repeat in range(repeats):
            for fast in (True, False) if repeat % 2 == 0 else (False, True):
                times["fast path" if fast else "PennyLane"].append(epoch_seconds(n, x, y, BATCH, fast))
        fast, plain = (SAMPLES / statistics.median(times[name]) for name in rates)
        rates["fast path"].append(fast)
        rates["PennyLane"].append(plain)
        print(f"| {n} | {fast:,.0f} | {plain:,.0f} | {fast / plain:.1f}x | {planned_mib(n, BATCH):,.1f} |", flush=True)
    return rates


def dataset_table(sizes: list[int], repeats: int) -> None:
    print("\n| samples | seconds per epoch (4 qubits, fast path) | per 1,000 samples |")
    print("|---|---|---|")
    for size in sizes:
        x, y = make_data(4, size, seed=size)
        seconds = statistics.median(epoch_seconds(4, x, y, BATCH, True) for _ in range(repeats))
        print(f"| {size:,} | {seconds:.3f} | {1000 * seconds / size:.3f} |", flush=True)


def largest(cap_gib: float) -> None:
    limit = max_qubits("default.qubit", batch_size=1)
    x, y = make_data(4, 1, seed=0)
    # An address-space cap turns an underestimate by the guard into a clean MemoryError here,
    # instead of the kernel's OOM killer on a shared machine.
    cap = int(cap_gib * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    started = time.perf_counter()
    try:
        epoch_seconds(limit, x, y, batch=1, fast_path=True)
    except (MemoryError, RuntimeError) as exc:
        print(f"\nlargest: one training step at the guard's limit of {limit} qubits did not fit in {cap_gib} GiB: {exc}")
        return
    seconds = time.perf_counter() - started
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # ru_maxrss is in KiB on Linux
    print(f"\nlargest: the guard allows {limit} qubits at batch 1 (and {max_qubits('default.qubit', BATCH)} at batch "
          f"{BATCH}); one training step at {limit} qubits, {LAYERS} layers, fast path: {seconds:.1f} s, "
          f"peak memory of this process {peak_gib:.2f} GiB")
    try:
        check_capacity(DeviceConfig("default.qubit"), limit + 1, 1)
        print(f"the guard accepted {limit + 1} qubits: it is not working")
    except DeviceError as exc:
        print(f"{limit + 1} qubits, refused up front: {exc}")


def profile_table(qubits: list[int], fast_path: bool) -> None:
    """Phases of model building + one epoch per qubit count: ms and share of the epoch."""
    columns = {}
    for n in qubits:
        x, y = make_data(4, SAMPLES, seed=n)
        seconds, total = epoch_phases(n, LAYERS, BATCH, x, y, fast_path=fast_path)
        seconds["loop and batching (rest)"] = total - sum(seconds.values())
        columns[n] = (seconds, total)
    phases = sorted(columns[qubits[-1]][0], key=lambda phase: -columns[qubits[-1]][0][phase])
    print(f"\nProfile, {'fast path' if fast_path else 'PennyLane TorchLayer path'}: ms (share) of model building "
          f"+ one epoch of {SAMPLES} samples")
    print("| phase | " + " | ".join(f"{n} qubits" for n in qubits) + " |")
    print("|---" * (len(qubits) + 1) + "|")
    for phase in phases:
        shares = [(columns[n][0][phase], columns[n][1]) for n in qubits]
        cells = " | ".join(f"{value * 1e3:,.1f} ({value / total:.0%})" for value, total in shares)
        print(f"| {phase} | {cells} |", flush=True)


def plot(qubits: list[int], rates: dict[str, list[float]]) -> None:
    figure, axes = plt.subplots(figsize=(6, 4))
    for name, values in rates.items():
        axes.plot(qubits, values, marker="o", label=name)
    axes.set(yscale="log", xlabel="qubits", ylabel="training samples / s (log)",
             title=f"One epoch, {LAYERS} layers, batch {BATCH}, one thread")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    PLOT.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(PLOT, dpi=120)
    print(f"\nwrote {PLOT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[2, 4, 6, 8, 10, 12])
    parser.add_argument("--sizes", type=int, nargs="+", default=[250, 500, 1000, 2000, 4000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-largest", action="store_true", help="skip the one step at the guard's limit")
    parser.add_argument("--cap-gib", type=float, default=20.0, help="address-space cap for that step")
    parser.add_argument("--profile", action="store_true", help="only print where an epoch's time goes, per qubit count")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.profile:
        for fast_path in (True, False):
            profile_table(args.qubits, fast_path)
        return
    rates = qubit_table(args.qubits, args.repeats)
    dataset_table(args.sizes, args.repeats)
    if not args.skip_largest:
        largest(args.cap_gib)
    plot(args.qubits, rates)


if __name__ == "__main__":
    main()
