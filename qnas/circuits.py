"""The PennyLane circuit of a CandidateSpec: encoding, ansatz layers, explicit gates, measurement; and its cost.

One quantum function serves every use: training (batched, backprop on `default.qubit`), scoring
with finite shots or on another device, resource counting, OpenQASM export and drawing. The
function's trainable weights are keyword arguments named by `weight_shapes(spec)`:

- ``rot{l}``: shape (len(layer.rotations), n_qubits), one angle per rotation gate and wire;
- ``crz{l}``: shape (n_pairs,), one angle per entangling pair when the layer's gate is CRZ;
- ``gate_angles``: shape (k,), one angle per trainable gate of `spec.gates`, in gate order.

The explicit gates (`spec.gates`) follow the layers; the data is not re-uploaded before them.

Encodings, for d input features on n wires:

- angle_x/y/z: feature j rotates wire j % n (`qml.AngleEmbedding` when d <= n, so extra wires
  start in |0>; when d > n, features wrap around and rotations on a wire add up). angle_z puts a
  Hadamard on each encoded wire first, as Qiskit's ZFeatureMap does: RZ on |0> is only a phase
  and would hide the data from every Z measurement.
- iqp: the IQP / ZZ feature map `qml.IQPEmbedding` (H, RZ(x_i), MultiRZ(x_i x_j) on all pairs)
  when d == n. Otherwise a cyclic variant feeds `qml.IQPEmbedding` the n-vector z with
  z_w = x_(w mod d) when d < n (features repeat), and z_w = sum of x_j over j = w (mod n) when
  d > n (the RZ part then equals one RZ(x_j) per feature on wire j % n).
- amplitude: `qml.AmplitudeEmbedding` (zero-padded to 2**n, normalized). A tiny constant on the
  first amplitude keeps an all-zero input from dividing by zero (it becomes |0...0>).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pennylane as qml
import torch
from pennylane.tape import QuantumScript

from qnas.devices import DeviceConfig, make_device
from qnas.errors import SpecError
from qnas.spec import CandidateSpec, GateSpec

AMPLITUDE_EPS = 1e-8

RESOURCE_GATE_SET = {"PauliX", "RX", "RY", "RZ", "Hadamard", "PhaseShift", "CNOT", "CZ"}
"""Gates resources are counted in, so templates (IQP's MultiRZ, amplitude state preparation) and
CRZ (two CNOTs) are charged their CNOTs as on hardware rather than as one opaque gate."""

GATE_OPS: dict[str, type[qml.operation.Operation]] = {
    "H": qml.Hadamard,
    "X": qml.PauliX,
    "Y": qml.PauliY,
    "Z": qml.PauliZ,
    "S": qml.S,
    "T": qml.T,
    "RX": qml.RX,
    "RY": qml.RY,
    "RZ": qml.RZ,
    "CNOT": qml.CNOT,
    "CZ": qml.CZ,
    "CRZ": qml.CRZ,
}
"""The PennyLane operation of each gate name in qnas.spec (GATES, layer rotations and entangling gates)."""


def entangler_pairs(pattern: str, n_qubits: int) -> list[tuple[int, int]]:
    """Wire pairs of an entangler pattern: linear chain, ring (chain closed when n > 2), all pairs."""
    if pattern == "none" or n_qubits < 2:
        return []
    linear = [(i, i + 1) for i in range(n_qubits - 1)]
    if pattern == "linear":
        return linear
    if pattern == "ring":
        return linear + [(n_qubits - 1, 0)] if n_qubits > 2 else linear
    if pattern == "full":
        return [(i, j) for i in range(n_qubits) for j in range(i + 1, n_qubits)]
    raise SpecError(f"entangler = {pattern!r} is not a known pattern.")


def weight_shapes(spec: CandidateSpec) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the circuit's trainable angles (see the module docstring)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for index, layer in enumerate(spec.layers):
        shapes[f"rot{index}"] = (len(layer.rotations), spec.n_qubits)
        pairs = entangler_pairs(layer.entangler, spec.n_qubits)
        if layer.entangling_gate == "CRZ" and pairs:
            shapes[f"crz{index}"] = (len(pairs),)
    trainable = sum(gate.trainable for gate in spec.gates)
    if trainable:
        shapes["gate_angles"] = (trainable,)
    return shapes


def _apply_gates(gates: tuple[GateSpec, ...], angles: Any) -> None:
    """Apply explicit gates; trainable ones take the next entry of `angles`, fixed ones their own angle."""
    k = 0
    for gate in gates:
        op = GATE_OPS[gate.name]
        wires = list(gate.wires)
        if gate.trainable:
            op(angles[k], wires=wires)
            k += 1
        elif gate.angle is not None:
            op(gate.angle, wires=wires)
        else:
            op(wires=wires)


def encoding_input_size(spec: CandidateSpec, n_features: int | None) -> int:
    """Features the encoding reads: the raw features for quantum_first, else spec.quantum_input_size."""
    if spec.split == "quantum_only":
        return 0
    if spec.split == "quantum_first":
        if n_features is None or n_features < 1:
            raise SpecError(
                f"split = 'quantum_first' encodes the raw features, so n_features must be >= 1 (got {n_features!r})."
            )
        if spec.encoding.kind == "amplitude" and n_features > 2**spec.n_qubits:
            raise SpecError(
                f"amplitude encoding on {spec.n_qubits} qubits holds at most {2**spec.n_qubits} features, "
                f"but the task has {n_features}; raise n_qubits to at least {int(np.ceil(np.log2(n_features)))} "
                "or use split = 'quantum_head' so a classical layer compresses the features first."
            )
        return n_features
    return spec.quantum_input_size


def encode(kind: str, inputs: Any, n_qubits: int) -> None:
    """Apply the data encoding `kind` to `inputs` (shape (..., d)) on wires 0..n-1."""
    wires = list(range(n_qubits))
    d = inputs.shape[-1]
    if kind in ("angle_x", "angle_y", "angle_z"):
        axis = kind[-1].upper()
        if axis == "Z":
            for wire in wires[: min(d, n_qubits)]:
                qml.Hadamard(wires=wire)
        if d <= n_qubits:
            qml.AngleEmbedding(inputs, wires=wires, rotation=axis)
        else:
            gate = {"X": qml.RX, "Y": qml.RY, "Z": qml.RZ}[axis]
            for j in range(d):
                gate(inputs[..., j], wires=j % n_qubits)
    elif kind == "iqp":
        if d != n_qubits:
            if d < n_qubits:
                columns = [inputs[..., w % d] for w in range(n_qubits)]
            else:
                columns = [sum(inputs[..., j] for j in range(w, d, n_qubits)) for w in range(n_qubits)]
            inputs = qml.math.stack(columns, axis=-1)
        qml.IQPEmbedding(inputs, wires=wires)
    elif kind == "amplitude":
        shifted = qml.math.concatenate([inputs[..., :1] + AMPLITUDE_EPS, inputs[..., 1:]], axis=-1)
        qml.AmplitudeEmbedding(shifted, wires=wires, pad_with=0.0, normalize=True)
    else:
        raise SpecError(f"encoding.kind = {kind!r} cannot encode data.")


def make_qfunc(
    spec: CandidateSpec,
    measure: Callable[[], Any],
    reference_state: tuple[int, ...] | None = None,
    encoding: Callable[[str, Any, int], None] = encode,
) -> Callable[..., Any]:
    """The quantum function `circuit(inputs=None, **weights)` of `spec`: layers, then gates, then `measure()`.

    `reference_state` (VQE) is a basis state prepared with X gates before the ansatz. `encoding`
    applies the data encoding; the exported programs pass their own (`qnas.circuit_inputs`).
    """
    flipped = [wire for wire, bit in enumerate(reference_state or ()) if bit]
    n = spec.n_qubits
    kind = spec.encoding.kind
    has_data = spec.split != "quantum_only"
    layers = [(layer, entangler_pairs(layer.entangler, n)) for layer in spec.layers]

    def circuit(inputs=None, **weights):
        for wire in flipped:
            qml.PauliX(wires=wire)
        if has_data:
            encoding(kind, inputs, n)
        for index, (layer, pairs) in enumerate(layers):
            if has_data and index > 0 and spec.encoding.reupload:
                encoding(kind, inputs, n)
            angles = weights[f"rot{index}"]
            for r, name in enumerate(layer.rotations):
                for wire in range(n):
                    GATE_OPS[name](angles[r, wire], wires=wire)
            for k, pair in enumerate(pairs):
                if layer.entangling_gate == "CRZ":
                    qml.CRZ(weights[f"crz{index}"][k], wires=list(pair))
                else:
                    GATE_OPS[layer.entangling_gate](wires=list(pair))
        _apply_gates(spec.gates, weights.get("gate_angles"))
        return measure()

    return circuit


def measurement_fn(spec: CandidateSpec, measurement: Any = "spec") -> Callable[[], Any]:
    """What the circuit returns: "spec" (expval Z per wire, or probs), "state", or an observable's expval."""
    wires = list(range(spec.n_qubits))
    if isinstance(measurement, str):
        if measurement == "state":
            return qml.state
        if measurement == "spec":
            if spec.measurement == "probs":
                return lambda: qml.probs(wires=wires)
            return lambda: [qml.expval(qml.PauliZ(w)) for w in wires]
        raise SpecError(f"measurement = {measurement!r} is not allowed; use 'spec', 'state' or an observable.")
    return lambda: qml.expval(measurement)


def make_qnode(
    spec: CandidateSpec,
    *,
    device: DeviceConfig | None = None,
    shots: int | None = None,
    measurement: Any = "spec",
    reference_state: tuple[int, ...] | None = None,
):
    """A torch QNode of `spec` on `device` (ideal `default.qubit` when None).

    Analytic runs on `default.qubit`/`default.mixed` use backprop, which differentiates a whole
    batch in one pass; anything else lets PennyLane pick ("best"). On the `noisy` device the QNode
    runs the spec's circuit as that device would, with its calibration settings
    (`qnas.noise_model.noisy_qnode`).
    """
    device = device or DeviceConfig()
    qfunc = make_qfunc(spec, measurement_fn(spec, measurement), reference_state)
    if device.name == "noisy":
        from qnas.noise_model import noisy_qnode

        # Pauli observables are measured in a rotated Z basis; a state or a projector has no readout
        # basis and is read from the density matrix.
        pauli = measurement == "spec" if isinstance(measurement, str) else measurement.pauli_rep is not None
        return noisy_qnode(qfunc, spec.n_qubits, device, spec.calibration, shots=shots, diagonal_readout=pauli)
    device.check_shots(shots)
    dev = make_device(device, spec.n_qubits)
    backprop = shots is None and device.name in ("default.qubit", "default.mixed")
    return qml.QNode(qfunc, dev, interface="torch", diff_method="backprop" if backprop else "best", shots=shots)


def representative_inputs(spec: CandidateSpec, n_features: int | None) -> dict[str, Any]:
    """One fixed, non-degenerate input and weight set for counting gates.

    Inputs alternate in sign and avoid zero: amplitude encoding's state preparation skips its
    phase cascade for all-positive amplitudes, which would undercount real (standardized) data.
    """
    kwargs: dict[str, Any] = {
        name: torch.full(shape, 0.1, dtype=torch.float64) for name, shape in weight_shapes(spec).items()
    }
    size = encoding_input_size(spec, n_features)
    if size:
        signs = (-1.0) ** torch.arange(size, dtype=torch.float64)
        kwargs["inputs"] = torch.linspace(0.1, 1.0, size, dtype=torch.float64) * signs
    return kwargs


def circuit_resources(
    spec: CandidateSpec, n_features: int | None = None, reference_state: tuple[int, ...] | None = None
) -> dict[str, int]:
    """Depth, two-qubit gate count and gate count of `spec` compiled to RESOURCE_GATE_SET."""
    qnode = make_qnode(spec, measurement="state", reference_state=reference_state)
    compiled = qml.transforms.decompose(qnode, gate_set=RESOURCE_GATE_SET)
    resources = qml.specs(compiled, level="device")(**representative_inputs(spec, n_features)).resources
    sizes = dict(resources.gate_sizes)
    return {
        "depth": int(resources.depth),
        "two_qubit_gates": int(sum(count for size, count in sizes.items() if size >= 2)),
        "n_gates": int(resources.num_gates),
    }


def _ideal_call(model: Any, x: Any) -> tuple[Any, dict[str, Any]]:
    """The ideal QNode of a built model and the keyword arguments for its first sample."""
    spec = model.spec
    qnode = make_qnode(
        spec,
        measurement="state" if spec.split == "quantum_only" else "spec",
        reference_state=getattr(model, "reference_state", None),
    )
    kwargs = {name: value.detach() for name, value in model.circuit_weights().items()}
    if spec.split != "quantum_only":
        if x is None:
            raise SpecError("a classifier's circuit depends on its input: pass x (a batch of raw features).")
        kwargs["inputs"] = encoded_rows(model, x)[0]
    return qnode, kwargs


def _export_tape(model: Any, inputs: Any) -> QuantumScript:
    """The tape the OpenQASM files are written from: trained angles as numbers, `inputs` as given."""
    from qnas.circuit_inputs import export_encode

    spec = model.spec
    measure = measurement_fn(spec, "state" if spec.split == "quantum_only" else "spec")
    qfunc = make_qfunc(spec, measure, getattr(model, "reference_state", None), encoding=export_encode)
    weights = {name: value.detach().double().numpy() for name, value in model.circuit_weights().items()}
    return qml.tape.make_qscript(qfunc)(inputs=inputs, **weights)


def circuit_openqasm(model: Any, x: Any = None) -> str:
    """OpenQASM 2.0 of the ideal quantum block for the first sample of `x` (None for quantum_only).

    OpenQASM 2 has no inputs, so the first sample's encoded values are baked in.
    """
    from qnas.circuit_inputs import input_values
    from qnas.openqasm import tape_openqasm

    spec = model.spec
    inputs = None
    if spec.split != "quantum_only":
        if x is None:
            raise SpecError("a classifier's circuit depends on its input: pass x (a batch of raw features).")
        inputs = input_values(spec, encoded_rows(model, x)[:1])[0]
    return tape_openqasm(_export_tape(model, inputs), version=2, wires=range(spec.n_qubits))


def circuit_openqasm3(model: Any) -> str:
    """OpenQASM 3.0 of the ideal quantum block, its encoded features as `input float[64]` (qnas.circuit_inputs)."""
    from qnas.circuit_inputs import input_names
    from qnas.openqasm import input_array, tape_openqasm

    spec = model.spec
    names = input_names(spec, getattr(model, "n_encoded", 0))
    tape = _export_tape(model, input_array(names) if names else None)
    return tape_openqasm(tape, version=3, inputs=names, wires=range(spec.n_qubits))


def encoded_rows(model: Any, x: Any) -> torch.Tensor:
    """The quantum block's inputs for raw feature rows `x`, as the model computes them, in float64."""
    with torch.no_grad():
        return model.quantum_inputs(torch.as_tensor(np.asarray(x), dtype=torch.float32)).double()


def circuit_text(model: Any, x: Any = None, decimals: int | None = 2) -> str:
    """Text drawing (`qml.draw`) of the same circuit, for Markdown notes and terminals."""
    qnode, kwargs = _ideal_call(model, x)
    return qml.draw(qnode, decimals=decimals, max_length=100)(**kwargs)


def draw_circuit(model: Any, x: Any, path: str | os.PathLike[str]) -> None:
    """Save a drawing of the ideal quantum block for the first sample of `x` as a PNG at `path`."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display is needed or assumed
    import matplotlib.pyplot as plt

    qnode, kwargs = _ideal_call(model, x)
    fig, _ = qml.draw_mpl(qnode, decimals=2)(**kwargs)
    try:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    finally:
        plt.close(fig)
