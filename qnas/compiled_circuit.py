"""The fast ideal-simulation path: a CandidateSpec compiled to batched torch state-vector operations.

Why: on `default.qubit` PennyLane rebuilds a tape and dispatches every gate through its operator
machinery on every call, which at 4-8 qubits costs more than the arithmetic. The circuit language
stays `qnas.circuits` (PennyLane, also the path for shots, noise, lightning and hardware); this
module reproduces exactly the circuit `make_qfunc` builds, as a short program compiled once:

- single-qubit gates of a layer or an encoding are one step with a (..., wires, 2, 2) stack of
  matrices; the several rotations a layer puts on a wire are fused into one matrix first;
- until the first entangling gate the state is a product state, stored as (batch, n, 2) and
  updated with one batched matmul per step; it becomes a (batch, 2, ..., 2) tensor only then;
- on the full state, a layer's per-wire matrices are multiplied into Kronecker blocks of
  FUSED_WIRES wires, each applied with one matmul;
- a CNOT/CZ entangler (and any run of angle-free CNOT, CZ) is one gather with signs, a CRZ
  entangler or an IQP feature map one diagonal phase, an amplitude encoding the normalized input;
- circuits made only of real gates (RY, H, X, Z, CNOT, CZ; angle_y or amplitude encoding) run in
  float64 instead of complex128.

Conventions are `qnas.statevector`'s (PennyLane's): wire 0 is the most significant bit of the
flat amplitude index. A leading batch dimension may come from the inputs (one state per sample)
or from the weights (one state per angle set, e.g. many VQE parameter vectors in one call).
Tensors of the compiled program live on the CPU, where qnas simulates.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import torch
from torch import nn

from qnas.circuits import AMPLITUDE_EPS, encoding_input_size, entangler_pairs, weight_shapes
from qnas.errors import QnasError
from qnas.spec import CandidateSpec, GateSpec
from qnas.statevector import DTYPE, FIXED_MATRICES, _apply_block, _apply_single, _rotation_matrix

REAL = torch.float64
Weights = Mapping[str, torch.Tensor]
MatrixFn = Callable[[Weights, torch.Tensor | None], torch.Tensor]

REAL_ENCODINGS = ("none", "angle_y", "amplitude")
REAL_GATES = frozenset({"RY", "H", "X", "Z", "CNOT", "CZ"})
"""Gates with real matrices: a circuit of only these keeps real amplitudes."""
FUSED_WIRES = 4
"""A layer of single-qubit gates on a full state is applied as Kronecker blocks of this many wires
(16 x 16 matrices): one matmul per block instead of one per wire; a training step at 8 qubits
took half the time (measured against one matmul per wire, forward and backward)."""
MONOMIAL_GATES = frozenset({"CNOT", "CZ"})
"""Two-qubit angle-free gates: a permutation of the basis times signs, applied as one gather."""


@dataclass(frozen=True)
class _SingleQubit:
    """Single-qubit gates on distinct `wires`; `matrices(weights, inputs)` -> (..., len(wires), 2, 2)."""

    wires: tuple[int, ...]
    matrices: MatrixFn


@dataclass(frozen=True)
class _Monomial:
    """new[:, j] = factor[j] * state[:, source[j]]: CNOT/CZ gates folded into one gather."""

    source: torch.Tensor
    factor: torch.Tensor | None


@dataclass(frozen=True)
class _Phases:
    """A diagonal gate exp(i angles) with `angles(weights, inputs)` -> (..., 2**n)."""

    angles: MatrixFn


@dataclass(frozen=True)
class _Amplitude:
    """Amplitude encoding: the input, zero-padded and normalized, is the state."""


_Step = _SingleQubit | _Monomial | _Phases | _Amplitude


def is_real(spec: CandidateSpec) -> bool:
    """Whether every gate of `spec` has a real matrix, so amplitudes stay real (float64 suffices)."""
    names = {rotation for layer in spec.layers for rotation in layer.rotations}
    names |= {layer.entangling_gate for layer in spec.layers if layer.entangling_gate}
    names |= {gate.name for gate in spec.gates}
    return spec.encoding.kind in REAL_ENCODINGS and names <= REAL_GATES


def _basis_bits(n_qubits: int) -> np.ndarray:
    """(2**n, n) bits of every basis index, wire 0 the most significant."""
    index = np.arange(2**n_qubits)
    return (index[:, None] >> np.arange(n_qubits - 1, -1, -1)) & 1


def _monomial(gates: list[GateSpec], n_qubits: int, dtype: torch.dtype) -> _Monomial:
    """Fold CNOT/CZ gates into one gather: follow every basis state through the gates."""
    bits = _basis_bits(n_qubits)
    sign = np.ones(len(bits))
    for gate in gates:
        control, target = gate.wires
        if gate.name == "CNOT":
            bits[:, target] ^= bits[:, control]
        else:
            sign *= 1 - 2 * (bits[:, control] & bits[:, target])
    destination = bits @ (1 << np.arange(n_qubits - 1, -1, -1))
    source = np.empty_like(destination)
    source[destination] = np.arange(len(bits))
    factor = None if (sign == 1).all() else torch.as_tensor(sign[source], dtype=dtype)
    return _Monomial(torch.as_tensor(source), factor)


def _signs(n_qubits: int) -> torch.Tensor:
    """(n, 2**n) eigenvalues of Z on each wire for each basis state: +1 for bit 0, -1 for bit 1."""
    return torch.as_tensor(1 - 2 * _basis_bits(n_qubits).T, dtype=REAL)


class FastCircuit(nn.Module):
    """The state a spec's circuit prepares, as a differentiable torch function of inputs and weights.

    `forward(weights, inputs)` returns the flat state, shape (batch, 2**n): float64 amplitudes for
    real circuits (`is_real`), complex128 otherwise. `weights` maps `weight_shapes(spec)` names to
    tensors of exactly those shapes, or all with one extra leading batch dimension. `inputs` is
    (batch, n_inputs) for specs that encode data, and None for quantum_only.
    """

    def __init__(
        self, spec: CandidateSpec, n_inputs: int | None = None, reference_state: tuple[int, ...] | None = None
    ) -> None:
        super().__init__()
        self.spec = spec
        self.n_qubits = n = spec.n_qubits
        self.shapes = weight_shapes(spec)
        self.dtype = REAL if is_real(spec) else DTYPE
        self.n_inputs = 0 if spec.split == "quantum_only" else encoding_input_size(spec, n_inputs)
        bits = tuple(reference_state or (0,) * n)
        if len(bits) != n or any(b not in (0, 1) for b in bits):
            raise QnasError(f"reference_state = {list(bits)} must hold {n} bits (0 or 1), one per wire.")
        start = torch.zeros(1, n, 2, dtype=self.dtype)
        start[0, torch.arange(n), torch.as_tensor(bits)] = 1.0
        self._start = start
        self.z_signs = _signs(n)
        self.steps = self._compile()

    # --- compilation -------------------------------------------------------------------------

    def _compile(self) -> list[_Step]:
        """The steps of `qnas.circuits.make_qfunc`, in its order."""
        spec, n = self.spec, self.n_qubits
        has_data = spec.split != "quantum_only"
        steps: list[_Step] = []
        if has_data:
            steps += self._encoding()
        for index, layer in enumerate(spec.layers):
            if has_data and index > 0 and spec.encoding.reupload:
                steps += self._encoding()
            steps.append(_SingleQubit(tuple(range(n)), self._layer_rotations(index, layer.rotations)))
            pairs = entangler_pairs(layer.entangler, n)
            if pairs and layer.entangling_gate == "CRZ":
                steps.append(_Phases(self._crz_angles(pairs, lambda w, name=f"crz{index}": w[name])))
            elif pairs:
                steps.append(_monomial([GateSpec(layer.entangling_gate, pair) for pair in pairs], n, self.dtype))
        steps += self._gates()
        return _merge_monomials(steps, n, self.dtype)

    def _constant(self, name: str) -> torch.Tensor:
        matrix = FIXED_MATRICES[name]
        return matrix if self.dtype.is_complex else matrix.real.to(REAL)

    def _layer_rotations(self, index: int, rotations: tuple[str, ...]) -> MatrixFn:
        """One fused matrix per wire: the layer's rotations, first listed applied first."""
        name, dtype = f"rot{index}", self.dtype

        def matrices(weights: Weights, inputs: torch.Tensor | None) -> torch.Tensor:
            angles = weights[name]
            fused = _rotation_matrix(rotations[0], angles[..., 0, :], dtype)
            for r, rotation in enumerate(rotations[1:], start=1):
                fused = _rotation_matrix(rotation, angles[..., r, :], dtype) @ fused
            return fused

        return matrices

    def _crz_angles(self, pairs: list[tuple[int, int]], angles_of: Callable[[Weights], torch.Tensor]) -> MatrixFn:
        """CRZ(theta) on (c, t) is the phase theta * c * (t - 1/2): RZ's exp(-+i theta/2) where c = 1."""
        bits = torch.as_tensor(_basis_bits(self.n_qubits), dtype=REAL)
        coefficients = torch.stack([bits[:, c] * (bits[:, t] - 0.5) for c, t in pairs])

        def angles(weights: Weights, inputs: torch.Tensor | None) -> torch.Tensor:
            return angles_of(weights).to(REAL) @ coefficients

        return angles

    def _encoding(self) -> list[_Step]:
        """Steps of `qnas.circuits.encode` for the spec's encoding kind."""
        kind, n, d, dtype = self.spec.encoding.kind, self.n_qubits, self.n_inputs, self.dtype
        if kind == "amplitude":
            return [_Amplitude()]
        if kind == "iqp":
            hadamards = _constant_matrices(self._constant("H").expand(n, 2, 2))
            return [_SingleQubit(tuple(range(n)), hadamards), _Phases(self._iqp_angles())]
        axis = "R" + kind[-1].upper()
        hadamard = self._constant("H")
        fold = _fold(d, n)

        def matrices(weights: Weights, inputs: torch.Tensor | None) -> torch.Tensor:
            angles = inputs if fold is None else inputs @ fold
            rotations = _rotation_matrix(axis, angles, dtype)
            return rotations @ hadamard if axis == "RZ" else rotations

        return [_SingleQubit(tuple(range(min(d, n))), matrices)]

    def _iqp_angles(self) -> MatrixFn:
        """IQPEmbedding's RZ(z_i) and MultiRZ(z_i z_j) as one phase: -(sum z_i Z_i + sum z_i z_j Z_i Z_j) / 2."""
        n, d = self.n_qubits, self.n_inputs
        pairs = list(combinations(range(n), 2))
        first = torch.as_tensor([i for i, _ in pairs], dtype=torch.long)
        second = torch.as_tensor([j for _, j in pairs], dtype=torch.long)
        signs = torch.cat([self.z_signs, self.z_signs[first] * self.z_signs[second]]) * -0.5
        repeat = torch.arange(n) % d if d < n else None
        fold = _fold(d, n)

        def angles(weights: Weights, inputs: torch.Tensor | None) -> torch.Tensor:
            z = inputs if d == n else inputs[..., repeat] if fold is None else inputs @ fold
            features = torch.cat([z, z[..., first] * z[..., second]], dim=-1)
            return features @ signs

        return angles

    def _gates(self) -> list[_Step]:
        """Explicit gates: trainable ones read gate_angles[..., k] in order, fixed ones their angle."""
        steps: list[_Step] = []
        trainable = 0
        for gate in self.spec.gates:
            if gate.name in MONOMIAL_GATES:
                steps.append(_monomial([gate], self.n_qubits, self.dtype))
            elif gate.name in FIXED_MATRICES:
                steps.append(_SingleQubit(gate.wires, _constant_matrices(self._constant(gate.name).unsqueeze(0))))
            elif gate.name == "CRZ":
                angle_of = _gate_angle(gate, trainable)
                steps.append(_Phases(self._crz_angles([gate.wires], lambda w, a=angle_of: a(w).unsqueeze(-1))))
            else:
                steps.append(_SingleQubit(gate.wires, _gate_rotation(gate, trainable, self.dtype)))
            trainable += gate.trainable
        return steps

    # --- execution ---------------------------------------------------------------------------

    def forward(self, weights: Weights, inputs: torch.Tensor | None = None) -> torch.Tensor:
        weight_batch = weights_batch(self.shapes, weights)
        if self.n_inputs:
            if inputs is None or inputs.dim() != 2 or inputs.shape[-1] != self.n_inputs:
                got = None if inputs is None else tuple(inputs.shape)
                raise QnasError(f"inputs has shape {got}; the encoding reads (batch, {self.n_inputs}).")
            if weight_batch is not None and weight_batch != inputs.shape[0]:
                raise QnasError(
                    f"weights hold {weight_batch} angle sets but inputs hold {inputs.shape[0]} rows; "
                    "batch one or the other, or give both the same batch size."
                )
            inputs = inputs.to(REAL)
        weights = {name: value.to(REAL) for name, value in weights.items()}
        n = self.n_qubits
        state, product = self._start, True
        for step in self.steps:
            if isinstance(step, _SingleQubit) and product:
                state = self._apply_to_product(state, step, step.matrices(weights, inputs))
                continue
            if product:
                state = _product_to_full(state) if not isinstance(step, _Amplitude) else state
                product = False
            if isinstance(step, _SingleQubit):
                state = self._apply_to_full(state, step, step.matrices(weights, inputs))
            elif isinstance(step, _Monomial):
                state = state.index_select(1, step.source)
                state = state if step.factor is None else state * step.factor
            elif isinstance(step, _Phases):
                state = state * torch.exp(1j * step.angles(weights, inputs))
            else:
                state = _amplitude_state(inputs, n).to(self.dtype)
        return _product_to_full(state) if product else state

    def _apply_to_full(self, state: torch.Tensor, step: _SingleQubit, matrices: torch.Tensor) -> torch.Tensor:
        """Gates on every wire go in Kronecker blocks of FUSED_WIRES wires; a few gates one by one."""
        n = self.n_qubits
        state = state.reshape(state.shape[0], *(2,) * n)
        if len(step.wires) == n:
            for first in range(0, n, FUSED_WIRES):
                block = matrices[..., first, :, :]
                for wire in range(first + 1, min(first + FUSED_WIRES, n)):
                    block = _kron(block, matrices[..., wire, :, :])
                state = _apply_block(state, block, first, min(FUSED_WIRES, n - first))
        else:
            for i, wire in enumerate(step.wires):
                state = _apply_single(state, matrices[..., i, :, :], wire)
        return state.reshape(state.shape[0], -1)

    def _apply_to_product(self, state: torch.Tensor, step: _SingleQubit, matrices: torch.Tensor) -> torch.Tensor:
        """Single-qubit gates keep a product state a product: one batched matmul on (batch, n, 2)."""
        if len(step.wires) != self.n_qubits:
            full = torch.eye(2, dtype=matrices.dtype).expand(*matrices.shape[:-3], self.n_qubits, 2, 2)
            matrices = full.index_copy(-3, torch.as_tensor(step.wires), matrices)
        return (matrices @ state.unsqueeze(-1)).squeeze(-1)


