"""VQE on a Hamiltonian given as a dense matrix in a `.npz` file (task `npz`).

Published architecture-search benchmarks ship their qubit Hamiltonians as matrices (for example
LiH in 4 qubits with the parity mapping and tapering, Ostaszewski et al. 2021, CRLQAS 2024), not
as molecules. Loading them as they are makes results comparable with those papers. The matrix
is decomposed into Pauli terms, so circuits, scoring, export and the RL environment treat it
like any other VQE task.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pennylane as qml

from qnas.errors import TaskError
from qnas.tasks.base import file_sha256
from qnas.tasks.vqe import VQETask

MAX_MATRIX_QUBITS = 10
"""A 2^n x 2^n matrix is decomposed into up to 4^n Pauli terms, each a pass over the matrix: at
10 qubits that already takes seconds. Larger Hamiltonians are better given as Pauli terms (`pauli`)."""

_USAGE = "make_task('npz', path='hamiltonian.npz') with a key 'hamiltonian' holding a 2^n x 2^n Hermitian matrix"


def build_npz(*, path: str | os.PathLike[str] | None = None) -> VQETask:
    """The Hamiltonian in `path` (key `hamiltonian`). Without a known Hartree-Fock state for an
    arbitrary mapping, the ansatz starts from the computational basis state of lowest energy."""
    if path is None or not isinstance(path, (str, os.PathLike)):
        raise TaskError(f"npz: path = {path!r} must be a file path; call {_USAGE}.")
    file = Path(path).resolve()
    if not file.is_file():
        raise TaskError(f"npz: Hamiltonian file {str(file)!r} was not found. Check the path; call {_USAGE}.")
    try:
        with np.load(file, allow_pickle=False) as data:  # never unpickle: a .npz can carry code
            if "hamiltonian" not in data:
                raise TaskError(f"npz: {file} has keys {sorted(data.files)}, not 'hamiltonian'; call {_USAGE}.")
            matrix = np.asarray(data["hamiltonian"], dtype=np.complex128)
    except (ValueError, OSError) as exc:
        raise TaskError(f"npz: {file} is not a readable numpy .npz without pickled objects ({exc}).") from None
    n_qubits = _check_matrix(matrix, file)
    hamiltonian = qml.pauli_decompose(matrix, wire_order=range(n_qubits), pauli=False)
    diagonal = np.real(np.diag(matrix))
    lowest = int(np.argmin(diagonal))
    reference = tuple(int(bit) for bit in np.binary_repr(lowest, width=n_qubits))
    task = VQETask("npz", {"path": str(file)}, hamiltonian, n_qubits, reference)
    task.data_sha256 = file_sha256(str(file))
    return task


def _check_matrix(matrix: np.ndarray, file: Path) -> int:
    size = matrix.shape[0] if matrix.ndim == 2 else 0
    n_qubits = int(np.log2(size)) if size else 0
    if matrix.ndim != 2 or matrix.shape[1] != size or size < 2 or 2**n_qubits != size:
        raise TaskError(f"npz: 'hamiltonian' in {file} has shape {matrix.shape}; it must be square, 2^n x 2^n.")
    if n_qubits > MAX_MATRIX_QUBITS:
        raise TaskError(
            f"npz: {file} acts on {n_qubits} qubits; a matrix may have at most {MAX_MATRIX_QUBITS} (its Pauli "
            "decomposition grows as 4^n). Give a larger Hamiltonian as Pauli terms: task 'pauli'."
        )
    if not np.all(np.isfinite(matrix)):
        raise TaskError(f"npz: 'hamiltonian' in {file} holds NaN or infinite entries; fix the file.")
    if not np.allclose(matrix, matrix.conj().T, atol=1e-9):
        raise TaskError(f"npz: 'hamiltonian' in {file} is not Hermitian; a Hamiltonian must equal its conjugate transpose.")
    return n_qubits
