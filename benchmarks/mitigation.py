"""Readout-error mitigation and zero-noise extrapolation, measured against unmitigated runs (issue 6).

1. Readout: 4-qubit circuits (an RY on every qubit; then also a CNOT chain) on the shipped
   `iqm_garnet` model (readout error 2.4-2.7% per qubit, plus its gate noise), layout `trivial`.
   The total-variation distance of the measured distribution to the ideal one, without and with
   `readout_mitigation` (per-qubit assignment matrices measured on the device, inverted).
   Analytic probabilities, --circuits random angle sets, median and worst ratio.
2. ZNE: 4 qubits, 3 layers (RY on every qubit + a CNOT chain), depolarizing p after every gate
   (`qml.noise.insert`, applied after folding), <Z0 Z3>. The error against the exact value,
   without and with ZNE (global folding at 1, 3, 5, Richardson), analytic.
3. ZNE's variance cost: with --shots per circuit, --repeats estimates each, the standard deviation
   of the unmitigated and ZNE estimates, against the analytic factor sqrt(sum c_i^2) of the
   Richardson weights.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mitigation.py --circuits 5
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import pennylane as qml

from qnas.devices import DeviceConfig
from qnas.mitigation.zne import with_zne
from qnas.noise_model import noisy_qnode
from qnas.spec import CalibrationSpec

WIRES, LAYERS, FACTORS = 4, 3, [1, 3, 5]


def _layers(angles: np.ndarray, entangle: bool) -> None:
    for layer in angles:
        for wire, angle in enumerate(layer):
            qml.RY(angle, wires=wire)
        if entangle:
            for wire in range(WIRES - 1):
                qml.CNOT(wires=[wire, wire + 1])


def readout_ratios(rng: np.random.Generator, circuits: int, entangle: bool) -> list[tuple[float, float]]:
    """(raw TVD, mitigated TVD) per random circuit."""
    device = DeviceConfig("noisy", {"calibration": "iqm_garnet"})
    out = []
    for _ in range(circuits):
        angles = rng.uniform(0, 2 * np.pi, size=(1, WIRES))

        def circuit(angles=angles):
            _layers(angles, entangle)
            return qml.probs(wires=range(WIRES))

        ideal = np.asarray(qml.QNode(circuit, qml.device("default.qubit", wires=WIRES))())
        raw = np.asarray(noisy_qnode(circuit, WIRES, device, CalibrationSpec())())
        fixed = np.asarray(noisy_qnode(circuit, WIRES, device, CalibrationSpec(readout_mitigation=True))())
        out.append((0.5 * np.abs(raw - ideal).sum(), 0.5 * np.abs(fixed - ideal).sum()))
    return out


def zne_circuit(angles: np.ndarray, p: float, zne: bool, shots: int | None = None, seed: int | None = None) -> qml.QNode:
    def circuit():
        _layers(angles, entangle=True)
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(WIRES - 1))

    qnode = qml.QNode(circuit, qml.device("default.mixed", wires=WIRES, seed=seed), shots=shots)
    if zne:
        qnode = with_zne(qnode, FACTORS, "richardson")
    return qml.noise.insert(qnode, qml.DepolarizingChannel, p, position="all")


def exact_value(angles: np.ndarray) -> float:
    def circuit():
        _layers(angles, entangle=True)
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(WIRES - 1))

    return float(qml.QNode(circuit, qml.device("default.qubit", wires=WIRES))())


def richardson_weights(factors: list[int]) -> np.ndarray:
    """Weights c_i with sum c_i f(x_i) = the degree-(n-1) polynomial through the points, at 0."""
    x = np.asarray(factors, dtype=float)
    return np.array([np.prod([x[j] / (x[j] - x[i]) for j in range(len(x)) if j != i]) for i in range(len(x))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", type=int, default=5)
    parser.add_argument("--p", type=float, default=0.005)
    parser.add_argument("--shots", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    print("| readout, iqm_garnet, 4 qubits | raw TVD (median) | mitigated TVD (median) | ratio: median | worst |")
    print("|---|---|---|---|---|")
    for entangle in (False, True):
        pairs = readout_ratios(rng, args.circuits, entangle)
        ratios = [raw / fixed for raw, fixed in pairs]
        label = "RY layer + CNOT chain" if entangle else "RY layer (product state)"
        print(f"| {label} | {statistics.median(r for r, _ in pairs):.4f} | {statistics.median(f for _, f in pairs):.4f} "
              f"| {statistics.median(ratios):.1f}x | {min(ratios):.1f}x |", flush=True)

    errors = []
    for _ in range(args.circuits):
        angles = rng.uniform(0, 2 * np.pi, size=(LAYERS, WIRES))
        exact = exact_value(angles)
        raw, fixed = (float(zne_circuit(angles, args.p, zne)()) for zne in (False, True))
        errors.append((abs(raw - exact), abs(fixed - exact)))
    ratios = [raw / fixed for raw, fixed in errors]
    print(f"\nZNE, {WIRES} qubits x {LAYERS} layers, depolarizing p={args.p} after every gate, analytic, "
          f"{args.circuits} random circuits: |error| raw median {statistics.median(r for r, _ in errors):.2e}, "
          f"ZNE median {statistics.median(f for _, f in errors):.2e}; ratio median {statistics.median(ratios):.1f}x, "
          f"worst {min(ratios):.1f}x")

    angles = rng.uniform(0, 2 * np.pi, size=(LAYERS, WIRES))
    spread = {}
    for zne in (False, True):
        estimates = [float(zne_circuit(angles, args.p, zne, args.shots, seed=args.seed + i)()) for i in range(args.repeats)]
        spread[zne] = statistics.stdev(estimates)
    weights = richardson_weights(FACTORS)
    print(f"variance cost at {args.shots} shots per circuit ({args.repeats} repeats): std raw {spread[False]:.4f}, "
          f"ZNE {spread[True]:.4f}, ratio {spread[True] / spread[False]:.2f}x; analytic sqrt(sum c^2) = "
          f"{np.sqrt((weights**2).sum()):.2f}x for Richardson weights {np.round(weights, 3).tolist()} "
          f"(ZNE also runs {sum(FACTORS)}x the gates of one circuit)")


if __name__ == "__main__":
    main()