def weights_batch(shapes: Mapping[str, tuple[int, ...]], weights: Weights) -> int | None:
    """The batch size of `weights` (None when unbatched); raise naming a missing or misshapen weight.

    Each weight has exactly its shape from `shapes`, or all share one extra leading batch dimension.
    """
    batches = set()
    for name, shape in shapes.items():
        if name not in weights:
            raise QnasError(f"weights lack {name!r}; the circuit needs {sorted(shapes)}.")
        got = tuple(weights[name].shape)
        if got == shape:
            batches.add(None)
        elif got[1:] == shape:
            batches.add(got[0])
        else:
            raise QnasError(
                f"weight {name!r} has shape {got}; it must be {shape}, or (batch, *{shape}) for a batch of angle sets."
            )
    if len(batches) > 1:
        raise QnasError(
            f"weights mix batch sizes {sorted(map(str, batches))}; give every weight the same leading batch "
            "dimension, or none."
        )
    return batches.pop() if batches else None


def _fold(n_features: int, n_qubits: int) -> torch.Tensor | None:
    """(d, n) 0/1 matrix summing feature j onto wire j % n, when d > n (rotations on a wire add up)."""
    if n_features <= n_qubits:
        return None
    fold = torch.zeros(n_features, n_qubits, dtype=REAL)
    fold[torch.arange(n_features), torch.arange(n_features) % n_qubits] = 1.0
    return fold


