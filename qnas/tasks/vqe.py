"""Ground-state energy tasks: molecular Hamiltonians (PennyLane qchem) and spin chains.

The objective is the energy error E - E_exact, with E_exact from diagonalizing the dense
Hamiltonian, so every task has a known optimum of 0 and runs are comparable across tasks.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pennylane as qml
from pennylane.operation import Operator

from qnas.errors import TaskError
from qnas.tasks.base import Task, check_bool, check_float, check_int

MAX_SPIN_QUBITS = 10
"""Exact energies come from a dense 2^n x 2^n eigenproblem, whose work grows as 8^n: 2 qubits
more cost 64 times as much, so the cap stays where building a task is still quick."""


class VQETask(Task):
    """Minimize <psi|H|psi> for a Hamiltonian on wires 0..n-1; scored as the error to the exact energy."""

    kind = "vqe"
    metric = "energy_error"
    direction = "minimize"

    def __init__(
        self,
        name: str,
        params: dict[str, Any],
        hamiltonian: Operator,
        n_qubits: int,
        reference_state: tuple[int, ...] | None = None,
    ) -> None:
        super().__init__(name, params)
        if not set(hamiltonian.wires.tolist()) <= set(range(n_qubits)):
            raise TaskError(f"{name}: Hamiltonian wires {hamiltonian.wires.tolist()} must lie in 0..{n_qubits - 1}.")
        self.hamiltonian = hamiltonian
        self.n_qubits = n_qubits
        self._pauli_terms = _pauli_terms(name, hamiltonian, n_qubits)
        self.exact_energy = float(np.linalg.eigvalsh(dense_matrix(hamiltonian, n_qubits))[0])
        self.reference_state = tuple(reference_state or (0,) * n_qubits)
        """Basis state the ansatz starts from: Hartree-Fock for molecules, as in standard VQE, so the
        search spends its layers on correlation rather than on finding the occupied orbitals."""

    @property
    def required_qubits(self) -> int:
        return self.n_qubits

    def pauli_terms(self) -> list[tuple[float, str]]:
        """(coefficient, Pauli word) pairs whose sum is exactly the Hamiltonian; word[i] acts on wire i."""
        return list(self._pauli_terms)

    def energy_error(self, energy: Any) -> Any:
        """energy - exact_energy; works on floats, numpy arrays and torch tensors alike."""
        return energy - self.exact_energy

    def describe(self) -> str:
        return (
            f"{self.name}: {self.n_qubits} qubits, {len(self._pauli_terms)} Pauli terms, "
            f"exact ground energy {self.exact_energy:.6f}"
        )


def dense_matrix(hamiltonian: Operator, n_qubits: int) -> np.ndarray:
    """The Hamiltonian as a dense matrix, wire 0 the most significant qubit."""
    return np.asarray(qml.matrix(hamiltonian, wire_order=range(n_qubits)), dtype=np.complex128)


def _pauli_terms(name: str, hamiltonian: Operator, n_qubits: int) -> list[tuple[float, str]]:
    sentence = hamiltonian.pauli_rep
    if sentence is None:
        raise TaskError(f"{name}: the Hamiltonian {hamiltonian!r} has no Pauli decomposition.")
    terms = []
    for word, coeff in sentence.items():
        coeff = complex(coeff)
        if abs(coeff.imag) > 1e-12:
            raise TaskError(
                f"{name}: Pauli term {word} has complex coefficient {coeff}; the Hamiltonian is not Hermitian."
            )
        letters = ["I"] * n_qubits
        for wire, pauli in word.items():
            letters[wire] = pauli
        terms.append((coeff.real, "".join(letters)))
    return terms


@functools.lru_cache(maxsize=32)
def _molecular_hamiltonian(
    symbols: tuple[str, ...], bond_length: float, active_electrons: int | None, active_orbitals: int | None
) -> tuple[Operator, int]:
    """Build once per process: LiH's Hartree-Fock plus integrals are the costly part of making its task."""
    coordinates = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, bond_length]])
    molecule = qml.qchem.Molecule(list(symbols), coordinates, unit="angstrom")
    return qml.qchem.molecular_hamiltonian(
        molecule, active_electrons=active_electrons, active_orbitals=active_orbitals, mapping="jordan_wigner"
    )


def build_h2(*, bond_length: float = 0.7414) -> VQETask:
    """H2 in STO-3G, all orbitals active: 4 qubits (Jordan-Wigner). Exact energy -1.13727 Ha at 0.7414 A."""
    params = {"bond_length": check_float("h2", "bond_length", bond_length, 0.2, 10.0)}
    hamiltonian, n_qubits = _molecular_hamiltonian(("H", "H"), params["bond_length"], None, None)
    return VQETask("h2", params, hamiltonian, n_qubits, _hartree_fock(2, n_qubits))


def build_lih(*, bond_length: float = 1.5949) -> VQETask:
    """LiH in STO-3G with 2 active electrons in 2 active orbitals: 4 qubits (Jordan-Wigner)."""
    params = {"bond_length": check_float("lih", "bond_length", bond_length, 0.2, 10.0)}
    hamiltonian, n_qubits = _molecular_hamiltonian(("Li", "H"), params["bond_length"], 2, 2)
    return VQETask("lih", params, hamiltonian, n_qubits, _hartree_fock(2, n_qubits))


def _hartree_fock(electrons: int, n_qubits: int) -> tuple[int, ...]:
    """The Hartree-Fock occupation (lowest spin orbitals filled) in Jordan-Wigner encoding."""
    return tuple(int(bit) for bit in qml.qchem.hf_state(electrons, n_qubits))


def _bonds(task: str, n: int, periodic: bool) -> list[tuple[int, int]]:
    if periodic and n < 3:
        raise TaskError(f"{task}: periodic=True needs n >= 3 (with n = {n} the wrap-around bond repeats bond (0, 1)).")
    return [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if periodic else [])


def build_tfim(*, n: int = 4, J: float = 1.0, h: float = 1.0, periodic: bool = False) -> VQETask:
    """Transverse-field Ising chain H = -J sum Z_i Z_{i+1} - h sum X_i."""
    params = {
        "n": check_int("tfim", "n", n, 2, MAX_SPIN_QUBITS),
        "J": check_float("tfim", "J", J, -1e6, 1e6),
        "h": check_float("tfim", "h", h, -1e6, 1e6),
        "periodic": check_bool("tfim", "periodic", periodic),
    }
    bonds = _bonds("tfim", params["n"], params["periodic"])
    coeffs = [-params["J"]] * len(bonds) + [-params["h"]] * params["n"]
    ops = [qml.Z(i) @ qml.Z(j) for i, j in bonds] + [qml.X(i) for i in range(params["n"])]
    return VQETask("tfim", params, qml.Hamiltonian(coeffs, ops), params["n"])


def build_heisenberg(*, n: int = 4, J: float = 1.0, periodic: bool = False) -> VQETask:
    """Isotropic Heisenberg chain H = J sum (X_i X_{i+1} + Y_i Y_{i+1} + Z_i Z_{i+1})."""
    params = {
        "n": check_int("heisenberg", "n", n, 2, MAX_SPIN_QUBITS),
        "J": check_float("heisenberg", "J", J, -1e6, 1e6),
        "periodic": check_bool("heisenberg", "periodic", periodic),
    }
    bonds = _bonds("heisenberg", params["n"], params["periodic"])
    ops = [pauli(i) @ pauli(j) for i, j in bonds for pauli in (qml.X, qml.Y, qml.Z)]
    return VQETask("heisenberg", params, qml.Hamiltonian([params["J"]] * len(ops), ops), params["n"])
