"""Training throughput of qnas' fast path beside PennyLane's TorchLayer and a hand-written torch simulation.

Every side trains the same hybrid model for one epoch (Adam, cross-entropy, one thread):
Linear(n -> n) + pi*tanh -> AngleEmbedding(Y) -> `layers` x (RY on every wire, CNOT chain) ->
<Z> on every wire -> Linear(n -> 2). The sides:

- pennylane: written here directly with `qml.qnn.TorchLayer` on `default.qubit` (backprop);
- qnas fast: `qnas.models.build_model` (the compiled path of `qnas.compiled_circuit`, the default);
- qnas pennylane: `build_model(..., fast_path=False)` (qnas' PennyLane path, as before issue 7);
- reference: a batched torch state-vector simulation of this one circuit, written by hand below;
- qnas evaluator: `qnas.training.train_classifier` on the fast path, including its per-epoch
  validation pass (64 rows), i.e. what a search trial runs.

The first four share one training loop. Runs are interleaved (the order alternates per repeat)
and the median of the repeats is reported. `--profile` splits one fast-path epoch per qubit count
into model building, quantum forward (simulation), classical forward, backward and optimizer
step, and lists the torch operators that take the most time.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_throughput.py --qubits 4 8 --repeats 5 [--profile]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable

import numpy as np
import pennylane as qml
import torch
from profiling import PhaseTimers, print_phases
from torch import nn
from torch.nn import functional as F

from qnas.models import build_model
from qnas.spec import CandidateSpec, EncodingSpec, LayerSpec, TrainingSpec
from qnas.training import train_classifier

VALIDATION_ROWS = 64
TORCHQUANTUM_4Q = (2360, 2690)
"""torchquantum 0.1.8 on this machine, 4 qubits, same model (DESIGN.md): the anchor of issue 7."""


def make_data(n_features: int, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random features, labels from a fixed linear rule: a learnable, reproducible problem."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_samples, n_features)).astype(np.float32)
    y = (x @ rng.normal(size=n_features) > 0).astype(np.int64)
    return x, y


def qnas_config(n_qubits: int, layers: int, batch: int, n_features: int) -> tuple[dict, TrainingSpec]:
    training = TrainingSpec(optimizer="adam", learning_rate=0.01, epochs=1, batch_size=batch)
    spec = CandidateSpec(
        split="quantum_head",
        n_qubits=n_qubits,
        encoding=EncodingSpec("angle_y"),
        layers=(LayerSpec(("RY",), "linear", "CNOT"),) * layers,
        training=training,
    )
    config = {
        "kind": "classifier",
        "spec": spec.to_dict(),
        "n_features": n_features,
        "n_outputs": 2,
        "class_names": ["0", "1"],
        "feature_names": [f"x{i}" for i in range(n_features)],
    }
    return config, training


class ScaledTanh(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return math.pi * torch.tanh(z)


def pennylane_model(n_qubits: int, layers: int, n_features: int) -> nn.Module:
    """The model written directly with PennyLane's TorchLayer."""
    dev = qml.device("default.qubit", wires=n_qubits)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(n_qubits), rotation="Y")
        for layer in range(layers):
            for wire in range(n_qubits):
                qml.RY(weights[layer, wire], wires=wire)
            for wire in range(n_qubits - 1):
                qml.CNOT(wires=[wire, wire + 1])
        return [qml.expval(qml.PauliZ(wire)) for wire in range(n_qubits)]

    quantum = qml.qnn.TorchLayer(circuit, {"weights": (layers, n_qubits)})
    return nn.Sequential(nn.Linear(n_features, n_qubits), ScaledTanh(), quantum, nn.Linear(n_qubits, 2))