def _constant_matrices(matrices: torch.Tensor) -> MatrixFn:
    """A step's matrices that depend on neither weights nor inputs."""
    return lambda weights, inputs: matrices


def _gate_rotation(gate: GateSpec, index: int, dtype: torch.dtype) -> MatrixFn:
    """The (..., 1, 2, 2) matrix of an explicit RX/RY/RZ gate."""
    angle_of = _gate_angle(gate, index)
    return lambda weights, inputs: _rotation_matrix(gate.name, angle_of(weights), dtype).unsqueeze(-3)


def _gate_angle(gate: GateSpec, index: int) -> Callable[[Weights], torch.Tensor]:
    """The angle of an explicit gate: gate_angles[..., index] when trainable, else its fixed angle."""
    if gate.trainable:
        return lambda weights: weights["gate_angles"][..., index]
    angle = torch.tensor(float(gate.angle), dtype=REAL)
    return lambda weights: angle


def _merge_monomials(steps: list[_Step], n_qubits: int, dtype: torch.dtype) -> list[_Step]:
    """Compose consecutive gathers into one (new[j] = f2[j] f1[s2[j]] state[s1[s2[j]]])."""
    merged: list[_Step] = []
    for step in steps:
        previous = merged[-1] if merged else None
        if isinstance(step, _Monomial) and isinstance(previous, _Monomial):
            factor = step.factor
            if previous.factor is not None:
                moved = previous.factor[step.source]
                factor = moved if factor is None else factor * moved
            merged[-1] = _Monomial(previous.source[step.source], factor)
        else:
            merged.append(step)
    return merged


