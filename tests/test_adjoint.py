"""Tests for qnas.adjoint: values, states and gradients match PennyLane's default.qubit to 1e-8 on
random circuits of blocks (CNOT, then RY on both its wires: the real-arithmetic path) and of every
gate, scored by a Hamiltonian of Pauli terms (sparse), a dense Hermitian matrix or a target state."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest
import torch

from qnas.adjoint import AdjointCircuit, Observable
from qnas.errors import QnasError
from qnas.spec import GATES, TWO_QUBIT_GATES, GateSpec
from tests.test_statevector import pennylane_circuit, random_circuit, random_hermitian, random_state

TOL = 1e-8


def block_circuit(n_qubits: int, seed: int, blocks: int) -> list[GateSpec]:
    """An RY on every wire, then `blocks` blocks [CNOT c,t, RY c, RY t] on random pairs."""
    rng = np.random.default_rng(seed)
    gates = [GateSpec("RY", (wire,)) for wire in range(n_qubits)]
    for _ in range(blocks):
        control, target = (int(w) for w in rng.choice(n_qubits, size=2, replace=False))
        gates += [GateSpec("CNOT", (control, target)), GateSpec("RY", (control,)), GateSpec("RY", (target,))]
    return gates


def random_pauli_hamiltonian(n_qubits: int, seed: int, terms: int = 12) -> qml.Hamiltonian:
    """Random Pauli words with X, Y and Z (so a complex matrix), and real coefficients."""
    rng = np.random.default_rng(seed)
    paulis = {"X": qml.X, "Y": qml.Y, "Z": qml.Z}
    ops = []
    for _ in range(terms):
        word = rng.choice(["I", "X", "Y", "Z"], size=n_qubits)
        factors = [paulis[p](wire) for wire, p in enumerate(word) if p != "I"] or [qml.Identity(0)]
        ops.append(qml.prod(*factors) if len(factors) > 1 else factors[0])
    return qml.Hamiltonian(rng.normal(size=terms), ops)


def observables(kind: str, n_qubits: int, seed: int) -> tuple[Observable, object]:
    """Ours and PennyLane's measurement of the same observable."""
    wires = range(n_qubits)
    if kind == "hamiltonian":
        hamiltonian = random_pauli_hamiltonian(n_qubits, seed)
        return Observable(matrix=hamiltonian.sparse_matrix(wire_order=wires)), lambda: qml.expval(hamiltonian)
    if kind == "matrix":
        matrix = random_hermitian(2**n_qubits, seed).numpy()
        return Observable(matrix=matrix), lambda: qml.expval(qml.Hermitian(matrix, wires=wires))
    target = random_state(2**n_qubits, seed).numpy()
    return Observable(target=target), lambda: qml.expval(qml.Projector(target, wires=wires))


@pytest.mark.parametrize("kind", ["hamiltonian", "matrix", "target"])
@pytest.mark.parametrize("circuit_kind", ["blocks", "every gate"])
@pytest.mark.parametrize("n_qubits", [3, 5, 8])
def test_values_states_and_gradients_match_pennylane(n_qubits, circuit_kind, kind):
    seed = n_qubits
    if circuit_kind == "blocks":
        gates = block_circuit(n_qubits, seed, blocks=n_qubits + 2)
    else:
        gates = [GateSpec("H", (1,)), *random_circuit(n_qubits, seed)]  # a fixed gate first, folded into the start
    bits = tuple(int(b) for b in np.random.default_rng(seed).integers(0, 2, n_qubits))
    circuit = AdjointCircuit(n_qubits, bits)
    for gate in gates:
        circuit.append(gate)
    k = sum(gate.trainable for gate in gates)
    assert circuit.n_trainable == k
    angles = np.random.default_rng(seed + 10).uniform(-np.pi, np.pi, k)
    ours, measure = observables(kind, n_qubits, seed)

    leaf = torch.tensor(angles, requires_grad=True)
    expected = pennylane_circuit(gates, n_qubits, bits, measure)(leaf)
    (expected_grad,) = torch.autograd.grad(expected, leaf)
    value, grad = circuit.value_and_grad(angles, ours)
    assert value == pytest.approx(expected.item(), abs=TOL)
    np.testing.assert_allclose(grad, expected_grad.numpy(), rtol=0, atol=TOL)

    state = pennylane_circuit(gates, n_qubits, bits, qml.state)(torch.tensor(angles))
    np.testing.assert_allclose(circuit.state(angles), state.numpy(), rtol=0, atol=TOL)
    assert ours.value(circuit.state(angles)) == pytest.approx(value, abs=TOL)


@pytest.mark.parametrize("name", GATES)
def test_every_gate_between_trainable_gates_matches_pennylane(name):
    """Each gate once, so an error in its inverse (the backward sweep) is not cancelled by a twin."""
    gate = GateSpec(name, (1, 0) if name in TWO_QUBIT_GATES else (1,))
    gates = [GateSpec("RX", (0,)), GateSpec("RY", (1,)), gate, GateSpec("RY", (0,)), GateSpec("RX", (1,))]
    angles = np.array([0.3, -1.1, 0.7, 2.1, -0.4][: sum(g.trainable for g in gates)])
    circuit = AdjointCircuit(2, (1, 0))
    for g in gates:
        circuit.append(g)
    ours, measure = observables("matrix", 2, seed=4)
    leaf = torch.tensor(angles, requires_grad=True)
    expected = pennylane_circuit(gates, 2, (1, 0), measure)(leaf)
    (expected_grad,) = torch.autograd.grad(expected, leaf)
    value, grad = circuit.value_and_grad(angles, ours)
    assert value == pytest.approx(expected.item(), abs=TOL)
    np.testing.assert_allclose(grad, expected_grad.numpy(), rtol=0, atol=TOL)


def test_the_circuit_grows_gate_by_gate():
    """Appending after evaluating keeps every earlier gate (the environment's usage)."""
    gates = [GateSpec("X", (1,)), GateSpec("RY", (0,)), GateSpec("CNOT", (0, 1)), GateSpec("RZ", (1,)), GateSpec("S", (1,))]
    circuit = AdjointCircuit(2)
    target = random_state(4, seed=0).numpy()
    for count, gate in enumerate(gates, start=1):
        circuit.append(gate)
        angles = np.linspace(0.3, 0.9, circuit.n_trainable)
        expected = pennylane_circuit(gates[:count], 2, (0, 0), qml.state)(torch.tensor(angles)).numpy()
        np.testing.assert_allclose(circuit.state(angles), expected, rtol=0, atol=TOL)
        value, _ = circuit.value_and_grad(angles, Observable(target=target))
        assert value == pytest.approx(abs(np.vdot(target, expected)) ** 2, abs=TOL)


def test_bad_inputs_name_the_value_and_the_fix():
    circuit = AdjointCircuit(2)
    circuit.append(GateSpec("RY", (0,)))
    circuit.append(GateSpec("RX", (1,)))
    with pytest.raises(QnasError, match=r"2 trainable gate\(s\).*shape \(2,\)"):
        circuit.state([0.1])
    with pytest.raises(QnasError, match="acts on 8 amplitudes"):
        circuit.value_and_grad([0.1, 0.2], Observable(target=random_state(8, seed=0)))
    with pytest.raises(QnasError, match=r"gates\[0\]: CNOT wires = \[0, 2\].*in 0\.\.1"):
        circuit.append(GateSpec("CNOT", (0, 2)))
    with pytest.raises(QnasError, match="exactly one of matrix"):
        Observable()
