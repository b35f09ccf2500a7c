"""Readout-error mitigation and zero-noise extrapolation, measured against unmitigated runs (issue 6).

1. Readout: 4-qubit circuits (an RY on every qubit; then also a CNOT chain), layout `trivial`, on
   shipped device models (--devices): by default `ibm_perth` (readout error 2.5-3.3% on the 4
   qubits used, 3.0% averaged over its 7) and `iqm_garnet` (2.4-2.7%). The total-variation
   distance (TVD) of the measured distribution to the ideal one, without and with readout
   mitigation by each method (per-qubit, tensored pairs, one full 16x16 matrix), whose
   assignment matrices are measured once on the device and then passed as a stored
   calibration, as `qnas.load` does with an export's. "floor" is the TVD of the same circuit on
   the device without readout errors (the gate noise mitigation cannot remove); "left" is the
   TVD from the mitigated result to that floor distribution (the readout error not removed).
   Analytic probabilities, --circuits random angle sets, median and worst. With shots: the same
   product-state circuits sampled (--readout-shots) on the first device, counts corrected into
   the unbiased quasi-distribution and into the nearest probability distribution.
2. ZNE: 4 qubits, 3 layers (RY on every qubit + a CNOT chain), depolarizing p after every gate
   (`qml.noise.insert`, applied after folding), <Z0 Z3>. The error against the exact value,
   without and with ZNE (global folding at 1, 3, 5, Richardson), analytic.
3. ZNE's variance cost: with --shots per circuit, --repeats estimates each, the standard deviation
   of the unmitigated and ZNE estimates, against the analytic factor sqrt(sum c_i^2) of the
   Richardson weights.

--profile prints where the time went: building circuits (PennyLane's transforms: decomposition,
routing, noise channels, folding), simulating them, measuring readout calibrations, and
post-processing (readout correction, ZNE extrapolation).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/mitigation.py --circuits 5 [--profile]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pennylane as qml
from profiling import PhaseTimers, print_phases

from qnas.calibration import SCHEMA, load_calibration
from qnas.devices import DeviceConfig
from qnas.mitigation.readout import correct_counts
from qnas.mitigation.readout_calibration import READOUT_METHODS
from qnas.mitigation.zne import with_zne
from qnas.noise_model import noisy_qnode, readout_calibration
from qnas.routing import choose_layout
from qnas.spec import CalibrationSpec

WIRES, LAYERS, FACTORS = 4, 3, [1, 3, 5]


def run(qnode: qml.QNode, profile: PhaseTimers, post: str = "post-process") -> Any:
    """What `qnode()` returns, with its transforms, its simulation and its post-processing timed apart."""
    with profile.stage("build circuits (transforms)"):
        batch, postprocess = qml.workflow.construct_batch(qnode, level="device")()
    with profile.stage("simulate"):
        results = qml.execute(batch, qnode.device)
    with profile.stage(post):
        (result,) = postprocess(results)  # one circuit in, one result out
    return result


def _layers(angles: np.ndarray, entangle: bool) -> None:
    for layer in angles:
        for wire, angle in enumerate(layer):
            qml.RY(angle, wires=wire)
        if entangle:
            for wire in range(WIRES - 1):
                qml.CNOT(wires=[wire, wire + 1])


def with_readout_error(name_or_path: str, readout_error: float, folder: Path) -> str:
    """A calibration file in `folder`: the device `name_or_path` with every qubit's readout error set."""
    base = load_calibration(name_or_path)
    percent = f"{readout_error * 100:g}".replace(".", "p")
    data = asdict(replace(
        base,
        name=f"{base.name}-readout{percent}",
        source=f"{base.source} DERIVED for benchmarks/mitigation.py: every readout_error set to {readout_error}.",
        qubits=tuple(replace(q, readout_error=readout_error) for q in base.qubits),
    ))
    path = folder / f"{data['name']}.json"
    path.write_text(json.dumps({"schema": SCHEMA, **data}))
    return str(path)


