"""A noisy simulator of a real device, built from its calibration data (`qnas.calibration`).

The device is `default.mixed` on the layout's physical qubits, and a PennyLane transform turns
each ideal circuit into what the device would run:

1. measurements are rotated into the computational basis (`split_non_commuting`,
   `diagonalize_measurements`), since hardware only reads Z;
2. gates are decomposed to RX/RY/RZ/H/X/PhaseShift + CNOT/CZ (`NATIVE_GATES`);
3. optional zero-noise extrapolation folds this native circuit (`qnas.mitigation.zne`);
4. the circuit is routed onto the coupling map (`qnas.routing`), SWAPs as three CNOTs;
5. after every gate: a depolarizing channel and a thermal-relaxation channel (T1, T2, gate time)
   on each of its qubits; RZ and PhaseShift are virtual (a frame change: no time, no error), as on
   IBM, IQM and IonQ hardware;
6. before measurement: a bit flip with the qubit's readout error on each measured qubit
   (`default.mixed(readout_prob=...)` is broken in PennyLane 0.45);
7. optional readout-error mitigation (`qnas.mitigation.readout`) corrects the measured
   probabilities with assignment matrices measured on this same noisy device (device option
   ``readout_method``: per_qubit, tensored or full), or with a stored calibration passed as the
   device option ``readout_calibration`` (what `qnas.load` does with an export's calibration).

The depolarizing strength is the calibrated gate error minus what relaxation over the gate
time already explains (floored at 0), so a gate's total infidelity matches the calibration, as in
qiskit-aer's `NoiseModel.from_backend`. A two-qubit gate's depolarizing part is applied as one
single-qubit depolarizing channel per qubit with half the remaining process infidelity each: `default.mixed` then
stays cheap, at the cost of missing correlated two-qubit errors. Idle qubits get no noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pennylane as qml
from pennylane.tape import QuantumScript

from qnas.calibration import DeviceCalibration, load_calibration
from qnas.devices import DeviceConfig
from qnas.mitigation.readout import mitigate_readout
from qnas.mitigation.readout_calibration import ReadoutCalibration, basis_preparations, readout_groups
from qnas.mitigation.zne import with_zne
from qnas.routing import RoutedCircuit, choose_layout, route
from qnas.spec import CalibrationSpec

NATIVE_GATES = {"PauliX", "RX", "RY", "RZ", "Hadamard", "PhaseShift", "CNOT", "CZ"}
VIRTUAL_GATES = {"RZ", "PhaseShift"}
DIAGONAL_MEASUREMENTS = (qml.measurements.ProbabilityMP, qml.measurements.SampleMP, qml.measurements.CountsMP)


def relaxation_infidelity(duration_ns: float, t1_ns: float, t2_ns: float) -> float:
    """Average gate infidelity of T1/T2 relaxation over `duration_ns`: 1 - (2 F_process + 1) / 3."""
    process = (1 + 2 * math.exp(-duration_ns / t2_ns) + math.exp(-duration_ns / t1_ns)) / 4
    return 1 - (2 * process + 1) / 3


def _qubit_noise(calibration: DeviceCalibration, wire: int, duration_ns: float, depolarizing: float) -> list:
    qubit = calibration.qubits[wire]
    channels = []
    if depolarizing > 0:
        channels.append(qml.DepolarizingChannel(min(depolarizing, 0.75), wires=wire))
    if duration_ns > 0:
        channels.append(qml.ThermalRelaxationError(0.0, qubit.t1_ns, qubit.t2_ns, duration_ns, wires=wire))
    return channels


def gate_noise(op: qml.operation.Operator, calibration: DeviceCalibration) -> list:
    """The noise channels that follow `op` (on physical wires) on this device."""
    if op.name in VIRTUAL_GATES:
        return []
    wires = [int(w) for w in op.wires]
    if len(wires) == 1:
        q = calibration.qubits[wires[0]]
        excess = q.gate_error_1q - relaxation_infidelity(q.gate_time_1q_ns, q.t1_ns, q.t2_ns)
        # PennyLane's DepolarizingChannel(p) has average infidelity 2p/3.
        return _qubit_noise(calibration, wires[0], q.gate_time_1q_ns, 1.5 * max(0.0, excess))
    coupler = calibration.coupler(*wires)
    duration = coupler.gate_time_2q_ns
    # Independent channels multiply process fidelities, so budget in process infidelity:
    # e = (d + 1) / d * r, i.e. 5/4 r for two qubits and 3/2 r for one.
    relaxed = sum(
        1.5 * relaxation_infidelity(duration, calibration.qubits[w].t1_ns, calibration.qubits[w].t2_ns) for w in wires
    )
    per_qubit = max(0.0, 1.25 * coupler.gate_error_2q - relaxed) / 2
    return [channel for w in wires for channel in _qubit_noise(calibration, w, duration, per_qubit)]


def _readout_wires(measurements: Sequence[qml.measurements.MeasurementProcess]) -> list[int]:
    """Wires measured in the computational basis (Z-word expectations, probabilities, samples)."""
    wires: list[int] = []
    for mp in measurements:
        diagonal = isinstance(mp, DIAGONAL_MEASUREMENTS) and mp.obs is None
        if isinstance(mp, qml.measurements.ExpectationMP) and mp.obs is not None and mp.obs.pauli_rep is not None:
            diagonal = all(set(word.values()) <= {"Z"} for word in mp.obs.pauli_rep)
        if diagonal:
            wires += [int(w) for w in mp.wires if int(w) not in wires]
    return wires


@qml.transform
def device_noise(
    tape: QuantumScript, calibration: DeviceCalibration, layout: Sequence[int]
) -> tuple[list[QuantumScript], Any]:
    """Route `tape` (native gates on logical wires 0..n-1) onto `layout` and add the device's noise."""
    routed: RoutedCircuit = route(tape.operations, layout, calibration)
    operations: list[qml.operation.Operator] = []
    for op in routed.operations:
        operations.append(op)
        operations += gate_noise(op, calibration)
    measurements = [mp.map_wires(routed.final_layout) for mp in tape.measurements]
    flips = [qml.BitFlip(calibration.qubits[w].readout_error, wires=w) for w in _readout_wires(measurements)]
    return [QuantumScript(operations + flips, measurements, shots=tape.shots)], lambda results: results[0]


