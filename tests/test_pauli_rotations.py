"""Pauli rotations (qnas.pauli_rotations), applied as one operation (qnas.adjoint), and the ADAPT
screen that grows circuits from them (qnas.agents.adapt): the compiled gates equal the matrix
exponential, values and gradients match PennyLane's PauliRot, and the screen's gradients are the
circuit's own."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pennylane as qml
import pytest
import scipy.linalg
import torch

from qnas.adjoint import AdjointCircuit, Observable
from qnas.agents.adapt import Adapt
from qnas.envs.scoring import CHEMICAL_ACCURACY
from qnas.errors import QnasError
from qnas.pauli_rotations import POOLS, PauliRotation, make_pool
from qnas.tasks import make_task
from tests.test_adjoint import random_pauli_hamiltonian

TOL = 1e-10
LIH6 = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "hamiltonians" / "lih_6q_jw_2.2A.npz"
WORDS = ["Y", "XY", "YZ", "ZIY", "XYZ", "YIXZ", "IXIY", "ZZZY", "XXXY"]


def pauli_matrix(word: str) -> np.ndarray:
    letters = {"I": np.eye(2), "X": qml.matrix(qml.X(0)), "Y": qml.matrix(qml.Y(0)), "Z": qml.matrix(qml.Z(0))}
    matrix = np.eye(1)
    for letter in word:
        matrix = np.kron(matrix, letters[letter])
    return matrix


def unitary(circuit_for_bits, n_qubits: int) -> np.ndarray:
    """The circuit's matrix, one column per basis state it starts from."""
    bits = [tuple(int(b) for b in np.binary_repr(index, n_qubits)) for index in range(2**n_qubits)]
    return np.stack([circuit_for_bits(b) for b in bits], axis=1)


@pytest.mark.parametrize("word", WORDS)
def test_the_compiled_gates_equal_the_matrix_exponential(word):
    n_qubits, theta = len(word), 0.731
    expected = scipy.linalg.expm(-0.5j * theta * pauli_matrix(word))

    def compiled(bits):
        circuit = AdjointCircuit(n_qubits, bits)
        for gate in PauliRotation(word).compile():
            circuit.append(gate)
        return circuit.state([theta])

    def one_operation(bits):
        circuit = AdjointCircuit(n_qubits, bits)
        circuit.append_pauli_rotation(word, PauliRotation(word).compile())
        return circuit.state([theta])

    assert np.abs(unitary(compiled, n_qubits) - expected).max() < TOL
    assert np.abs(unitary(one_operation, n_qubits) - expected).max() < TOL
    cnots = sum(gate.name == "CNOT" for gate in PauliRotation(word).compile())
    assert cnots == PauliRotation(word).n_cnots == 2 * (len(word.replace("I", "")) - 1)


def test_values_and_gradients_match_pennylane_pauli_rot():
    n_qubits, words = 4, ["XYIZ", "IYZI", "YIIX", "ZZYY"]
    hamiltonian = random_pauli_hamiltonian(n_qubits, seed=3)
    angles = np.array([0.3, -1.1, 2.0, 0.7])
    circuit = AdjointCircuit(n_qubits, (1, 0, 1, 0))
    for word in words:
        circuit.append_pauli_rotation(word, PauliRotation(word).compile())
    value, grad = circuit.value_and_grad(angles, Observable(matrix=hamiltonian.sparse_matrix(wire_order=range(4))))

    @qml.qnode(qml.device("default.qubit", wires=n_qubits), interface="torch", diff_method="backprop")
    def reference(weights):
        qml.BasisState(np.array([1, 0, 1, 0]), wires=range(n_qubits))
        for weight, word in zip(weights, words, strict=True):
            qml.PauliRot(weight, word, wires=range(n_qubits))
        return qml.expval(hamiltonian)

    weights = torch.tensor(angles, requires_grad=True)
    expected = reference(weights)
    expected.backward()
    assert abs(value - expected.item()) < 1e-8
    assert np.abs(grad - weights.grad.numpy()).max() < 1e-8


def test_bad_words_and_pools_name_the_value_and_the_fix():
    with pytest.raises(QnasError, match=r"'XQ' must be letters I, X, Y, Z"):
        PauliRotation("XQ")
    with pytest.raises(QnasError, match=r"with at least one that is not I"):
        PauliRotation("II")
    with pytest.raises(QnasError, match=r"'XY' must have one letter I, X, Y or Z per qubit \(3\)"):
        AdjointCircuit(3).append_pauli_rotation("XY", PauliRotation("XY").compile())
    with pytest.raises(QnasError, match=r"pool = 'uccsd' .*qubit-excitations"):
        make_pool("uccsd", 4)
    with pytest.raises(QnasError, match=r"has 0 occupied of 4; use a molecule task"):
        make_pool("qubit-excitations", 4, (0, 0, 0, 0))


@pytest.mark.parametrize("name", POOLS)
def test_pools_hold_distinct_real_rotations_of_the_right_width(name):
    pool = make_pool(name, 6, (1, 1, 0, 0, 0, 0))
    words = [rotation.word for rotation in pool]
    assert len(words) == len(set(words)) > 0 and all(len(word) == 6 for word in words)
    assert all(word.count("Y") % 2 == 1 for word in words)  # odd in Y: real rotations keep real states real
    assert {"minimal": 10, "pairs": 6 + 15 * 4, "qubit-excitations": 2 * 8 + 6 * 8}[name] == len(pool)


def test_the_screen_gives_the_gradient_of_each_operator_appended_at_zero():
    task = make_task("npz", path=str(LIH6))
    adapt = Adapt(task, make_pool("qubit-excitations", 6, task.reference_state))
    adapt.step(np.random.default_rng(0))  # off Hartree-Fock, where most gradients vanish
    gradients = adapt.screen()
    scorer = adapt.scorer
    for index in np.argsort(-np.abs(gradients))[:5]:
        rotation = adapt.pool[index]
        circuit = AdjointCircuit(6, task.reference_state)
        for step in adapt.steps:
            circuit.append_pauli_rotation(step.word, PauliRotation(step.word).compile())
        circuit.append_pauli_rotation(rotation.word, rotation.compile())
        _, grad = circuit.value_and_grad(np.append(scorer.angles, 0.0), scorer.observable)
        assert abs(grad[-1] - gradients[index]) < 1e-10


def test_adapt_reaches_chemical_accuracy_on_lih6_in_a_few_operators():
    task = make_task("npz", path=str(LIH6))
    adapt = Adapt(task, make_pool("qubit-excitations", 6, task.reference_state))
    steps = adapt.run(np.random.default_rng(0))
    assert adapt.reached and steps[-1].energy_error <= CHEMICAL_ACCURACY
    assert len(steps) <= 6 and all(a.energy_error >= b.energy_error - 1e-9 for a, b in itertools.pairwise(steps))


def test_adapt_stops_when_the_screen_sees_nothing_and_refuses_other_task_kinds():
    task = make_task("npz", path=str(LIH6))
    adapt = Adapt(task, make_pool("pairs", 6))  # no weight-2 rotation lowers Hartree-Fock's energy
    assert adapt.run(np.random.default_rng(0)) == [] and not adapt.reached
    with pytest.raises(QnasError, match="ground-state \\(vqe\\) tasks; task 'bell' is state_prep"):
        Adapt(make_task("bell"), make_pool("pairs", 2))
    with pytest.raises(QnasError, match="Pauli words of 6 letters"):
        Adapt(task, make_pool("pairs", 4))
