"""Tests for qnas.models: every split builds with the right shapes, the model_config + safetensors
round trip rebuilds the same model, energy and state models compute what they claim."""

from __future__ import annotations

import json

import numpy as np
import pennylane as qml
import pytest
import safetensors.torch
import torch

from qnas.devices import DeviceConfig
from qnas.errors import SpecError
from qnas.models import build_model, count_parameters
from qnas.spec import CandidateSpec, EncodingSpec, GateSpec, LayerSpec

N_FEATURES = 5


def classifier_config(spec: CandidateSpec, n_outputs: int = 3) -> dict:
    return {
        "kind": "classifier",
        "spec": spec.to_dict(),
        "n_features": N_FEATURES,
        "n_outputs": n_outputs,
        "class_names": [f"c{i}" for i in range(n_outputs)],
        "feature_names": [f"f{i}" for i in range(N_FEATURES)],
    }


def quantum_only(n_qubits: int = 2, layers: int = 1) -> CandidateSpec:
    return CandidateSpec(
        split="quantum_only",
        n_qubits=n_qubits,
        encoding=EncodingSpec("none"),
        layers=(LayerSpec(("RY",), "linear", "CNOT"),) * layers,
    )


SPLITS = {
    "quantum_first": dict(split="quantum_first", encoding=EncodingSpec("angle_y"), post_layers=(4,)),
    "quantum_head": dict(split="quantum_head", pre_layers=(6,), encoding=EncodingSpec("iqp", reupload=True)),
    "quantum_middle": dict(
        split="quantum_middle",
        pre_layers=(6, 4),
        post_layers=(4,),
        encoding=EncodingSpec("amplitude"),
        measurement="probs",
    ),
}


@pytest.mark.parametrize("split", sorted(SPLITS))
def test_classifier_shapes_and_plain_state_dict(split):
    spec = CandidateSpec(n_qubits=3, layers=(LayerSpec(("RX", "RY"), "ring", "CRZ"),), **SPLITS[split])
    torch.manual_seed(0)
    model = build_model(json.loads(json.dumps(classifier_config(spec))))
    logits = model(torch.randn(7, N_FEATURES))
    assert logits.shape == (7, 3)
    state = model.state_dict()
    assert {"feature_mean", "feature_std", "quantum.rot0", "quantum.crz0"} <= set(state)
    assert all(isinstance(t, torch.Tensor) and t.layout == torch.strided for t in state.values())


def test_count_parameters_matches_a_hand_count():
    # quantum_head, 2 qubits, pre [3]: Linear(5,3) + Linear(3,2) | RY+RZ on 2 wires, 1 CRZ | Linear(2,3)
    spec = CandidateSpec(
        split="quantum_head",
        n_qubits=2,
        pre_layers=(3,),
        encoding=EncodingSpec("angle_x"),
        layers=(LayerSpec(("RY", "RZ"), "linear", "CRZ"),),
    )
    model = build_model(classifier_config(spec))
    assert count_parameters(model) == (5 * 3 + 3) + (3 * 2 + 2) + (2 * 2 + 1) + (2 * 3 + 3)


def test_gate_level_models_hold_one_weight_per_trainable_gate(tmp_path):
    gates = (GateSpec("RY", (0,)), GateSpec("CRZ", (0, 1)), GateSpec("RZ", (1,), 0.5), GateSpec("H", (2,)))
    classifier = CandidateSpec(split="quantum_first", n_qubits=3, encoding=EncodingSpec("angle_y"), gates=gates)
    torch.manual_seed(0)
    model = build_model(classifier_config(classifier))
    assert model.state_dict()["quantum.gate_angles"].shape == (2,)
    # One RY layer (3 angles) + 2 trainable gates + Linear(3, 3).
    assert count_parameters(model) == 3 + 2 + (3 * 3 + 3)
    assert model(torch.randn(4, N_FEATURES)).shape == (4, 3)

    spec = CandidateSpec(split="quantum_only", n_qubits=3, encoding=EncodingSpec("none"), layers=(), gates=gates)
    config = {"kind": "state", "spec": spec.to_dict(), "n_features": 0, "n_outputs": 8, "class_names": [],
              "feature_names": []}
    state_model = build_model(json.loads(json.dumps(config)))
    assert list(state_model.state_dict()) == ["weights.gate_angles"] and count_parameters(state_model) == 2
    path = tmp_path / "weights.safetensors"
    safetensors.torch.save_file(state_model.state_dict(), str(path))
    torch.manual_seed(5)
    rebuilt = build_model(config)
    rebuilt.load_state_dict(safetensors.torch.load_file(str(path)))
    assert torch.allclose(rebuilt(), state_model(), atol=1e-12)


def test_angle_encodings_read_bounded_angles():
    spec = CandidateSpec(split="quantum_head", n_qubits=3, encoding=EncodingSpec("angle_x"))
    model = build_model(classifier_config(spec))
    angles = model.quantum_inputs(1e3 * torch.randn(50, N_FEATURES))
    assert angles.abs().max() <= np.pi


