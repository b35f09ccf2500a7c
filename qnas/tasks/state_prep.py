"""State-preparation tasks: reach a fixed target state from |0...0>, scored by fidelity."""

from __future__ import annotations

from typing import Any

import numpy as np

from qnas.errors import TaskError
from qnas.tasks.base import Task, check_int

MAX_GHZ_QUBITS = 20


class StatePrepTask(Task):
    """Prepare `target_state` (complex128, length 2**n, wire 0 the most significant bit)."""

    kind = "state_prep"
    metric = "fidelity"
    direction = "maximize"

    def __init__(self, name: str, params: dict[str, Any], target_state: np.ndarray, label: str) -> None:
        super().__init__(name, params)
        target = np.asarray(target_state, dtype=np.complex128)
        n_qubits = int(np.log2(target.size)) if target.size else 0
        if target.ndim != 1 or target.size != 2**n_qubits or n_qubits < 1:
            raise TaskError(f"{name}: target state must be a vector of length 2**n, got shape {target.shape}.")
        if not np.isclose(np.linalg.norm(target), 1.0, atol=1e-10):
            raise TaskError(f"{name}: target state must have norm 1, got {np.linalg.norm(target):.6g}.")
        self.target_state = target
        self.n_qubits = n_qubits
        self._label = label

    @property
    def required_qubits(self) -> int:
        return self.n_qubits

    def fidelity(self, state: Any) -> float:
        """|<target|state>|^2 for a normalized state vector given as a numpy array or a torch tensor."""
        if hasattr(state, "detach"):  # torch tensor: no need to import torch here
            state = state.detach().cpu().numpy()
        vector = np.asarray(state, dtype=np.complex128).reshape(-1)
        if vector.size != self.target_state.size:
            raise TaskError(
                f"{self.name}: state has {vector.size} amplitudes but the target has {self.target_state.size} "
                f"({self.n_qubits} qubits)."
            )
        return float(abs(np.vdot(self.target_state, vector)) ** 2)

    def describe(self) -> str:
        return f"{self.name}: {self.n_qubits} qubits, target {self._label}"


def _ghz_vector(n: int) -> np.ndarray:
    vector = np.zeros(2**n, dtype=np.complex128)
    vector[0] = vector[-1] = 1 / np.sqrt(2)
    return vector


def build_bell() -> StatePrepTask:
    """The Bell state (|00> + |11>)/sqrt(2)."""
    return StatePrepTask("bell", {}, _ghz_vector(2), "(|00>+|11>)/sqrt(2)")


def build_ghz(*, n: int = 3) -> StatePrepTask:
    """The n-qubit GHZ state (|0...0> + |1...1>)/sqrt(2)."""
    n = check_int("ghz", "n", n, 2, MAX_GHZ_QUBITS)
    return StatePrepTask("ghz", {"n": n}, _ghz_vector(n), f"(|{'0' * n}>+|{'1' * n}>)/sqrt(2)")