def _native(qnode: qml.QNode) -> qml.QNode:
    """Measurements in the Z basis, gates in NATIVE_GATES (steps 1-2 of the module docstring)."""
    qnode = qml.transforms.split_non_commuting(qnode)
    qnode = qml.transforms.diagonalize_measurements(qnode)
    return qml.transforms.decompose(qnode, gate_set=NATIVE_GATES)


def noisy_qnode(
    qfunc: Any,
    n_qubits: int,
    device: DeviceConfig,
    settings: CalibrationSpec,
    *,
    shots: int | None = None,
    diagonal_readout: bool = True,
) -> qml.QNode:
    """A torch QNode of `qfunc` (on logical wires 0..n-1) as the calibrated device runs it.

    `diagonal_readout=False` skips the measurement-basis rotation for measurements that have none
    (a state or a projector on a target state), which are then read without readout error.
    """
    calibration = load_calibration(device.options["calibration"])
    layout = choose_layout(settings.layout, n_qubits, calibration)
    dev = qml.device("default.mixed", wires=list(layout), seed=device.options.get("seed"))
    backprop = shots is None
    qnode = qml.QNode(qfunc, dev, interface="torch", diff_method="backprop" if backprop else "best", shots=shots)
    if diagonal_readout:
        qnode = _native(qnode)
    else:
        qnode = qml.transforms.decompose(qnode, gate_set=NATIVE_GATES)
    if settings.zne_factors:
        qnode = with_zne(qnode, settings.zne_factors, settings.zne_method)
    qnode = device_noise(qnode, calibration=calibration, layout=layout)
    if settings.readout_mitigation and diagonal_readout:
        qnode = mitigate_readout(qnode, calibration=device_readout(device, calibration, layout, shots))
    return qnode


def device_readout(
    device: DeviceConfig, calibration: DeviceCalibration, layout: Sequence[int], shots: int | None
) -> ReadoutCalibration:
    """The device option `readout_calibration` (checked against this device and layout), or one measured now."""
    stored = device.options.get("readout_calibration")
    if stored is None:
        method = device.options.get("readout_method", "per_qubit")
        return readout_calibration(calibration, layout, shots, device.options.get("seed"), method)
    readout = ReadoutCalibration.from_dict(stored, where="device option readout_calibration")
    readout.check_device(calibration, layout)
    return readout


def readout_calibration(
    calibration: DeviceCalibration, layout: Sequence[int], shots: int | None, seed: int | None,
    method: str = "per_qubit",
) -> ReadoutCalibration:
    """Assignment matrices of the layout's qubits, measured on the device by preparing basis states
    with X gates (which carry their own gate noise, as on hardware), blocks as `method` says."""
    logical = readout_groups(method, range(len(layout)))
    dev = qml.device("default.mixed", wires=list(layout), seed=seed)

    def prepare(flips: list[int]) -> list:
        for wire in flips:
            qml.PauliX(wire)
        return [qml.probs(wires=list(group)) for group in logical]

    qnode = device_noise(qml.QNode(prepare, dev, shots=shots), calibration=calibration, layout=layout)
    measured = [qnode(flips) for flips in basis_preparations(logical)]
    physical = [tuple(int(layout[w]) for w in group) for group in logical]
    return ReadoutCalibration.from_measurements(method, physical, measured, calibration, shots)


def routed_resources(
    spec: Any, device: DeviceConfig, n_features: int | None, reference_state: tuple[int, ...] | None = None
) -> dict[str, int]:
    """Two-qubit gates (SWAPs as three CNOTs) and SWAPs of `spec` on the device after routing."""
    from qnas.circuits import make_qfunc, representative_inputs

    calibration = load_calibration(device.options["calibration"])
    layout = choose_layout(spec.calibration.layout, spec.n_qubits, calibration)
    qfunc = make_qfunc(spec, qml.state, reference_state)
    tape = qml.tape.make_qscript(qfunc)(**representative_inputs(spec, n_features))
    [native], _ = qml.transforms.decompose(tape, gate_set=NATIVE_GATES)
    routed = route(native.operations, layout, calibration)
    return {"two_qubit_gates_routed": routed.two_qubit_gates, "swaps": routed.swaps}


def spec_readout(spec: Any, device: DeviceConfig) -> ReadoutCalibration:
    """The readout calibration `spec` runs with on the noisy `device`: over its layout, stored or measured now."""
    calibration = load_calibration(device.options["calibration"])
    layout = choose_layout(spec.calibration.layout, spec.n_qubits, calibration)
    return device_readout(device, calibration, layout, spec.calibration.shots)