class ReferenceCircuit(nn.Module):
    """The circuit by hand: real amplitudes (RY and CNOT are real), RY(x)|0> = (cos x/2, sin x/2)
    per wire as the encoded product state, each RY a matmul on a (batch, left, 2, right) view,
    each CNOT chain one gather."""

    def __init__(self, n_qubits: int, layers: int) -> None:
        super().__init__()
        self.n_qubits = n_qubits
        self.weights = nn.Parameter(torch.rand(layers, n_qubits) * 2 * math.pi)
        index = np.arange(2**n_qubits)
        bits = (index[:, None] >> np.arange(n_qubits - 1, -1, -1)) & 1
        for wire in range(n_qubits - 1):
            bits[:, wire + 1] ^= bits[:, wire]
        destination = bits @ (1 << np.arange(n_qubits - 1, -1, -1))
        self.source = torch.as_tensor(np.argsort(destination))
        self.z_signs = torch.as_tensor(1 - 2 * ((index[:, None] >> np.arange(n_qubits - 1, -1, -1)) & 1), dtype=torch.float64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, half = self.n_qubits, x.double() / 2
        wires = torch.stack((torch.cos(half), torch.sin(half)), dim=-1)
        state = wires[:, 0]
        for wire in range(1, n):
            state = (state.unsqueeze(-1) * wires[:, wire].unsqueeze(1)).reshape(len(x), -1)
        angles = self.weights.double() / 2
        c, s = torch.cos(angles), torch.sin(angles)
        matrices = torch.stack((c, -s, s, c), dim=-1).reshape(*angles.shape, 2, 2)
        for layer in matrices:
            for wire in range(n):
                state = (layer[wire] @ state.reshape(len(x), 2**wire, 2, -1)).reshape(len(x), -1)
            state = state.index_select(1, self.source)
        return (state.square() @ self.z_signs).to(x.dtype)


def reference_model(n_qubits: int, layers: int, n_features: int) -> nn.Module:
    quantum = ReferenceCircuit(n_qubits, layers)
    return nn.Sequential(nn.Linear(n_features, n_qubits), ScaledTanh(), quantum, nn.Linear(n_qubits, 2))


def train_epoch(model: nn.Module, x: np.ndarray, y: np.ndarray, batch: int, timers: PhaseTimers | None = None) -> float:
    """Seconds for one epoch of plain minibatch Adam: the loop every same-loop side runs."""
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    order = torch.randperm(len(xt), generator=generator)
    for start in range(0, len(xt), batch):
        index = order[start : start + batch]
        mark = time.perf_counter()
        loss = F.cross_entropy(model(xt[index]), yt[index])
        if timers:
            mark = timers.add("forward: all", mark)
        optimizer.zero_grad()
        loss.backward()
        if timers:
            mark = timers.add("backward", mark)
        optimizer.step()
        if timers:
            timers.add("optimizer step", mark)
    return time.perf_counter() - started


def side_runners(n_qubits: int, layers: int, batch: int) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """Each side: build its model (untimed, seeded), then time one epoch."""

    def same_loop(build: Callable[[int], nn.Module]) -> Callable[[np.ndarray, np.ndarray], float]:
        def run(x: np.ndarray, y: np.ndarray) -> float:
            torch.manual_seed(0)
            return train_epoch(build(x.shape[1]), x, y, batch)

        return run

    def evaluator(x: np.ndarray, y: np.ndarray) -> float:
        config, training = qnas_config(n_qubits, layers, batch, x.shape[1])
        torch.manual_seed(0)
        model = build_model(config)
        started = time.perf_counter()
        train_classifier(model, x, y, x[:VALIDATION_ROWS], y[:VALIDATION_ROWS], training, epochs=1, seed=0)
        return time.perf_counter() - started

    return {
        "pennylane": same_loop(lambda d: pennylane_model(n_qubits, layers, d)),
        "qnas fast": same_loop(lambda d: build_model(qnas_config(n_qubits, layers, batch, d)[0])),
        "qnas pennylane": same_loop(lambda d: build_model(qnas_config(n_qubits, layers, batch, d)[0], fast_path=False)),
        "reference": same_loop(lambda d: reference_model(n_qubits, layers, d)),
        "qnas evaluator": evaluator,
    }


def epoch_phases(
    n_qubits: int, layers: int, batch: int, x: np.ndarray, y: np.ndarray, fast_path: bool = True
) -> tuple[dict[str, float], float]:
    """Seconds per phase of model building + one epoch (after a warm-up epoch), and their total."""
    config = qnas_config(n_qubits, layers, batch, x.shape[1])[0]
    train_epoch(build_model(config, fast_path=fast_path), x, y, batch)  # warm-up
    timers = PhaseTimers()
    started = time.perf_counter()
    model = build_model(config, fast_path=fast_path)
    building = "model building (compile the circuit)" if fast_path else "model building (QNode, TorchLayer)"
    timers.add(building, started)
    timers.watch(model.quantum)
    total = train_epoch(model, x, y, batch, timers)
    seconds = dict(timers.seconds)
    seconds["forward: classical layers + loss"] = seconds.pop("forward: all") - seconds["forward: quantum block"]
    return seconds, total + seconds[building]


def profile_fast_path(n_qubits: int, layers: int, batch: int, x: np.ndarray, y: np.ndarray) -> None:
    """Where one fast-path epoch spends its time: phases by timers, then the top torch operators."""
    seconds, epoch = epoch_phases(n_qubits, layers, batch, x, y)
    print_phases(f"Profile, qnas fast path, {n_qubits} qubits, model building + 1 epoch", seconds, epoch,
                 rest="loop and batching (rest)")

    model = build_model(qnas_config(n_qubits, layers, batch, x.shape[1])[0])
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        train_epoch(model, x, y, batch)
    print(f"\nTop torch operators by self CPU time, {n_qubits} qubits (one epoch, under the profiler):")
    print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=8, max_name_column_width=40))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--repeats", type=int, default=5, help="0 skips the throughput table (e.g. with --profile)")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="also print where a fast-path epoch spends its time")
    args = parser.parse_args()
    torch.set_num_threads(1)

    data = {n: make_data(n, args.samples, seed=n) for n in args.qubits}
    if args.repeats:
        throughput_table(args, data)
    if args.profile:
        for n in args.qubits:
            profile_fast_path(n, args.layers, args.batch, *data[n])


