"""Tests for qnas.statevector: states and gradients match PennyLane's default.qubit on random
circuits with every gate."""

from __future__ import annotations

import math

import numpy as np
import pennylane as qml
import pytest
import torch

from qnas.circuits import GATE_OPS
from qnas.errors import QnasError
from qnas.spec import ANGLE_GATES, GATES, TWO_QUBIT_GATES, GateSpec
from qnas.statevector import expectation, fidelity, simulate

TOL = 1e-6


def random_circuit(n_qubits: int, seed: int, repeats: int = 2) -> list[GateSpec]:
    """Every gate in GATES `repeats` times on random wires, shuffled; some angle gates get a fixed angle."""
    rng = np.random.default_rng(seed)
    gates = []
    for name in GATES * repeats:
        if name in TWO_QUBIT_GATES:
            wires = tuple(int(w) for w in rng.choice(n_qubits, size=2, replace=False))
        else:
            wires = (int(rng.integers(n_qubits)),)
        angle = float(rng.normal()) if name in ANGLE_GATES and rng.random() < 0.3 else None
        gates.append(GateSpec(name, wires, angle))
    return [gates[i] for i in rng.permutation(len(gates))]


def pennylane_circuit(gates: list[GateSpec], n_qubits: int, bits: tuple[int, ...], measure):
    """The gates as a PennyLane QNode on default.qubit from basis state `bits`, returning `measure()`;
    it takes the trainable angles in order."""

    @qml.qnode(qml.device("default.qubit", wires=n_qubits), interface="torch", diff_method="backprop")
    def circuit(weights):
        qml.BasisState(np.array(bits), wires=range(n_qubits))
        k = 0
        for gate in gates:
            if gate.trainable:
                GATE_OPS[gate.name](weights[k], wires=list(gate.wires))
                k += 1
            elif gate.angle is not None:
                GATE_OPS[gate.name](gate.angle, wires=list(gate.wires))
            else:
                GATE_OPS[gate.name](wires=list(gate.wires))
        return measure()

    return circuit


def pennylane_state(gates: list[GateSpec], n_qubits: int, angles: torch.Tensor, bits: tuple[int, ...]) -> torch.Tensor:
    return pennylane_circuit(gates, n_qubits, bits, qml.state)(angles)


def random_hermitian(dim: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))
    return torch.tensor(a + a.conj().T)


def random_state(dim: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    v = torch.tensor(rng.normal(size=dim) + 1j * rng.normal(size=dim))
    return v / torch.linalg.vector_norm(v)


@pytest.mark.parametrize(("n_qubits", "seed"), [(2, 0), (3, 1), (4, 2)])
def test_states_and_gradients_match_pennylane(n_qubits, seed):
    gates = random_circuit(n_qubits, seed)
    k = sum(g.trainable for g in gates)
    bits = tuple(int(b) for b in np.random.default_rng(seed).integers(0, 2, n_qubits))
    angles = torch.tensor(np.random.default_rng(seed + 10).normal(size=k), requires_grad=True)
    observable = random_hermitian(2**n_qubits, seed)

    ours = simulate(gates, n_qubits, angles, bits)
    theirs = pennylane_state(gates, n_qubits, angles, bits)
    assert ours.shape == (2**n_qubits,)
    assert torch.allclose(ours, theirs.to(torch.complex128), atol=TOL)

    (grad_ours,) = torch.autograd.grad(expectation(ours, observable), angles)
    (grad_theirs,) = torch.autograd.grad(expectation(theirs, observable), angles)
    assert torch.allclose(grad_ours, grad_theirs, atol=TOL)


def test_every_gate_alone_matches_pennylane():
    for name in GATES:
        wires = (1, 0) if name in TWO_QUBIT_GATES else (1,)
        gate = GateSpec(name, wires)
        angles = torch.tensor([0.7], dtype=torch.float64) if gate.trainable else torch.zeros(0, dtype=torch.float64)
        expected = pennylane_state([gate], 2, angles, (1, 1)).to(torch.complex128)
        assert torch.allclose(simulate([gate], 2, angles, (1, 1)), expected, atol=TOL), name


def test_batched_angles_give_one_state_per_row():
    gates = random_circuit(3, seed=5)
    k = sum(g.trainable for g in gates)
    batch = torch.randn(4, k, dtype=torch.float64)
    states = simulate(gates, 3, batch)
    assert states.shape == (4, 8)
    for row in range(4):
        assert torch.allclose(states[row], simulate(gates, 3, batch[row]), atol=1e-12)


def test_bell_state_expectation_and_fidelity():
    bell = simulate([GateSpec("H", (0,)), GateSpec("CNOT", (0, 1))], 2)
    target = torch.tensor([1, 0, 0, 1], dtype=torch.complex128) / math.sqrt(2)
    assert fidelity(bell, target).item() == pytest.approx(1.0)
    zz = torch.diag(torch.tensor([1, -1, -1, 1], dtype=torch.complex128))
    assert expectation(bell, zz).item() == pytest.approx(1.0)
    z0 = torch.diag(torch.tensor([1, 1, -1, -1], dtype=torch.complex128))
    assert expectation(bell, z0).item() == pytest.approx(0.0, abs=1e-12)


def test_wire_zero_is_the_most_significant_bit():
    state = simulate([GateSpec("X", (0,))], 3)
    assert state[0b100].item() == pytest.approx(1.0)


def test_bad_inputs_name_the_value_and_the_fix():
    with pytest.raises(QnasError, match=r"gates\[1\]: CNOT wires = \[0, 2\].*in 0\.\.1"):
        simulate([GateSpec("H", (0,)), GateSpec("CNOT", (0, 2))], 2)
    with pytest.raises(QnasError, match=r"1 trainable gate.*pass angles of shape \(1,\)"):
        simulate([GateSpec("RY", (0,))], 1)
    with pytest.raises(QnasError, match=r"shape \(2,\).*1 trainable"):
        simulate([GateSpec("RY", (0,))], 1, torch.zeros(2))
    with pytest.raises(QnasError, match=r"initial_bits = \[1, 2\]"):
        simulate([GateSpec("H", (0,))], 2, initial_bits=(1, 2))
