"""Ground-state energy tasks (`VQETask`), and the spin chains: TFIM and Heisenberg/XXZ.

The objective is the energy error E - E_exact, with E_exact from exact diagonalization
(`qnas.tasks.exact`, cached on disk by `qnas.tasks.energy_cache`), so every task has a known
optimum of 0 and runs are comparable across tasks. Molecules are in `qnas.tasks.molecule`,
Hamiltonians from a file in `qnas.tasks.pauli_file` and `qnas.tasks.matrix_vqe`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pennylane as qml
from pennylane.operation import Operator

from qnas.errors import TaskError
from qnas.tasks.base import Task, check_bool, check_float, check_int
from qnas.tasks.energy_cache import cached_ground_energy
from qnas.tasks.exact import MAX_EXACT_QUBITS, Sector, check_qubits


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
        sector: Sector | None = None,
    ) -> None:
        """`sector`: the basis states the exact energy is taken over (a molecule's electron count);
        None for all of them."""
        super().__init__(name, params)
        if not set(hamiltonian.wires.tolist()) <= set(range(n_qubits)):
            raise TaskError(f"{name}: Hamiltonian wires {hamiltonian.wires.tolist()} must lie in 0..{n_qubits - 1}.")
        check_qubits(name, n_qubits, "Use fewer qubits.")
        self.hamiltonian = hamiltonian
        self.n_qubits = n_qubits
        self._pauli_terms = pauli_terms_of(name, hamiltonian, n_qubits)
        self.exact_energy = cached_ground_energy(self._pauli_terms, n_qubits, sector, name)
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


def pauli_terms_of(name: str, hamiltonian: Operator, n_qubits: int) -> list[tuple[float, str]]:
    """(real coefficient, Pauli word) pairs of an operator; word[i] acts on wire i."""
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


def _chain_length(task: str, n: Any) -> int:
    """At least 2 sites, and no more qubits than exact diagonalization handles (that error says why)."""
    if isinstance(n, int) and not isinstance(n, bool):
        check_qubits(task, n, "Use a shorter chain (n).")
    return check_int(task, "n", n, 2, MAX_EXACT_QUBITS)


def _bonds(task: str, n: int, periodic: bool) -> list[tuple[int, int]]:
    if periodic and n < 3:
        raise TaskError(f"{task}: periodic=True needs n >= 3 (with n = {n} the wrap-around bond repeats bond (0, 1)).")
    return [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if periodic else [])


def build_tfim(*, n: int = 4, J: float = 1.0, h: float = 1.0, periodic: bool = False) -> VQETask:
    """Transverse-field Ising chain H = -J sum Z_i Z_{i+1} - h sum X_i."""
    params = {
        "n": _chain_length("tfim", n),
        "J": check_float("tfim", "J", J, -1e6, 1e6),
        "h": check_float("tfim", "h", h, -1e6, 1e6),
        "periodic": check_bool("tfim", "periodic", periodic),
    }
    bonds = _bonds("tfim", params["n"], params["periodic"])
    coeffs = [-params["J"]] * len(bonds) + [-params["h"]] * params["n"]
    ops = [qml.Z(i) @ qml.Z(j) for i, j in bonds] + [qml.X(i) for i in range(params["n"])]
    return VQETask("tfim", params, qml.Hamiltonian(coeffs, ops), params["n"])


def build_heisenberg(
    *, n: int = 4, J: float = 1.0, delta: float = 1.0, h: float = 0.0, periodic: bool = False
) -> VQETask:
    """Heisenberg/XXZ chain H = J sum (X_i X_{i+1} + Y_i Y_{i+1} + delta Z_i Z_{i+1}) + h sum Z_i.

    delta = 1 is the isotropic Heisenberg chain (the default, as before delta existed), any other
    value the XXZ chain; the field h lies along Z, so total S_z stays conserved."""
    params = {
        "n": _chain_length("heisenberg", n),
        "J": check_float("heisenberg", "J", J, -1e6, 1e6),
        "delta": check_float("heisenberg", "delta", delta, -1e6, 1e6),
        "h": check_float("heisenberg", "h", h, -1e6, 1e6),
        "periodic": check_bool("heisenberg", "periodic", periodic),
    }
    bonds = _bonds("heisenberg", params["n"], params["periodic"])
    coeffs, ops = [], []
    for i, j in bonds:
        coeffs += [params["J"], params["J"], params["J"] * params["delta"]]
        ops += [qml.X(i) @ qml.X(j), qml.Y(i) @ qml.Y(j), qml.Z(i) @ qml.Z(j)]
    if params["h"] != 0:
        coeffs += [params["h"]] * params["n"]
        ops += [qml.Z(i) for i in range(params["n"])]
    return VQETask("heisenberg", params, qml.Hamiltonian(coeffs, ops), params["n"])
