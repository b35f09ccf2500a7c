"""The parity mapping's two-qubit reduction (Bravyi et al. 2017; Qiskit's `ParityMapper` given
the particle numbers): how the architecture-search papers' LiH-4 is built (Ostaszewski et al.
2021, CRLQAS 2024: LiH, frozen core, parity mapping, 4 qubits).

Why it is exact: with the spin orbitals ordered spin-up first, then spin-down, the parity
mapping's qubit k holds the parity of the electrons in orbitals 0..k. Qubit n/2 - 1 then holds
the parity of the spin-up electrons and qubit n - 1 that of all electrons. Both are conserved, so
in the mapped Hamiltonian these two qubits carry only Z or I, and fixing them at their
eigenvalues removes two qubits without changing any energy of the fixed electron count.
PennyLane orders spin orbitals alternately (up, down, up, ...), so the operator is reordered
first.
"""

from __future__ import annotations

import pennylane as qml
from pennylane.fermi import FermiSentence, FermiWord
from pennylane.operation import Operator
from pennylane.pauli import PauliSentence, PauliWord


def block_spin_order(operator: FermiSentence, n_spatial: int) -> FermiSentence:
    """`operator` with PennyLane's spin orbital 2p (up) renumbered p and 2p + 1 (down) n_spatial + p."""
    reordered = FermiSentence({})
    for word, coefficient in operator.items():
        renamed = FermiWord({(position, mode // 2 + (mode % 2) * n_spatial): op for (position, mode), op in word.items()})
        reordered[renamed] = reordered.get(renamed, 0.0) + coefficient
    return reordered


def reduced_parity_observable(operator: FermiSentence, n_spatial: int, up: int, down: int) -> Operator:
    """`operator` (in PennyLane's spin order) on 2 n_spatial - 2 qubits: reordered, parity-mapped,
    and its qubits n_spatial - 1 and 2 n_spatial - 1 fixed by `up` spin-up and `down` spin-down electrons."""
    n_qubits = 2 * n_spatial
    mapped = qml.parity_transform(block_spin_order(operator, n_spatial), n_qubits, tol=1e-10)
    fixed = {n_spatial - 1: (-1.0) ** up, n_qubits - 1: (-1.0) ** (up + down)}
    reduced: dict[PauliWord, float] = {}
    for word, coefficient in qml.pauli.pauli_sentence(mapped).items():
        paulis = dict(word)
        sign = 1.0
        for qubit, eigenvalue in fixed.items():
            pauli = paulis.pop(qubit, "I")
            if pauli not in ("I", "Z"):
                raise ValueError(f"qubit {qubit} carries {pauli}: the operator does not conserve spin-up and total parity")
            sign *= eigenvalue if pauli == "Z" else 1.0
        kept = PauliWord({_reduced_wire(qubit, n_spatial): pauli for qubit, pauli in paulis.items()})
        reduced[kept] = reduced.get(kept, 0.0) + sign * float(qml.math.real(coefficient))
    return PauliSentence({word: c for word, c in reduced.items() if abs(c) > 1e-10}).operation(
        wire_order=range(n_qubits - 2)
    )


def reduced_parity_state(n_spatial: int, up: int, down: int) -> tuple[int, ...]:
    """The Hartree-Fock basis state (lowest orbitals filled) in the reduced parity encoding."""
    occupied = [int(p < up) for p in range(n_spatial)] + [int(p < down) for p in range(n_spatial)]
    parities = [sum(occupied[: k + 1]) % 2 for k in range(2 * n_spatial)]
    return tuple(bit for k, bit in enumerate(parities) if k not in (n_spatial - 1, 2 * n_spatial - 1))


def _reduced_wire(qubit: int, n_spatial: int) -> int:
    """Where `qubit` lands once qubit n_spatial - 1 is removed (qubit 2 n_spatial - 1 is the last)."""
    return qubit if qubit < n_spatial - 1 else qubit - 1
