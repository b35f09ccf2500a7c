"""Training throughput of the qnas evaluator beside plain PennyLane, measured in the same run.

Both sides train the same hybrid model for one epoch (Adam, cross-entropy, one thread):
Linear(n -> n) + pi*tanh -> AngleEmbedding(Y) -> `layers` x (RY on every wire, CNOT chain) ->
<Z> on every wire -> Linear(n -> 2), on `default.qubit` with backprop through `qml.qnn.TorchLayer`.
The plain side is written here directly with TorchLayer + nn.Sequential, not through qnas. The
qnas side is `qnas.training.train_classifier`, which also runs its per-epoch validation pass
(64 rows) inside the timed epoch. Runs are interleaved (the order alternates per repeat) and the
median of the repeats is reported.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_throughput.py --qubits 4 8 --repeats 5
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import pennylane as qml
import torch
from torch import nn
from torch.nn import functional as F

from qnas.models import build_model
from qnas.spec import CandidateSpec, EncodingSpec, LayerSpec, TrainingSpec
from qnas.training import train_classifier

VALIDATION_ROWS = 64


def make_data(n_features: int, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random features, labels from a fixed linear rule: a learnable, reproducible problem."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_samples, n_features)).astype(np.float32)
    y = (x @ rng.normal(size=n_features) > 0).astype(np.int64)
    return x, y


def qnas_epoch(n_qubits: int, layers: int, batch: int, x: np.ndarray, y: np.ndarray) -> float:
    """Seconds for one epoch of qnas' classifier training loop."""
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
        "n_features": x.shape[1],
        "n_outputs": 2,
        "class_names": ["0", "1"],
        "feature_names": [f"x{i}" for i in range(x.shape[1])],
    }
    torch.manual_seed(0)
    model = build_model(config)
    x_val, y_val = x[:VALIDATION_ROWS], y[:VALIDATION_ROWS]
    started = time.perf_counter()
    train_classifier(model, x, y, x_val, y_val, training, epochs=1, seed=0)
    return time.perf_counter() - started


class ScaledTanh(nn.Module):
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return math.pi * torch.tanh(z)


def plain_epoch(n_qubits: int, layers: int, batch: int, x: np.ndarray, y: np.ndarray) -> float:
    """Seconds for one epoch of the same model written directly with PennyLane's TorchLayer."""
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

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(x.shape[1], n_qubits),
        ScaledTanh(),
        qml.qnn.TorchLayer(circuit, {"weights": (layers, n_qubits)}),
        nn.Linear(n_qubits, 2),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    generator = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    order = torch.randperm(len(xt), generator=generator)
    for start in range(0, len(xt), batch):
        index = order[start : start + batch]
        loss = F.cross_entropy(model(xt[index]), yt[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--layers", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    data = {n: make_data(n, args.samples, seed=n) for n in args.qubits}
    for n in args.qubits:  # warm-up: first calls pay imports and caches
        qnas_epoch(n, args.layers, args.batch, *(a[: args.batch] for a in data[n]))
        plain_epoch(n, args.layers, args.batch, *(a[: args.batch] for a in data[n]))

    times: dict[tuple[str, int], list[float]] = {}
    for repeat in range(args.repeats):
        for n in args.qubits:
            runners = [("qnas", qnas_epoch), ("plain", plain_epoch)]
            for name, run in runners if repeat % 2 == 0 else runners[::-1]:
                times.setdefault((name, n), []).append(run(n, args.layers, args.batch, *data[n]))

    print(
        f"Training throughput, samples/s (1 epoch of {args.samples} samples, batch {args.batch}, Adam, "
        f"{args.layers} layers, {torch.get_num_threads()} thread, median of {args.repeats})\n"
    )
    print("| qubits | qnas evaluator | plain PennyLane TorchLayer | ratio qnas/plain |")
    print("|---|---|---|---|")
    for n in args.qubits:
        qnas_rate = args.samples / statistics.median(times[("qnas", n)])
        plain_rate = args.samples / statistics.median(times[("plain", n)])
        print(f"| {n} | {qnas_rate:,.0f} | {plain_rate:,.0f} | {qnas_rate / plain_rate:.2f} |")


if __name__ == "__main__":
    main()