def _kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Kronecker product of the last two axes, broadcasting any leading batch axes."""
    rows, cols = a.shape[-2] * b.shape[-2], a.shape[-1] * b.shape[-1]
    product = a[..., :, None, :, None] * b[..., None, :, None, :]
    return product.reshape(*product.shape[:-4], rows, cols)


def _product_to_full(state: torch.Tensor) -> torch.Tensor:
    """(batch, n, 2) per-wire states -> their tensor product (batch, 2**n), wire 0 most significant."""
    full = state[:, 0]
    for wire in range(1, state.shape[1]):
        full = (full.unsqueeze(-1) * state[:, wire].unsqueeze(1)).reshape(state.shape[0], -1)
    return full


def _amplitude_state(inputs: torch.Tensor, n_qubits: int) -> torch.Tensor:
    """`qml.AmplitudeEmbedding(normalize=True, pad_with=0)` of inputs with qnas' AMPLITUDE_EPS shift."""
    shifted = torch.cat([inputs[..., :1] + AMPLITUDE_EPS, inputs[..., 1:]], dim=-1)
    padded = nn.functional.pad(shifted, (0, 2**n_qubits - inputs.shape[-1]))
    return padded / torch.sqrt(torch.sum(padded**2, dim=-1, keepdim=True))


def probabilities(state: torch.Tensor) -> torch.Tensor:
    """|amplitude|^2 of a (batch, 2**n) state, real or complex."""
    return torch.view_as_real(state).square().sum(-1) if state.is_complex() else state.square()


