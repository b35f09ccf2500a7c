"""Exact ground energies of qubit Hamiltonians given as Pauli terms, and how large they may be.

A VQE task is scored as the error to its exact ground energy, so every task needs one. The
Hamiltonian is built as a sparse matrix straight from its Pauli terms: a Pauli word maps each
basis state to one other (its X and Y letters flip bits), so the matrix has one nonzero per
column for each distinct X/Y pattern. Up to DENSE_DIMENSION basis states a dense eigensolver is
fast and robust; above it ARPACK (`scipy.sparse.linalg.eigsh`) finds the lowest eigenvalue.

A molecule's energy is the lowest among the states with its electron count (`Sector`): its
qubit Hamiltonian also holds every other charge state, and for an ion another one is often lower
(H3+ as a 0.9 Å triangle: -1.268 Ha with its 2 electrons, -1.315 Ha with 3).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse
from scipy.sparse.linalg import eigsh

from qnas.errors import TaskError

MAX_EXACT_QUBITS = 20
"""Measured on 2 CPU cores with 24 GiB (benchmarks/exact_energy.py, BENCHMARKS.md "Exact ground
energies"): each qubit more doubles the memory and multiplies the time by two to three, and at 20
a molecule already takes minutes and gigabytes, before the search's first candidate."""

DENSE_DIMENSION = 2**10
"""Up to this many basis states, all eigenvalues of the dense matrix: quick, and no iteration to converge."""

MEMORY_FRACTION = 0.5
"""Share of this machine's memory the sparse matrix and its eigensolver may take."""

TermList = Sequence[tuple[float, str]]
"""(coefficient, Pauli word) pairs; word[i] acts on wire i, and wire 0 is the most significant bit."""


@dataclass(frozen=True)
class Sector:
    """The basis states where a diagonal observable (Z and I terms only) equals `value`.

    The Hamiltonian must conserve the observable, as a molecule's conserves its electron count
    in every fermion-to-qubit mapping (where the number operator is a sum of Z products)."""

    terms: tuple[tuple[float, str], ...]
    value: float


def check_qubits(label: str, n_qubits: int, fix: str) -> None:
    """Refuse a Hamiltonian too large to diagonalize here, before anything is built for it."""
    if n_qubits > MAX_EXACT_QUBITS:
        raise TaskError(
            f"{label}: {n_qubits} qubits is more than this machine diagonalizes exactly: at most {MAX_EXACT_QUBITS}. "
            f"The exact ground energy every candidate is scored against comes from a 2^n x 2^n sparse matrix; "
            f"each qubit more doubles its memory and multiplies its time by two to three, and at {MAX_EXACT_QUBITS} "
            f"qubits a molecule already takes minutes and gigabytes on this machine (BENCHMARKS.md). {fix}"
        )


def ground_energy(terms: TermList, n_qubits: int, sector: Sector | None = None, label: str = "hamiltonian") -> float:
    """The lowest eigenvalue of sum(c * word), over all basis states or only those in `sector`."""
    check_qubits(label, n_qubits, "Use fewer qubits.")
    states = np.arange(2**n_qubits, dtype=np.int64)
    if sector is not None:
        states = states[np.isclose(diagonal(sector.terms, n_qubits), sector.value, atol=1e-8)]
        if states.size == 0:
            raise TaskError(f"{label}: no basis state has the sector value {sector.value}; check the sector.")
    matrix = _sparse_matrix(terms, n_qubits, states, label)
    if states.size <= DENSE_DIMENSION:
        return float(np.linalg.eigvalsh(matrix.toarray())[0])
    start = np.random.default_rng(0).standard_normal(states.size).astype(matrix.dtype)  # ARPACK repeats exactly
    return float(eigsh(matrix, k=1, which="SA", v0=start, return_eigenvectors=False)[0])


def diagonal(terms: TermList, n_qubits: int) -> np.ndarray:
    """The diagonal of sum(c * word) over every basis state (only the Z and I words contribute)."""
    states = np.arange(2**n_qubits, dtype=np.int64)
    values = np.zeros(states.size)
    for coeff, word in terms:
        flips, signs, _ = _masks(word)
        if flips == 0:
            values += coeff * _parity_signs(states, signs)
    return values


def _masks(word: str) -> tuple[int, int, int]:
    """(bits flipped, bits whose value sets a sign, number of Y): P|b> = i^y (-1)^popcount(b & signs) |b ^ flips>."""
    flips = signs = 0
    for i, letter in enumerate(word):
        bit = 1 << (len(word) - 1 - i)
        if letter in "XY":
            flips |= bit
        if letter in "YZ":
            signs |= bit
    return flips, signs, word.count("Y")


def _parity_signs(states: np.ndarray, mask: int) -> np.ndarray:
    return 1.0 - 2.0 * (np.bitwise_count(states & mask) & 1)


def _sparse_matrix(terms: TermList, n_qubits: int, states: np.ndarray, label: str) -> scipy.sparse.csc_array:
    """The Hamiltonian restricted to `states` (sorted), as a sparse matrix in their order.

    Column j holds one entry per X/Y pattern: the state that pattern sends states[j] to, with the
    summed weight of the pattern's terms. Inside a sector, a pattern's weights toward a state
    outside it cancel to zero (the Hamiltonian conserves the sector); those entries are kept as
    explicit zeros on the diagonal, so every column has the same length and no copy is needed."""
    real = all(word.count("Y") % 2 == 0 for _, word in terms)  # an odd number of Y makes an entry imaginary
    dtype = np.dtype(np.float64 if real else np.complex128)
    patterns: dict[int, list[tuple[complex, int]]] = {}
    for coeff, word in terms:
        flips, signs, n_y = _masks(word)
        patterns.setdefault(flips, []).append((coeff * 1j**n_y, signs))
    _check_memory(label, n_qubits, len(patterns), states.size, dtype.itemsize)
    position = np.full(2**n_qubits, -1, dtype=np.int64)
    position[states] = np.arange(states.size)
    data = np.zeros((states.size, len(patterns)), dtype)
    rows = np.empty((states.size, len(patterns)), np.int32)
    own = np.arange(states.size, dtype=np.int32)
    for k, (flips, members) in enumerate(patterns.items()):
        for weight, signs in members:
            data[:, k] += (weight.real if real else weight) * _parity_signs(states, signs)
        targets = position[states ^ flips]
        outside = targets < 0
        targets[outside] = own[outside]
        data[outside, k] = 0
        rows[:, k] = targets
    columns = np.arange(0, data.size + 1, len(patterns), dtype=np.int64)
    return scipy.sparse.csc_array((data.ravel(), rows.ravel(), columns), shape=(states.size, states.size))


def _check_memory(label: str, n_qubits: int, patterns: int, dimension: int, itemsize: int) -> None:
    """Refuse a matrix whose nonzeros and eigensolver would not fit in MEMORY_FRACTION of memory."""
    nonzeros = patterns * dimension
    needed = nonzeros * (itemsize + 4) + dimension * (30 * itemsize + 32)  # entries; ARPACK's vectors, indices
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > MEMORY_FRACTION * total:
        raise TaskError(
            f"{label}: the exact ground energy of this {n_qubits}-qubit Hamiltonian ({patterns} distinct X/Y patterns, "
            f"{dimension} basis states) needs about {needed / 2**30:.1f} GiB, more than {MEMORY_FRACTION:.0%} of this "
            f"machine's {total / 2**30:.1f} GiB. Use fewer qubits or fewer terms."
        )