def readout_table(
    calibration_file: str, rng: np.random.Generator, circuits: int, profile: PhaseTimers, folder: Path
) -> None:
    """One markdown table: raw and mitigated TVD per circuit family and method."""
    device = DeviceConfig("noisy", {"calibration": calibration_file})
    calibration = load_calibration(calibration_file)
    layout = choose_layout("trivial", WIRES, calibration)
    stored = {}
    for method in READOUT_METHODS:
        with profile.stage("calibrate readout"):
            stored[method] = readout_calibration(calibration, layout, None, None, method).to_dict()
    floor_device = DeviceConfig("noisy", {"calibration": with_readout_error(calibration_file, 0.0, folder)})

    errors = [calibration.qubits[q].readout_error for q in layout]
    print(f"\n{calibration.name} (readout error {min(errors):.2%}-{max(errors):.2%}), layout {list(layout)}:\n")
    print("| circuit | method | raw TVD (median) | mitigated TVD (median) | cut: median | worst | floor (median) "
          "| left (median) |")
    print("|---|---|---|---|---|---|---|---|")
    gaps = {}
    for entangle in (False, True):
        rows: dict[str, list[tuple[float, float, float, float]]] = {m: [] for m in READOUT_METHODS}
        gap = 0.0
        for _ in range(circuits):
            angles = rng.uniform(0, 2 * np.pi, size=(1, WIRES))

            def circuit(angles=angles, entangle=entangle):
                _layers(angles, entangle)
                return qml.probs(wires=range(WIRES))

            ideal = np.asarray(run(qml.QNode(circuit, qml.device("default.qubit", wires=WIRES)), profile))
            raw = np.asarray(run(noisy_qnode(circuit, WIRES, device, CalibrationSpec()), profile))
            floor = np.asarray(run(noisy_qnode(circuit, WIRES, floor_device, CalibrationSpec()), profile))
            mitigated = {}
            for method in READOUT_METHODS:
                with_stored = DeviceConfig("noisy", {"calibration": calibration_file, "readout_calibration": stored[method]})
                qnode = noisy_qnode(circuit, WIRES, with_stored, CalibrationSpec(readout_mitigation=True))
                fixed = mitigated[method] = np.asarray(run(qnode, profile, "correct readout"))
                rows[method].append((tvd(raw, ideal), tvd(fixed, ideal), tvd(floor, ideal), tvd(fixed, floor)))
            gap = max(gap, *(tvd(fixed, mitigated["per_qubit"]) for fixed in mitigated.values()))
        label = "RY layer + CNOT chain" if entangle else "RY layer (product state)"
        gaps[label] = gap
        for method, pairs in rows.items():
            ratios = [raw / fixed for raw, fixed, _, _ in pairs]
            med = [statistics.median(column) for column in zip(*pairs, strict=True)]
            print(f"| {label} | {method} | {med[0]:.4f} | {med[1]:.4f} | {statistics.median(ratios):.1f}x "
                  f"| {min(ratios):.1f}x | {med[2]:.4f} | {med[3]:.4f} |", flush=True)
    print("\nlargest TVD between a method's mitigated distribution and per_qubit's: "
          + ", ".join(f"{label} {gap:.1e}" for label, gap in gaps.items()))


def counts_line(calibration_file: str, rng: np.random.Generator, circuits: int, shots: int, profile: PhaseTimers) -> None:
    """Product-state circuits sampled with `shots`: raw counts, the corrected quasi-distribution and
    the nearest probability distribution, each against the ideal distribution."""
    device = DeviceConfig("noisy", {"calibration": calibration_file, "seed": 0})
    calibration = load_calibration(calibration_file)
    layout = choose_layout("trivial", WIRES, calibration)
    with profile.stage("calibrate readout"):
        readout = readout_calibration(calibration, layout, None, None, "per_qubit")
    rows = []
    for _ in range(circuits):
        angles = rng.uniform(0, 2 * np.pi, size=(1, WIRES))

        def circuit(angles=angles):
            _layers(angles, entangle=False)
            return qml.counts(wires=range(WIRES))

        def ideal_circuit(angles=angles):
            _layers(angles, entangle=False)
            return qml.probs(wires=range(WIRES))

        ideal = np.asarray(run(qml.QNode(ideal_circuit, qml.device("default.qubit", wires=WIRES)), profile))
        counts = run(noisy_qnode(circuit, WIRES, device, CalibrationSpec(), shots=shots), profile)
        with profile.stage("correct readout"):
            mitigated = correct_counts(counts, layout, readout)  # no SWAPs in a product state: logical i is layout[i]

        def dense(table: dict[str, float]) -> np.ndarray:
            return np.array([table.get(format(i, f"0{WIRES}b"), 0.0) for i in range(2**WIRES)])

        raw = dense({bits: n / shots for bits, n in counts.items()})
        rows.append((tvd(raw, ideal), tvd(dense(mitigated.quasi), ideal), tvd(dense(mitigated.nearest), ideal)))
    med = [statistics.median(column) for column in zip(*rows, strict=True)]
    print(f"\ncounts, {shots} shots, RY layer (product state), {calibration.name}, per_qubit: TVD to ideal (median of "
          f"{circuits}) raw {med[0]:.4f}, quasi-distribution {med[1]:.4f} ({med[0] / med[1]:.1f}x), nearest "
          f"probabilities {med[2]:.4f} ({med[0] / med[2]:.1f}x)")


