"""What an exported circuit reads, and how a row of raw features becomes it.

`circuit.qasm3` takes the encoded features as `input float[64]` parameters, so one program runs
every input; the trained angles are baked in. The inputs, by encoding, for a model on n qubits
whose quantum block reads d values:

- angle_x/y/z, iqp: ``x_0 .. x_{d-1}``, the quantum block's inputs: the raw features standardized
  with the training split's mean and std, then through the classical pre layers (which end in
  pi * tanh for these encodings). The angles the encoding computes from them (IQP's products
  x_i * x_j, the sums of features that wrap around the wires) are expressions in the program.
- amplitude: ``a_0 .. a_{2^n-2}``, the rotation-angle tree of the amplitude vector (the block's
  inputs, first entry shifted by `AMPLITUDE_EPS`, zero-padded to 2^n and normalized). Importers
  of OpenQASM 3 (qiskit-qasm3-import) cannot take square roots or arctangents of inputs, so the
  angles themselves are the inputs; `amplitude_angles` computes them. Entry 2^k - 1 + p is the RY
  angle on wire k when wires 0..k-1 hold the bits of p (wire 0 most significant): the last level
  is signed, so real amplitudes of either sign need no phase gates.

`HybridClassifier.circuit_inputs(x)` (what `qnas.load` returns) gives these inputs by name for each
row, computed exactly as the model computes its own forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pennylane as qml

from qnas.circuits import AMPLITUDE_EPS, encode
from qnas.spec import CandidateSpec

FEATURE_INPUT = "x"
AMPLITUDE_INPUT = "a"


def input_names(spec: CandidateSpec, n_encoded: int) -> list[str]:
    """Names of the circuit's inputs when its quantum block reads `n_encoded` values (none for quantum_only)."""
    if spec.split == "quantum_only":
        return []
    if spec.encoding.kind == "amplitude":
        return [f"{AMPLITUDE_INPUT}_{i}" for i in range(2**spec.n_qubits - 1)]
    return [f"{FEATURE_INPUT}_{i}" for i in range(n_encoded)]


def amplitude_vectors(encoded: np.ndarray, n_qubits: int) -> np.ndarray:
    """What amplitude encoding prepares for encoded rows (..., d): shifted, zero-padded to 2^n, normalized."""
    rows = np.array(encoded, dtype=np.float64)
    rows[..., 0] += AMPLITUDE_EPS
    padded = np.zeros((*rows.shape[:-1], 2**n_qubits))
    padded[..., : rows.shape[-1]] = rows
    return padded / np.linalg.norm(padded, axis=-1, keepdims=True)


def amplitude_angles(vectors: np.ndarray) -> np.ndarray:
    """The RY-angle tree (..., 2^n - 1) that `prepare_real_amplitudes` turns into the real `vectors` (..., 2^n)."""
    vectors = np.asarray(vectors, dtype=np.float64)
    n = int(np.log2(vectors.shape[-1]))
    levels = []
    for k in range(n):
        blocks = vectors.reshape(*vectors.shape[:-1], 2**k, 2, 2 ** (n - k - 1))
        if k == n - 1:  # single amplitudes: their signs set the angle's quadrant
            low, high = blocks[..., 0, 0], blocks[..., 1, 0]
        else:
            low, high = np.linalg.norm(blocks[..., 0, :], axis=-1), np.linalg.norm(blocks[..., 1, :], axis=-1)
        levels.append(2 * np.arctan2(high, low))
    return np.concatenate(levels, axis=-1)


def prepare_real_amplitudes(angles: Any, wires: Sequence[int]) -> None:
    """Prepare the real state of the angle tree `angles` (see `amplitude_angles`) from |0...0>.

    Each level is a multiplexed RY on wire k, controlled by wires 0..k-1, in Möttönen et al.'s
    Gray-code form (2^k RY and 2^k CNOT, arXiv:quant-ph/0407010): every gate is present for every
    input, so the program's shape does not depend on the data.
    """
    for k, target in enumerate(wires):
        _multiplexed_ry([angles[2**k - 1 + p] for p in range(2**k)], list(wires[:k]), target)


def _multiplexed_ry(alphas: list[Any], controls: list[int], target: int) -> None:
    """RY(alphas[p]) on `target` when `controls` hold the bits of p (first control most significant)."""
    k = len(controls)
    if k == 0:
        qml.RY(alphas[0], wires=target)
        return
    gray = [i ^ (i >> 1) for i in range(2**k)]
    for i, code in enumerate(gray):
        # The CNOTs so far flipped the sign of the angles of control states p with odd p & code.
        terms = [alphas[p] if bin(p & code).count("1") % 2 == 0 else -alphas[p] for p in range(2**k)]
        qml.RY(sum(terms) / 2**k, wires=target)
        bit = (code ^ gray[(i + 1) % 2**k]).bit_length() - 1
        qml.CNOT(wires=[controls[k - 1 - bit], target])


def export_encode(kind: str, inputs: Any, n_qubits: int) -> None:
    """The encoding as the exported programs write it: amplitude as its angle tree, others unchanged."""
    if kind == "amplitude":
        prepare_real_amplitudes(inputs, range(n_qubits))
    else:
        encode(kind, inputs, n_qubits)


def input_values(spec: CandidateSpec, encoded: Any) -> np.ndarray:
    """The circuit's inputs (rows, len(input_names)) for encoded rows, the quantum block's inputs (rows, d)."""
    encoded = np.atleast_2d(np.asarray(encoded, dtype=np.float64))
    if spec.encoding.kind == "amplitude":
        return amplitude_angles(amplitude_vectors(encoded, spec.n_qubits))
    return encoded