def test_round_trip_through_config_and_safetensors(tmp_path):
    spec = CandidateSpec(
        split="quantum_middle",
        n_qubits=3,
        pre_layers=(4,),
        post_layers=(4,),
        encoding=EncodingSpec("angle_z", reupload=True),
        layers=(LayerSpec(("RX", "RY"), "full", "CRZ"), LayerSpec(("RZ", "RY"), "linear", "CZ")),
    )
    config = classifier_config(spec)
    torch.manual_seed(1)
    model = build_model(config)
    model.set_standardization(np.arange(N_FEATURES), np.full(N_FEATURES, 2.0))
    path = tmp_path / "weights.safetensors"
    safetensors.torch.save_file(model.state_dict(), str(path))
    (tmp_path / "model.json").write_text(json.dumps(config))

    torch.manual_seed(2)  # a different initialization, overwritten by the load
    rebuilt = build_model(json.loads((tmp_path / "model.json").read_text()))
    x = torch.randn(6, N_FEATURES)
    assert not torch.allclose(rebuilt(x), model(x))
    rebuilt.load_state_dict(safetensors.torch.load_file(str(path)))
    assert torch.equal(rebuilt.feature_mean, torch.arange(N_FEATURES, dtype=torch.float32))
    assert torch.allclose(rebuilt(x), model(x), atol=1e-6)


def test_amplitude_first_with_too_many_features_names_the_fix():
    spec = CandidateSpec(split="quantum_first", n_qubits=2, encoding=EncodingSpec("amplitude"))
    with pytest.raises(SpecError, match=r"at most 4 features, but the task has 5; raise n_qubits to at least 3"):
        build_model(classifier_config(spec))


def test_bad_config_is_rejected_with_allowed_values():
    spec = CandidateSpec()
    with pytest.raises(SpecError, match=r"Did you mean 'classifier'"):
        build_model({**classifier_config(spec), "kind": "clasifier"})
    with pytest.raises(SpecError, match="model_config key"):
        build_model({**classifier_config(spec), "weights": []})


def test_energy_model_matches_the_hamiltonian_on_every_path():
    terms = [[0.5, "ZI"], [-0.25, "XX"], [0.1, "IY"], [0.3, "II"]]
    config = {
        "kind": "energy",
        "spec": quantum_only(2).to_dict(),
        "n_features": 0,
        "n_outputs": 1,
        "class_names": [],
        "feature_names": [],
        "pauli_terms": terms,
    }
    torch.manual_seed(0)
    model = build_model(config)
    energy = model()
    # Reference: <psi|H|psi> with PennyLane's own dense matrix of the same Hamiltonian.
    hamiltonian = qml.dot([c for c, _ in terms], [qml.pauli.string_to_pauli_word(w) for _, w in terms])
    matrix = torch.as_tensor(qml.matrix(hamiltonian, wire_order=[0, 1]))
    state_config = {key: value for key, value in config.items() if key != "pauli_terms"}
    state = build_model({**state_config, "kind": "state", "n_outputs": 4})
    state.load_state_dict(model.state_dict())
    psi = state().detach()
    assert energy.item() == pytest.approx(torch.real(torch.vdot(psi, matrix @ psi)).item(), abs=1e-10)
    energy.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    # The expval(H) path (another device) gives the same energy from the same weights.
    other = build_model(config, device=DeviceConfig("default.mixed"))
    other.load_state_dict(model.state_dict())
    assert other().item() == pytest.approx(energy.item(), abs=1e-8)


def test_state_model_returns_a_normalized_state_and_refuses_shots():
    config = {
        "kind": "state",
        "spec": quantum_only(3, layers=2).to_dict(),
        "n_features": 0,
        "n_outputs": 8,
        "class_names": [],
        "feature_names": [],
    }
    state = build_model(config)()
    assert state.shape == (8,) and state.dtype == torch.complex128
    assert torch.linalg.vector_norm(state).item() == pytest.approx(1.0)
    with pytest.raises(SpecError, match="shots"):
        build_model(config, shots=100)


def test_shots_give_a_sampled_classifier_with_the_same_weights():
    spec = CandidateSpec(split="quantum_head", n_qubits=2, encoding=EncodingSpec("angle_y"), measurement="probs")
    config = classifier_config(spec)
    torch.manual_seed(0)
    exact = build_model(config)
    sampled = build_model(config, device=DeviceConfig("default.qubit", {"seed": 0}), shots=20_000)
    sampled.load_state_dict(exact.state_dict())
    x = torch.randn(4, N_FEATURES)
    with torch.no_grad():
        exact_probs = exact.quantum(exact.quantum_inputs(x))
        sampled_probs = sampled.quantum(sampled.quantum_inputs(x))
    assert not torch.equal(sampled_probs, exact_probs)
    assert torch.allclose(sampled_probs, exact_probs, atol=0.02)
