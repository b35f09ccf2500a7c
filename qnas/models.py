"""Torch modules built from a JSON-able model_config: hybrid classifier, VQE energy, prepared state.

`build_model(model_config)` is the one way a model comes to exist, in a worker during a search
and in `qnas.load` after export, so a saved config plus a safetensors state_dict rebuild the exact
model. The config is:

    {"kind": "classifier" | "energy" | "state", "spec": spec.to_dict(), "n_features": int,
     "n_outputs": int, "class_names": [...], "feature_names": [...],
     "pauli_terms": [[coef, "XZ.."], ...]  (energy only)}

The device is not part of the config: the same config builds on the ideal simulator for training
and on another device, with shots, for scoring (`build_model(config, device=..., shots=...)`).
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np
import pennylane as qml
import torch
from torch import nn

from qnas.circuits import encoding_input_size, make_qnode, weight_shapes
from qnas.devices import DeviceConfig
from qnas.errors import SpecError, not_allowed
from qnas.spec import CandidateSpec

MODEL_KINDS = ("classifier", "energy", "state")
CONFIG_KEYS = (
    "kind", "spec", "n_features", "n_outputs", "class_names", "feature_names", "pauli_terms", "reference_state"
)
BOUNDED_ENCODINGS = ("angle_x", "angle_y", "angle_z", "iqp")


def _init_angles(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """Uniform in [0, 2pi), from torch's global RNG (the evaluator seeds it): PennyLane's default."""
    return torch.rand(shape, dtype=dtype) * (2 * math.pi)


def _mlp(widths: list[int], final: int | None) -> nn.Sequential:
    """Linear+ReLU through `widths`, then a plain Linear to `final` when given."""
    layers: list[nn.Module] = []
    for width_in, width_out in pairwise(widths):
        layers += [nn.Linear(width_in, width_out), nn.ReLU()]
    if final is not None:
        layers.append(nn.Linear(widths[-1], final))
    return nn.Sequential(*layers)


class BoundedAngles(nn.Module):
    """pi * tanh(z): keeps encoded angles in (-pi, pi), where rotations are one-to-one."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return math.pi * torch.tanh(z)


class HybridClassifier(nn.Module):
    """standardize -> classical pre layers -> quantum block -> classical post layers -> logits."""

    def __init__(
        self, spec: CandidateSpec, n_features: int, n_outputs: int, device: DeviceConfig | None, shots: int | None
    ):
        super().__init__()
        self.spec = spec
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        encoded = encoding_input_size(spec, n_features)  # raises for amplitude features > 2**n
        if spec.split == "quantum_first":
            self.pre = nn.Sequential()
        else:
            self.pre = _mlp([n_features, *spec.pre_layers], encoded)
            if spec.encoding.kind in BOUNDED_ENCODINGS:
                self.pre.append(BoundedAngles())
        self.quantum = _torch_layer(spec, device, shots)
        self.post = _mlp([spec.quantum_output_size, *spec.post_layers], n_outputs)

    def quantum_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """What the encoding reads for raw features `x`: standardized, then the pre layers."""
        return self.pre((x - self.feature_mean) / self.feature_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.quantum(self.quantum_inputs(x)))

    def circuit_weights(self) -> dict[str, torch.Tensor]:
        return dict(self.quantum.qnode_weights)

    def set_standardization(self, mean: Any, std: Any) -> None:
        """Copy the training split's feature statistics into the buffers (saved with the weights)."""
        self.feature_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.feature_std.copy_(torch.as_tensor(std, dtype=torch.float32))


def _torch_layer(spec: CandidateSpec, device: DeviceConfig | None, shots: int | None) -> nn.Module:
    qnode = make_qnode(spec, device=device, shots=shots)
    # TorchLayer's default initialization is _init_angles' distribution: uniform in [0, 2pi).
    return qml.qnn.TorchLayer(qnode, weight_shapes(spec))


class QuantumOnly(nn.Module):
    """A bare parametrized circuit; its forward() takes no data (VQE, state preparation)."""

    def __init__(
        self,
        spec: CandidateSpec,
        measurement: Any,
        device: DeviceConfig | None,
        shots: int | None,
        reference_state: tuple[int, ...] | None = None,
    ):
        super().__init__()
        self.spec = spec
        self.reference_state = reference_state
        # float64 angles: energies and fidelities are compared at the 1e-3 level and below.
        self.weights = nn.ParameterDict(
            {name: nn.Parameter(_init_angles(shape, torch.float64)) for name, shape in weight_shapes(spec).items()}
        )
        self.qnode = make_qnode(
            spec, device=device, shots=shots, measurement=measurement, reference_state=reference_state
        )

    def forward(self) -> torch.Tensor:
        return self.qnode(**self.weights)

    def circuit_weights(self) -> dict[str, torch.Tensor]:
        return dict(self.weights)