def tvd(p: np.ndarray, q: np.ndarray) -> float:
    return 0.5 * float(np.abs(p - q).sum())


def zne_circuit(angles: np.ndarray, p: float, zne: bool, shots: int | None = None, seed: int | None = None) -> qml.QNode:
    def circuit():
        _layers(angles, entangle=True)
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(WIRES - 1))

    qnode = qml.QNode(circuit, qml.device("default.mixed", wires=WIRES, seed=seed), shots=shots)
    if zne:
        qnode = with_zne(qnode, FACTORS, "richardson")
    return qml.noise.insert(qnode, qml.DepolarizingChannel, p, position="all")


def exact_value(angles: np.ndarray, profile: PhaseTimers) -> float:
    def circuit():
        _layers(angles, entangle=True)
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(WIRES - 1))

    return float(run(qml.QNode(circuit, qml.device("default.qubit", wires=WIRES)), profile))


def richardson_weights(factors: list[int]) -> np.ndarray:
    """Weights c_i with sum c_i f(x_i) = the degree-(n-1) polynomial through the points, at 0."""
    x = np.asarray(factors, dtype=float)
    return np.array([np.prod([x[j] / (x[j] - x[i]) for j in range(len(x)) if j != i]) for i in range(len(x))])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--circuits", type=int, default=5)
    parser.add_argument("--devices", nargs="+", default=["ibm_perth", "iqm_garnet"], help="shipped device models (or files)")
    parser.add_argument("--readout-shots", type=int, default=10_000, help="shots for the counts figure")
    parser.add_argument("--p", type=float, default=0.005)
    parser.add_argument("--shots", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="print the time spent per stage")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    profile = PhaseTimers()

    with tempfile.TemporaryDirectory(prefix="qnas-bench-") as tmp:
        folder = Path(tmp)
        for device in args.devices:  # the same random circuits on every device
            readout_table(device, np.random.default_rng(args.seed), args.circuits, profile, folder)
        counts_line(args.devices[0], np.random.default_rng(args.seed), args.circuits, args.readout_shots, profile)

    errors = []
    for _ in range(args.circuits):
        angles = rng.uniform(0, 2 * np.pi, size=(LAYERS, WIRES))
        exact = exact_value(angles, profile)
        raw, fixed = (float(run(zne_circuit(angles, args.p, zne), profile, "extrapolate (ZNE)")) for zne in (False, True))
        errors.append((abs(raw - exact), abs(fixed - exact)))
    ratios = [raw / fixed for raw, fixed in errors]
    print(f"\nZNE, {WIRES} qubits x {LAYERS} layers, depolarizing p={args.p} after every gate, analytic, "
          f"{args.circuits} random circuits: |error| raw median {statistics.median(r for r, _ in errors):.2e}, "
          f"ZNE median {statistics.median(f for _, f in errors):.2e}; ratio median {statistics.median(ratios):.1f}x, "
          f"worst {min(ratios):.1f}x")

    angles = rng.uniform(0, 2 * np.pi, size=(LAYERS, WIRES))
    spread = {}
    for zne in (False, True):
        estimates = [float(run(zne_circuit(angles, args.p, zne, args.shots, seed=args.seed + i), profile,
                               "extrapolate (ZNE)")) for i in range(args.repeats)]
        spread[zne] = statistics.stdev(estimates)
    weights = richardson_weights(FACTORS)
    print(f"variance cost at {args.shots} shots per circuit ({args.repeats} repeats): std raw {spread[False]:.4f}, "
          f"ZNE {spread[True]:.4f}, ratio {spread[True] / spread[False]:.2f}x; analytic sqrt(sum c^2) = "
          f"{np.sqrt((weights**2).sum()):.2f}x for Richardson weights {np.round(weights, 3).tolist()} "
          f"(ZNE also runs {sum(FACTORS)}x the gates of one circuit)")
    if args.profile:
        print_phases("profile, the stages below", profile.seconds, sum(profile.seconds.values()), rest=None)


if __name__ == "__main__":
    main()
