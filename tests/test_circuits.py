"""Tests for qnas.circuits: every encoding, entangler, gate and measurement runs batched; resource
counts match a hand count; OpenQASM export and drawing work on a built model."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pennylane as qml
import pytest
import torch

from qnas.circuits import (
    GATE_OPS,
    circuit_openqasm,
    circuit_resources,
    draw_circuit,
    entangler_pairs,
    make_qnode,
    weight_shapes,
)
from qnas.models import build_model
from qnas.spec import ANGLE_GATES, GATES, CandidateSpec, EncodingSpec, GateSpec, LayerSpec

BATCH = 5


def torch_layer(spec: CandidateSpec) -> qml.qnn.TorchLayer:
    torch.manual_seed(0)
    return qml.qnn.TorchLayer(make_qnode(spec), weight_shapes(spec))


def first_spec(kind: str, measurement: str, n_qubits: int = 3, reupload: bool = False) -> CandidateSpec:
    return CandidateSpec(
        split="quantum_first",
        n_qubits=n_qubits,
        encoding=EncodingSpec(kind, reupload=reupload),
        layers=(LayerSpec(("RX", "RY"), "ring", "CRZ"), LayerSpec(("RZ",), "full", "CZ")),
        measurement=measurement,
    )


@pytest.mark.parametrize("measurement", ["expval", "probs"])
@pytest.mark.parametrize("n_features", [2, 3, 5])  # fewer, as many and more features than qubits
@pytest.mark.parametrize("kind", ["angle_x", "angle_y", "angle_z", "iqp", "amplitude"])
def test_every_encoding_runs_on_a_batch(kind, n_features, measurement):
    spec = first_spec(kind, measurement, reupload=kind != "amplitude")
    layer = torch_layer(spec)
    x = torch.randn(BATCH, n_features, requires_grad=True)
    out = layer(x)
    assert out.shape == (BATCH, 3 if measurement == "expval" else 8)
    assert torch.isfinite(out).all()
    if measurement == "probs":
        assert torch.allclose(out.sum(dim=1), torch.ones(BATCH), atol=1e-5)
    else:
        assert (out.abs() <= 1 + 1e-5).all()
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
    # Inputs matter for every encoding: another batch gives other outputs. (angle_z needs its
    # Hadamards for this: RZ on |0> alone is a phase no Z measurement can see.)
    assert not torch.allclose(out, layer(torch.randn(BATCH, n_features)))


def test_amplitude_encoding_survives_an_all_zero_input():
    spec = CandidateSpec(
        split="quantum_first",
        n_qubits=2,
        encoding=EncodingSpec("amplitude"),
        layers=(LayerSpec(("RY",), "none"),),
        measurement="probs",
    )
    qnode = make_qnode(spec)
    zero_angles = {"rot0": torch.zeros(1, 2)}
    probs = qnode(inputs=torch.zeros(2, 3, requires_grad=True), **zero_angles)
    assert torch.isfinite(probs).all()
    assert torch.allclose(probs[0], torch.tensor([1.0, 0, 0, 0], dtype=probs.dtype), atol=1e-6)  # |00>


def test_iqp_with_as_many_features_as_qubits_is_pennylanes_iqp_embedding():
    spec = CandidateSpec(
        split="quantum_first",
        n_qubits=3,
        encoding=EncodingSpec("iqp"),
        layers=(LayerSpec(("RY",), "none"),),
        measurement="expval",
    )
    x = torch.tensor([0.3, -0.7, 1.1], dtype=torch.float64)
    ours = make_qnode(spec, measurement="state")(inputs=x, rot0=torch.zeros(1, 3, dtype=torch.float64))

    @qml.qnode(qml.device("default.qubit", wires=3), interface="torch")
    def reference(features):
        qml.IQPEmbedding(features, wires=range(3))
        return qml.state()

    assert torch.allclose(ours, reference(x), atol=1e-10)


def test_entangler_patterns():
    assert entangler_pairs("linear", 4) == [(0, 1), (1, 2), (2, 3)]
    assert entangler_pairs("ring", 4) == [(0, 1), (1, 2), (2, 3), (3, 0)]
    assert entangler_pairs("ring", 2) == [(0, 1)]  # no duplicate (1, 0) pair
    assert entangler_pairs("full", 4) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert entangler_pairs("none", 4) == []
    assert entangler_pairs("full", 1) == []


@pytest.mark.parametrize("gate", ["CNOT", "CZ", "CRZ"])
@pytest.mark.parametrize("entangler", ["none", "linear", "ring", "full"])
def test_every_entangler_and_gate_builds_and_runs(entangler, gate):
    spec = CandidateSpec(
        split="quantum_head",
        n_qubits=4,
        encoding=EncodingSpec("angle_y"),
        layers=(LayerSpec(("RY", "RZ"), entangler, gate),) * 2,
    )
    shapes = weight_shapes(spec)
    n_pairs = len(entangler_pairs(entangler, 4))
    assert shapes["rot0"] == (2, 4)
    assert ("crz1" in shapes) == (gate == "CRZ" and n_pairs > 0)
    if "crz1" in shapes:
        assert shapes["crz1"] == (n_pairs,)
    out = torch_layer(spec)(torch.rand(BATCH, 4))
    assert out.shape == (BATCH, 4)
    resources = circuit_resources(spec, 4)
    # Two layers; a CRZ costs two CNOTs on hardware, CNOT and CZ one each.
    assert resources["two_qubit_gates"] == 2 * n_pairs * (2 if gate == "CRZ" else 1)


def test_resources_match_a_hand_count():
    # 3 qubits: RY encoding on 3 wires, then 2 x (RY on 3 wires + CNOT(0,1), CNOT(1,2)).
    spec = CandidateSpec(
        split="quantum_head",
        n_qubits=3,
        encoding=EncodingSpec("angle_y"),
        layers=(LayerSpec(("RY",), "linear", "CNOT"),) * 2,
    )
    assert circuit_resources(spec, 5) == {"depth": 7, "two_qubit_gates": 4, "n_gates": 3 + 2 * (3 + 2)}
    # Re-uploading adds the encoding before the second layer only: 3 more one-qubit gates.
    reupload = CandidateSpec(
        split="quantum_head",
        n_qubits=3,
        encoding=EncodingSpec("angle_y", reupload=True),
        layers=(LayerSpec(("RY",), "linear", "CNOT"),) * 2,
    )
    assert circuit_resources(reupload, 5)["n_gates"] == 16
    # IQP on 3 wires: 3 H, 3 RZ, 3 ZZ terms of 2 CNOTs + 1 RZ each (run one after another: depth
    # 2 + 3 * 3), then the RY layer (depth 1 more).
    iqp = CandidateSpec(
        split="quantum_head", n_qubits=3, encoding=EncodingSpec("iqp"), layers=(LayerSpec(("RY",), "none"),)
    )
    assert circuit_resources(iqp, 5) == {"depth": 12, "two_qubit_gates": 6, "n_gates": 3 + 3 + 9 + 3}


def test_state_and_observable_measurements():
    spec = CandidateSpec(
        split="quantum_only", n_qubits=2, encoding=EncodingSpec("none"), layers=(LayerSpec(("RY",), "linear", "CNOT"),)
    )
    angles = {"rot0": torch.tensor([[np.pi / 2, 0.0]], dtype=torch.float64)}
    state = make_qnode(spec, measurement="state")(**angles)
    bell = torch.tensor([1, 0, 0, 1], dtype=torch.complex128) / np.sqrt(2)
    assert torch.allclose(state, bell, atol=1e-10)
    zz = make_qnode(spec, measurement=qml.PauliZ(0) @ qml.PauliZ(1))(**angles)
    assert float(zz) == pytest.approx(1.0)
    probs = make_qnode(dataclasses.replace(spec, measurement="probs"))(**angles)
    assert torch.allclose(probs, torch.tensor([0.5, 0, 0, 0.5], dtype=probs.dtype), atol=1e-10)


def test_openqasm_and_drawing_of_a_classifier(tmp_path):
    spec = CandidateSpec(
        split="quantum_head",
        n_qubits=2,
        pre_layers=(3,),
        encoding=EncodingSpec("angle_x"),
        layers=(LayerSpec(("RY",), "linear", "CRZ"),),
    )
    config = {
        "kind": "classifier",
        "spec": spec.to_dict(),
        "n_features": 4,
        "n_outputs": 2,
        "class_names": ["a", "b"],
        "feature_names": list("wxyz"),
    }
    torch.manual_seed(0)
    model = build_model(config)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    qasm = circuit_openqasm(model, x)
    assert qasm.startswith("OPENQASM 2.0;")
    assert "qreg q[2];" in qasm and "crz(" in qasm and qasm.count("rx(") == 2 and qasm.count("ry(") == 2
    # The encoded angles are the model's own quantum inputs for the first row.
    encoded = model.quantum_inputs(torch.as_tensor(x))[0].tolist()
    rx_angles = [float(a) for a in re.findall(r"rx\(([-0-9.e]+)\)", qasm)]
    assert rx_angles == pytest.approx(encoded, abs=1e-6)
    path = tmp_path / "circuit.png"
    draw_circuit(model, x, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_openqasm_of_a_quantum_only_model():
    spec = CandidateSpec(
        split="quantum_only", n_qubits=2, encoding=EncodingSpec("none"), layers=(LayerSpec(("RY",), "linear", "CNOT"),)
    )
    config = {
        "kind": "state",
        "spec": spec.to_dict(),
        "n_features": 0,
        "n_outputs": 4,
        "class_names": [],
        "feature_names": [],
    }
    qasm = circuit_openqasm(build_model(config), None)
    assert qasm.count("ry(") == 2 and "cx q[0],q[1];" in qasm


def gate_spec(*gates: GateSpec, n_qubits: int = 2, layers: tuple[LayerSpec, ...] = ()) -> CandidateSpec:
    return CandidateSpec(split="quantum_only", n_qubits=n_qubits, encoding=EncodingSpec("none"), layers=layers,
                         gates=gates)


def test_bell_gates_prepare_the_bell_state():
    spec = gate_spec(GateSpec("H", (0,)), GateSpec("CNOT", (0, 1)))
    assert weight_shapes(spec) == {}
    state = make_qnode(spec, measurement="state")()
    bell = torch.tensor([1, 0, 0, 1], dtype=torch.complex128) / np.sqrt(2)
    assert torch.allclose(state, bell, atol=1e-12)
    assert circuit_resources(spec) == {"depth": 2, "two_qubit_gates": 1, "n_gates": 2}


def _rotation(pauli: np.ndarray, angle: float) -> np.ndarray:
    return np.cos(angle / 2) * np.eye(2) - 1j * np.sin(angle / 2) * pauli


X = np.array([[0, 1], [1, 0]])
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1, -1])
P0, P1 = np.diag([1, 0]), np.diag([0, 1])
ANGLE = 0.3
EXPECTED = {  # (matrix, wires) in PennyLane's order: wire 0 is the most significant qubit
    "H": (np.array([[1, 1], [1, -1]]) / np.sqrt(2), (0,)),
    "X": (X, (0,)),
    "Y": (Y, (0,)),
    "Z": (Z, (0,)),
    "S": (np.diag([1, 1j]), (0,)),
    "T": (np.diag([1, np.exp(1j * np.pi / 4)]), (0,)),
    "RX": (_rotation(X, ANGLE), (0,)),
    "RY": (_rotation(Y, ANGLE), (0,)),
    "RZ": (_rotation(Z, ANGLE), (0,)),
    "CNOT": (np.kron(P0, np.eye(2)) + np.kron(P1, X), (0, 1)),
    "CZ": (np.diag([1, 1, 1, -1]), (0, 1)),
    "CRZ": (np.kron(P0, np.eye(2)) + np.kron(P1, _rotation(Z, ANGLE)), (0, 1)),
}


@pytest.mark.parametrize(
    ("name", "trainable"), [(name, False) for name in GATES] + [(name, True) for name in ANGLE_GATES]
)
def test_every_gate_is_the_textbook_unitary(name, trainable):
    assert set(GATE_OPS) == set(GATES) == set(EXPECTED)
    matrix, wires = EXPECTED[name]
    gate = GateSpec(name, wires, None if trainable or name not in ANGLE_GATES else ANGLE)
    spec = gate_spec(gate, n_qubits=len(wires))
    weights = {"gate_angles": torch.tensor([ANGLE], dtype=torch.float64)} if gate.trainable else {}
    assert weight_shapes(spec) == {name: value.shape for name, value in weights.items()}
    unitary = qml.matrix(make_qnode(spec, measurement="state"), wire_order=range(len(wires)))(**weights)
    assert np.allclose(np.asarray(unitary), matrix, atol=1e-12)


def test_gates_follow_the_layers_and_take_their_angles_in_order():
    layer = LayerSpec(("RY",), "linear", "CRZ")
    gates = (GateSpec("RX", (0,)), GateSpec("RZ", (1,), np.pi / 4), GateSpec("CRZ", (1, 0)), GateSpec("T", (0,)))
    spec = gate_spec(*gates, layers=(layer,))
    assert weight_shapes(spec) == {"rot0": (1, 2), "crz0": (1,), "gate_angles": (2,)}
    weights = {
        "rot0": torch.tensor([[0.1, 0.2]], dtype=torch.float64, requires_grad=True),
        "crz0": torch.tensor([0.3], dtype=torch.float64, requires_grad=True),
        "gate_angles": torch.tensor([0.4, 0.5], dtype=torch.float64, requires_grad=True),
    }

    @qml.qnode(qml.device("default.qubit", wires=2), interface="torch")
    def by_hand():
        qml.RY(0.1, wires=0)
        qml.RY(0.2, wires=1)
        qml.CRZ(0.3, wires=[0, 1])
        qml.RX(0.4, wires=0)
        qml.RZ(np.pi / 4, wires=1)
        qml.CRZ(0.5, wires=[1, 0])
        qml.T(wires=0)
        return qml.state()

    state = make_qnode(spec, measurement="state")(**weights)
    assert torch.allclose(state, by_hand(), atol=1e-12)
    state.real.sum().backward()
    assert weights["gate_angles"].grad is not None and torch.all(weights["gate_angles"].grad != 0)
    # A CRZ is charged its two CNOTs (plus two RZ), as in a layer.
    assert circuit_resources(spec)["two_qubit_gates"] == 2 + 2


def test_a_classifier_trains_its_gate_angles_on_a_batch():
    spec = CandidateSpec(
        split="quantum_first", n_qubits=2, encoding=EncodingSpec("angle_y"), layers=(),
        gates=(GateSpec("RY", (0,)), GateSpec("CNOT", (0, 1)), GateSpec("RX", (1,))),
    )
    layer = torch_layer(spec)
    assert dict(layer.qnode_weights)["gate_angles"].shape == (2,)
    out = layer(torch.randn(BATCH, 2))
    assert out.shape == (BATCH, 2)
    out.sum().backward()
    assert torch.isfinite(dict(layer.qnode_weights)["gate_angles"].grad).all()


def test_openqasm_of_a_gate_level_model():
    spec = gate_spec(GateSpec("H", (0,)), GateSpec("CNOT", (0, 1)), GateSpec("RZ", (1,), np.pi / 4),
                     GateSpec("RY", (1,)), GateSpec("S", (0,)))
    config = {"kind": "state", "spec": spec.to_dict(), "n_features": 0, "n_outputs": 4, "class_names": [],
              "feature_names": []}
    torch.manual_seed(0)
    model = build_model(config)
    qasm = circuit_openqasm(model, None)
    trained = model.weights["gate_angles"][0].item()
    assert "h q[0];\ncx q[0],q[1];\nrz(0.7853981633974483) q[1];\n" in qasm
    assert f"ry({trained}) q[1];\ns q[0];" in qasm
