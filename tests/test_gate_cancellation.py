"""qnas.gate_cancellation: pairs that undo each other go, and the circuit's matrix stays the same."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qnas.adjoint import AdjointCircuit
from qnas.gate_cancellation import cancel_inverse_pairs
from qnas.pauli_rotations import PauliRotation
from qnas.spec import GateSpec

CHOICES = [("H", 1, None), ("X", 1, None), ("Z", 1, None), ("CNOT", 2, None), ("CZ", 2, None),
           ("RX", 1, math.pi / 2), ("RX", 1, -math.pi / 2), ("RY", 1, None)]


def matrix(gates, n_qubits: int, angles) -> np.ndarray:
    columns = []
    for index in range(2**n_qubits):
        circuit = AdjointCircuit(n_qubits, tuple(int(b) for b in np.binary_repr(index, n_qubits)))
        for gate in gates:
            circuit.append(gate)
        columns.append(circuit.state(angles))
    return np.stack(columns, axis=1)


def random_gates(rng: np.random.Generator, n_qubits: int, count: int) -> list[GateSpec]:
    gates = []
    for _ in range(count):
        name, arity, angle = CHOICES[rng.integers(len(CHOICES))]
        wires = tuple(int(w) for w in rng.choice(n_qubits, size=arity, replace=False))
        gates.append(GateSpec(name, wires, angle))
        if rng.random() < 0.4:  # an inverse right after, or after a gate elsewhere
            if rng.random() < 0.5:
                other = int(rng.choice([w for w in range(n_qubits) if w not in wires]))
                gates.append(GateSpec("H", (other,)))
            gates.append(GateSpec(name, wires, None if angle is None else -angle) if name != "RY" else GateSpec("Z", wires))
    return gates


@pytest.mark.parametrize("seed", range(8))
def test_the_matrix_is_unchanged_and_the_circuit_shorter(seed):
    rng = np.random.default_rng(seed)
    gates = random_gates(rng, 4, 30)
    cut = cancel_inverse_pairs(gates)
    trainable = sum(g.trainable for g in gates)
    angles = rng.uniform(-np.pi, np.pi, trainable)
    assert sum(g.trainable for g in cut) == trainable and len(cut) < len(gates)
    assert np.abs(matrix(cut, 4, angles) - matrix(gates, 4, angles)).max() < 1e-12


def test_consecutive_rotations_about_one_word_meet_in_the_middle():
    rotation = PauliRotation("XYZI").compile()
    cut = cancel_inverse_pairs(rotation + rotation)
    assert sum(g.name == "CNOT" for g in cut) == 4 and len(cut) == len(rotation) + 1  # the second ladder's ends
    assert [g.name for g in cut].count("RZ") == 2


def test_nothing_cancels_across_a_gate_on_a_shared_wire_or_between_trainable_gates():
    gates = [GateSpec("CNOT", (0, 1)), GateSpec("RY", (1,)), GateSpec("CNOT", (0, 1)),
             GateSpec("RZ", (2,)), GateSpec("RZ", (2,)), GateSpec("CNOT", (1, 2)), GateSpec("CNOT", (2, 1))]
    assert cancel_inverse_pairs(gates) == tuple(gates)