class EnergyModel(QuantumOnly):
    """forward() -> <H>, with H rebuilt from Pauli words so a loaded model needs no qchem.

    On the ideal analytic simulator the energy is <psi|H|psi> from the state and a sparse H, which
    is exact and several times faster than PennyLane's term-by-term expval; with shots or on any
    other device the circuit measures qml.expval(H) itself.
    """

    def __init__(
        self,
        spec: CandidateSpec,
        pauli_terms: list,
        device: DeviceConfig | None,
        shots: int | None,
        reference_state: tuple[int, ...] | None = None,
    ):
        hamiltonian = hamiltonian_from_pauli_terms([(float(c), str(w)) for c, w in pauli_terms], spec.n_qubits)
        from_state = shots is None and (device is None or device.name == "default.qubit")
        super().__init__(spec, "state" if from_state else hamiltonian, device, shots, reference_state)
        # A plain attribute, not a buffer: the state_dict holds only trainable angles.
        self._sparse_h = _sparse_matrix(hamiltonian, spec.n_qubits) if from_state else None

    def forward(self) -> torch.Tensor:
        out = self.qnode(**self.weights)
        if self._sparse_h is None:
            return out
        return torch.real(torch.vdot(out, torch.sparse.mm(self._sparse_h, out.unsqueeze(1)).squeeze(1)))


def _sparse_matrix(hamiltonian, n_qubits: int) -> torch.Tensor:
    """H as a torch COO matrix, wire 0 the most significant bit (qml.state's order)."""
    matrix = hamiltonian.sparse_matrix(wire_order=range(n_qubits)).tocoo()
    indices = torch.as_tensor(np.vstack([matrix.row, matrix.col]), dtype=torch.long)
    values = torch.as_tensor(matrix.data, dtype=torch.complex128)
    return torch.sparse_coo_tensor(indices, values, matrix.shape, check_invariants=True).coalesce()


class StateModel(QuantumOnly):
    """forward() -> the prepared state vector (analytic devices only)."""

    def __init__(self, spec: CandidateSpec, device: DeviceConfig | None, shots: int | None):
        super().__init__(spec, "state", device, shots)


def hamiltonian_from_pauli_terms(pauli_terms: list, n_qubits: int):
    """A PennyLane Hamiltonian from [(coefficient, "XZIY"), ...] over wires 0..n-1."""
    coeffs, ops = [], []
    for coeff, word in pauli_terms:
        if len(word) != n_qubits or set(word) - set("IXYZ"):
            raise SpecError(f"Pauli word {word!r} must have {n_qubits} letters from I, X, Y, Z.")
        coeffs.append(float(coeff))
        ops.append(qml.pauli.string_to_pauli_word(word, wire_map={w: w for w in range(n_qubits)}))
    return qml.Hamiltonian(coeffs, ops)


def build_model(
    model_config: dict[str, Any], device: DeviceConfig | None = None, shots: int | None = None
) -> nn.Module:
    """Build the model a config describes; weights are freshly initialized from torch's global RNG."""
    if not isinstance(model_config, dict):
        raise SpecError(f"model_config must be a dict, got {type(model_config).__name__}.")
    unknown = sorted(set(model_config) - set(CONFIG_KEYS))
    if unknown:
        raise SpecError(not_allowed("model_config key", unknown[0], CONFIG_KEYS))
    kind = model_config.get("kind")
    if kind not in MODEL_KINDS:
        raise SpecError(not_allowed("model_config kind", kind, MODEL_KINDS))
    spec = CandidateSpec.from_dict(model_config["spec"])
    if kind == "classifier":
        return HybridClassifier(spec, int(model_config["n_features"]), int(model_config["n_outputs"]), device, shots)
    if spec.split != "quantum_only":
        raise SpecError(f"model kind {kind!r} needs split = 'quantum_only', got {spec.split!r}.")
    if kind == "energy":
        if not model_config.get("pauli_terms"):
            raise SpecError("an energy model_config needs 'pauli_terms': [[coefficient, 'XZ..'], ...].")
        reference = model_config.get("reference_state")
        return EnergyModel(spec, model_config["pauli_terms"], device, shots, tuple(reference) if reference else None)
    if shots is not None:
        raise SpecError(
            "a state model returns the state vector, which finite shots cannot give; build it with shots=None "
            "(qnas.evaluation estimates a finite-shot fidelity with a projector instead)."
        )
    return StateModel(spec, device, shots)


def count_parameters(model: nn.Module) -> int:
    """Trainable scalars: classical weights and biases plus circuit angles (buffers excluded)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