class FastQuantumLayer(nn.Module):
    """Drop-in for `qml.qnn.TorchLayer` on a spec's circuit (expval Z per wire, or probs).

    Same parameter names, shapes, dtype and initialization order as TorchLayer (uniform in
    [0, 2pi) from torch's global RNG, in `weight_shapes` order), so the same seed builds the same
    model on either path and a state_dict moves between them. Like TorchLayer, the output takes
    the input's dtype and extra leading input dimensions are kept.
    """

    def __init__(self, spec: CandidateSpec, n_inputs: int) -> None:
        super().__init__()
        self.circuit = FastCircuit(spec, n_inputs)
        self.measurement = spec.measurement
        for name, shape in self.circuit.shapes.items():
            self.register_parameter(name, nn.Parameter(nn.init.uniform_(torch.empty(shape), b=2 * math.pi)))

    @property
    def qnode_weights(self) -> dict[str, nn.Parameter]:
        """The circuit's angles by name, as TorchLayer exposes them."""
        return {name: getattr(self, name) for name in self.circuit.shapes}

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        flat = inputs.reshape(-1, inputs.shape[-1])
        probs = probabilities(self.circuit(self.qnode_weights, flat))
        out = probs if self.measurement == "probs" else probs @ self.circuit.z_signs.T
        return out.reshape(*inputs.shape[:-1], out.shape[-1]).to(inputs.dtype)
