"""Torch modules built from a JSON-able model_config: hybrid classifier, VQE energy, prepared state.

`build_model(model_config)` is the one way a model comes to exist, in a worker during a search
and in `qnas.load` after export, so a saved config plus a safetensors state_dict rebuild the exact
model. The config is:

    {"kind": "classifier" | "energy" | "state", "spec": spec.to_dict(), "n_features": int,
     "n_outputs": int, "class_names": [...], "feature_names": [...],
     "pauli_terms": [[coef, "XZ.."], ...]  (energy only)}

The device is not part of the config: the same config builds on the ideal simulator for training
and on another device, with shots, for scoring (`build_model(config, device=..., shots=...)`).

On the ideal analytic simulator (`default.qubit`, no shots) the quantum block runs on the compiled
torch path of `qnas.compiled_circuit` unless `fast_path=False`; everywhere else it is a PennyLane
QNode. Both paths have the same parameter names, shapes and initialization, so a state_dict
trained on one loads into the other.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np
import pennylane as qml
import torch
from torch import nn

from qnas.circuits import encoded_rows, encoding_input_size, make_qnode, weight_shapes
from qnas.compiled_circuit import FastCircuit, FastQuantumLayer, weights_batch
from qnas.devices import DeviceConfig
from qnas.errors import SpecError, not_allowed
from qnas.spec import CandidateSpec

MODEL_KINDS = ("classifier", "energy", "state")
CONFIG_KEYS = (
    "kind", "spec", "n_features", "n_outputs", "class_names", "feature_names", "pauli_terms", "reference_state",
    "interface",
)
"""Keys a model_config may hold; `interface` documents an export for other readers
(`qnas.export_interface`) and plays no part in building the model."""
BOUNDED_ENCODINGS = ("angle_x", "angle_y", "angle_z", "iqp")
DENSE_HAMILTONIAN_QUBITS = 10
"""Up to this many qubits the fast path holds H as a dense matrix (16 MiB at 10); above, sparse."""


def uses_fast_path(device: DeviceConfig | None, shots: int | None, fast_path: bool) -> bool:
    """The compiled path simulates exactly what ideal analytic `default.qubit` does, and nothing else."""
    return fast_path and shots is None and (device is None or device.name == "default.qubit")


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
        self,
        spec: CandidateSpec,
        n_features: int,
        n_outputs: int,
        device: DeviceConfig | None,
        shots: int | None,
        fast_path: bool = True,
    ):
        super().__init__()
        self.spec = spec
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        encoded = encoding_input_size(spec, n_features)  # raises for amplitude features > 2**n
        self.n_encoded = encoded
        if spec.split == "quantum_first":
            self.pre = nn.Sequential()
        else:
            self.pre = _mlp([n_features, *spec.pre_layers], encoded)
            if spec.encoding.kind in BOUNDED_ENCODINGS:
                self.pre.append(BoundedAngles())
        if uses_fast_path(device, shots, fast_path):
            self.quantum: nn.Module = FastQuantumLayer(spec, encoded)
        else:
            self.quantum = _torch_layer(spec, device, shots)
        self.post = _mlp([spec.quantum_output_size, *spec.post_layers], n_outputs)

    def quantum_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """What the encoding reads for raw features `x`: standardized, then the pre layers."""
        return self.pre((x - self.feature_mean) / self.feature_std)

    def circuit_inputs(self, x: torch.Tensor) -> list[dict[str, float]]:
        """The exported circuit's inputs for each row of raw features `x`, by name (`qnas.circuit_inputs`).

        Bind them to circuit.qasm3's `input` parameters to run the quantum block elsewhere.
        """
        from qnas.circuit_inputs import input_names, input_values

        values = input_values(self.spec, encoded_rows(self, x))
        names = input_names(self.spec, self.n_encoded)
        return [dict(zip(names, map(float, row), strict=True)) for row in values]

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
    """A bare parametrized circuit; its forward() takes no data (VQE, state preparation).

    `fast` says whether the compiled path computes the state (ideal analytic simulator), else a QNode.
    """

    def __init__(
        self,
        spec: CandidateSpec,
        measurement: Any,
        device: DeviceConfig | None,
        shots: int | None,
        reference_state: tuple[int, ...] | None = None,
        fast_path: bool = True,
    ):
        super().__init__()
        self.spec = spec
        self.reference_state = reference_state
        # float64 angles: energies and fidelities are compared at the 1e-3 level and below.
        self.weights = nn.ParameterDict(
            {name: nn.Parameter(_init_angles(shape, torch.float64)) for name, shape in weight_shapes(spec).items()}
        )
        self.fast = isinstance(measurement, str) and measurement == "state" and uses_fast_path(device, shots, fast_path)
        if self.fast:
            self.circuit = FastCircuit(spec, reference_state=reference_state)
        else:
            self.qnode = make_qnode(
                spec, device=device, shots=shots, measurement=measurement, reference_state=reference_state
            )

    def forward(self) -> torch.Tensor:
        if self.fast:
            return self.circuit(self.weights)[0].to(torch.complex128)
        return self.qnode(**self.weights)

    def circuit_weights(self) -> dict[str, torch.Tensor]:
        return dict(self.weights)


class EnergyModel(QuantumOnly):
    """forward() -> <H>, with H rebuilt from Pauli words so a loaded model needs no qchem.

    On the ideal analytic simulator the energy is <psi|H|psi> from the state and H as a matrix,
    which is exact and several times faster than PennyLane's term-by-term expval; with shots or on
    any other device the circuit measures qml.expval(H) itself. `energies` evaluates many angle
    sets at once: on the fast path as one batched simulation.
    """

    def __init__(
        self,
        spec: CandidateSpec,
        pauli_terms: list,
        device: DeviceConfig | None,
        shots: int | None,
        reference_state: tuple[int, ...] | None = None,
        fast_path: bool = True,
    ):
        hamiltonian = hamiltonian_from_pauli_terms([(float(c), str(w)) for c, w in pauli_terms], spec.n_qubits)
        from_state = shots is None and (device is None or device.name == "default.qubit")
        measurement = "state" if from_state else hamiltonian
        super().__init__(spec, measurement, device, shots, reference_state, fast_path)
        # Plain attributes, not buffers: the state_dict holds only trainable angles.
        self._sparse_h = _sparse_matrix(hamiltonian, spec.n_qubits) if from_state else None
        self._dense_h = None
        if self.fast and spec.n_qubits <= DENSE_HAMILTONIAN_QUBITS:
            self._dense_h = self._sparse_h.to_dense()

    def forward(self) -> torch.Tensor:
        return self._energy(self.weights)

    def energies(self, angle_sets: dict[str, torch.Tensor]) -> torch.Tensor:
        """Energies of a batch of angle sets, shape (batch,): `angle_sets[name]` is (batch, *shape) for
        every weight of `weight_shapes(spec)`. One batched simulation on the fast path, one circuit
        call per set elsewhere; differentiable either way."""
        batch = weights_batch(weight_shapes(self.spec), angle_sets)
        if batch is None:
            raise SpecError("angle_sets must hold a leading batch dimension; use model() for one angle set.")
        if self.fast:
            return self.expectations(self.circuit(angle_sets))
        return torch.stack([self._energy({name: value[i] for name, value in angle_sets.items()}) for i in range(batch)])

    def _energy(self, weights: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.fast:
            return self.expectations(self.circuit(weights))[0]
        out = self.qnode(**weights)
        if self._sparse_h is None:
            return out
        return torch.real(torch.vdot(out, torch.sparse.mm(self._sparse_h, out.unsqueeze(1)).squeeze(1)))

    def expectations(self, states: torch.Tensor) -> torch.Tensor:
        """Re <psi|H|psi> for each row of a (batch, 2**n) real or complex state (ideal simulator only)."""
        if self._dense_h is not None and not states.is_complex():
            return ((states @ self._dense_h.real) * states).sum(-1)
        states = states.to(torch.complex128)
        if self._dense_h is not None:
            applied = states @ self._dense_h.T
        else:
            applied = torch.sparse.mm(self._sparse_h, states.T).T
        return (states.conj() * applied).real.sum(-1)


def _sparse_matrix(hamiltonian, n_qubits: int) -> torch.Tensor:
    """H as a torch COO matrix, wire 0 the most significant bit (qml.state's order)."""
    matrix = hamiltonian.sparse_matrix(wire_order=range(n_qubits)).tocoo()
    indices = torch.as_tensor(np.vstack([matrix.row, matrix.col]), dtype=torch.long)
    values = torch.as_tensor(matrix.data, dtype=torch.complex128)
    return torch.sparse_coo_tensor(indices, values, matrix.shape, check_invariants=True).coalesce()


class StateModel(QuantumOnly):
    """forward() -> the prepared state vector (analytic devices only)."""

    def __init__(self, spec: CandidateSpec, device: DeviceConfig | None, shots: int | None, fast_path: bool = True):
        super().__init__(spec, "state", device, shots, fast_path=fast_path)


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
    model_config: dict[str, Any],
    device: DeviceConfig | None = None,
    shots: int | None = None,
    fast_path: bool = True,
) -> nn.Module:
    """Build the model a config describes; weights are freshly initialized from torch's global RNG.

    `fast_path=False` keeps PennyLane on the ideal simulator too (for checks, or to compare).
    """
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
        n_features, n_outputs = int(model_config["n_features"]), int(model_config["n_outputs"])
        return HybridClassifier(spec, n_features, n_outputs, device, shots, fast_path)
    if spec.split != "quantum_only":
        raise SpecError(f"model kind {kind!r} needs split = 'quantum_only', got {spec.split!r}.")
    if kind == "energy":
        if not model_config.get("pauli_terms"):
            raise SpecError("an energy model_config needs 'pauli_terms': [[coefficient, 'XZ..'], ...].")
        reference = model_config.get("reference_state")
        reference = tuple(reference) if reference else None
        return EnergyModel(spec, model_config["pauli_terms"], device, shots, reference, fast_path)
    if shots is not None:
        raise SpecError(
            "a state model returns the state vector, which finite shots cannot give; build it with shots=None "
            "(qnas.evaluation estimates a finite-shot fidelity with a projector instead)."
        )
    return StateModel(spec, device, shots, fast_path)


def count_parameters(model: nn.Module) -> int:
    """Trainable scalars: classical weights and biases plus circuit angles (buffers excluded)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))