def throughput_table(args: argparse.Namespace, data: dict[int, tuple[np.ndarray, np.ndarray]]) -> None:
    """Time every side, interleaved, and print samples/s with the ratios the issue targets."""
    runners = {n: side_runners(n, args.layers, args.batch) for n in args.qubits}
    for n in args.qubits:  # warm-up: first calls pay imports and caches
        for run in runners[n].values():
            run(*(a[: args.batch] for a in data[n]))

    times: dict[tuple[str, int], list[float]] = defaultdict(list)
    for repeat in range(args.repeats):
        for n in args.qubits:
            sides = list(runners[n].items())
            for name, run in sides if repeat % 2 == 0 else sides[::-1]:
                times[(name, n)].append(run(*data[n]))

    print(
        f"Training throughput, samples/s (1 epoch of {args.samples} samples, batch {args.batch}, Adam, "
        f"{args.layers} layers, {torch.get_num_threads()} thread, median of {args.repeats})\n"
    )
    names = list(runners[args.qubits[0]])
    print("| qubits | " + " | ".join(names) + " | fast / pennylane | fast / reference |")
    print("|---" * (len(names) + 3) + "|")
    for n in args.qubits:
        rate = {name: args.samples / statistics.median(times[(name, n)]) for name in names}
        cells = " | ".join(f"{rate[name]:,.0f}" for name in names)
        print(
            f"| {n} | {cells} | {rate['qnas fast'] / rate['pennylane']:.2f} | "
            f"{rate['qnas fast'] / rate['reference']:.2f} |"
        )
        if n == 4:
            low, high = TORCHQUANTUM_4Q
            print(
                f"  (4 qubits: qnas fast / torchquantum's {low:,}-{high:,} samples/s = "
                f"{rate['qnas fast'] / high:.2f}-{rate['qnas fast'] / low:.2f})"
            )


if __name__ == "__main__":
    main()
