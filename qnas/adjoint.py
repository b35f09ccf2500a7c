"""A growing gate list's score and its exact gradient, by the adjoint method, in numpy.

Why: the circuit-design environment re-optimizes every angle after each action, tens of times
per step. An evaluation here costs a few vector operations on the 2**n amplitudes per gate, one
product with the (sparse) observable, and one backward sweep for the whole gradient (the adjoint
method, Jones and Gacon 2020, arXiv:2009.02823), so it grows with the gates and the angles, not
with 4**n or with the angles squared as folding gates into dense matrices did.

Every gate acts as U psi = diag * psi + off * psi[perm]: vectors over the amplitude indices and a
permutation of them (the flip of the target bit), built once when the gate is appended. A
trainable gate exp(-i theta G / 2) is a * psi + sin(theta / 2) K psi, where K = -iG has the same
form and a is cos(theta / 2) where the gate acts (1 on a CRZ's control-0 half). Its derivative is
K U / 2, so dE/dtheta_j = Re <lambda_j| K_j |psi_j>, with psi_j the state after gate j and
lambda_j = U_{j+1}^dag ... U_m^dag O psi, one vector carried back through the gates.

Arithmetic stays real (float64) while every gate and the observable are real (RY, CNOT, CZ, H,
X, Z from a basis state, with a real Hamiltonian): half the work of complex arithmetic.
Conventions are `qnas.statevector`'s, PennyLane's: wire 0 is the most significant bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse

from qnas.errors import QnasError
from qnas.statevector import CONTROLLED, FIXED_MATRICES, Gate, basis_state, check_gates, gate_matrix


def _compact(vector: np.ndarray | None) -> np.ndarray | None:
    """`vector` as float64 when its imaginary part is 0, so real circuits stay real."""
    if vector is None or not np.iscomplexobj(vector) or np.any(vector.imag):
        return vector
    return np.ascontiguousarray(vector.real)


class _Action:
    """psi -> diag * psi + off * psi[perm]; a part that is None is left out (off None: 1)."""

    def __init__(self, diag: np.ndarray | None, off: np.ndarray | None, perm: np.ndarray | None) -> None:
        self.diag, self.off, self.perm = diag, off, perm

    @classmethod
    def on_target(
        cls, matrix: np.ndarray, wires: Sequence[int], n_qubits: int, identity_elsewhere: bool
    ) -> _Action:
        """A 2x2 `matrix` on the last of `wires`. Where a two-qubit gate's control is 0 it acts as
        the identity (`identity_elsewhere`: a gate) or as 0 (a generator)."""
        index = np.arange(2**n_qubits)
        target = (index >> (n_qubits - 1 - wires[-1])) & 1
        diag = matrix[target, target].astype(complex)
        off = matrix[target, 1 - target].astype(complex)
        perm = index ^ (1 << (n_qubits - 1 - wires[-1]))
        if len(wires) == 2:
            idle = ((index >> (n_qubits - 1 - wires[0])) & 1) == 0
            if identity_elsewhere and not np.any(diag[~idle]):  # CNOT: one gather, identity where idle
                perm[idle], off[idle] = index[idle], 1.0
            else:
                diag[idle], off[idle] = float(identity_elsewhere), 0.0
        return cls(
            _compact(diag) if np.any(diag) else None,
            None if not np.any(off) or np.all(off == 1) else _compact(off),
            perm if np.any(off) else None,
        )

    def __call__(self, psi: np.ndarray) -> np.ndarray:
        moved = None
        if self.perm is not None:
            moved = psi[self.perm] if self.off is None else self.off * psi[self.perm]
        if self.diag is None:
            return moved
        return self.diag * psi if moved is None else self.diag * psi + moved

    def adjoint(self) -> _Action:
        """The conjugate transpose: perm is its own inverse, so its parts are conjugated and permuted."""
        diag = None if self.diag is None else self.diag.conj()
        return _Action(diag, None if self.off is None else self.off.conj()[self.perm], self.perm)


class _Fixed:
    """An angle-free gate (or one with a fixed angle) and its inverse."""

    trainable = False

    def __init__(self, gate: Gate, n_qubits: int) -> None:
        self.forward = _Action.on_target(gate_matrix(gate).numpy(), gate.wires, n_qubits, identity_elsewhere=True)
        self.backward = self.forward.adjoint()


def pauli_kick(word: str) -> _Action:
    """K = -iP for a Pauli word P (letters I, X, Y, Z; letter i acts on wire i, the most
    significant bit first): P|b> = phase(b) |b ^ flips>, so K psi = off * psi[b ^ flips]."""
    n_qubits = len(word)
    index = np.arange(2**n_qubits)
    flips, phase = 0, np.ones(2**n_qubits, dtype=complex)
    for wire, letter in enumerate(word):
        shift = n_qubits - 1 - wire
        bit = (index >> shift) & 1
        if letter in "XY":
            flips |= 1 << shift
        if letter == "Y":
            phase *= 1j * (1 - 2 * bit)  # Y|0> = i|1>, Y|1> = -i|0>
        elif letter == "Z":
            phase *= 1 - 2 * bit
    if not flips:
        return _Action(_compact(-1j * phase), None, None)
    perm = index ^ flips
    return _Action(None, _compact(-1j * phase[perm]), perm)


class _Rotation:
    """A trainable exp(-i theta G / 2) for G = X, Y or Z on the target (CRZ: on its control-1 half),
    or for G a Pauli word on any wires (`word`). Its angle is `scale` times parameter `param`:
    rotations about commuting words may share one parameter (a fermionic excitation)."""

    trainable = True

    def __init__(
        self, gate: Gate | None, n_qubits: int, param: int, word: str | None = None, scale: float = 1.0
    ) -> None:
        self.param, self.scale = param, scale
        self.idle: np.ndarray | None = None
        if gate is None:
            self.kick = pauli_kick(word)
            return
        pauli = FIXED_MATRICES[CONTROLLED.get(gate.name, gate.name)[1]].numpy()
        self.kick = _Action.on_target(-1j * pauli, gate.wires, n_qubits, identity_elsewhere=False)
        """K = -iG, zero where a CRZ's control is 0."""
        if len(gate.wires) == 2:
            index = np.arange(2**n_qubits)
            self.idle = (((index >> (n_qubits - 1 - gate.wires[0])) & 1) == 0).astype(float)

    def apply(self, psi: np.ndarray, theta: float) -> np.ndarray:
        """The gate at `theta` on `psi` (its inverse at -theta)."""
        c, s = math.cos(theta / 2), math.sin(theta / 2)  # math: a third of numpy's time on a scalar
        scale = c if self.idle is None else c + (1 - c) * self.idle
        return scale * psi + s * self.kick(psi)


class Observable:
    """What a circuit is scored by: <psi|O|psi> for a Hermitian O (dense, or scipy sparse for a
    Hamiltonian of Pauli terms), or the fidelity |<t|psi>|^2 to a target state t."""

    def __init__(self, *, matrix: Any = None, target: Any = None) -> None:
        if (matrix is None) == (target is None):
            raise QnasError("Observable needs exactly one of matrix= (a Hermitian matrix) or target= (a state vector).")
        self._target: np.ndarray | None = None
        self._real_target: np.ndarray | None = None
        if target is not None:
            self._target = np.asarray(target, dtype=complex).reshape(-1)
            self._real_target = _compact(self._target.copy())
            self.dim = self._target.size
            return
        if scipy.sparse.issparse(matrix):
            self._matrix = scipy.sparse.csr_matrix(matrix, dtype=complex)
            real = self._matrix.real.tocsr() if not np.any(self._matrix.data.imag) else None
        else:
            self._matrix = np.asarray(matrix, dtype=complex)
            real = self._matrix.real.copy() if not np.any(self._matrix.imag) else None
        self._real_matrix = real
        """Used on real states: scipy would convert a real matrix on every product with a complex state."""
        self.dim = self._matrix.shape[0]

    def apply(self, psi: np.ndarray) -> np.ndarray:
        """O psi."""
        real = not np.iscomplexobj(psi)
        if self._target is not None:
            target = self._real_target if real and not np.iscomplexobj(self._real_target) else self._target
            return target * np.vdot(target, psi)
        matrix = self._real_matrix if real and self._real_matrix is not None else self._matrix
        return matrix @ psi

    def value(self, psi: np.ndarray) -> float:
        """<psi|O|psi> for a (2**n,) state."""
        return float(np.vdot(psi, self.apply(psi)).real)


class AdjointCircuit:
    """A gate list that grows one gate at a time and is evaluated many times with new angles.

    Fixed gates before the first trainable gate are applied once, to the start state.
    """

    def __init__(self, n_qubits: int, initial_bits: Sequence[int] | None = None) -> None:
        self.n_qubits = n_qubits
        self.dim = 2**n_qubits
        self.gates: list[Gate] = []
        self.n_trainable = 0
        self._start = _compact(basis_state(n_qubits, initial_bits).reshape(self.dim).numpy())
        self._ops: list[_Fixed | _Rotation] = []

    def append(self, gate: Gate) -> None:
        """Add `gate` at the end of the circuit."""
        check_gates([gate], self.n_qubits)
        self.gates.append(gate)
        if gate.trainable:
            self._ops.append(_Rotation(gate, self.n_qubits, self.n_trainable))
            self.n_trainable += 1
        elif self.n_trainable:
            self._ops.append(_Fixed(gate, self.n_qubits))
        else:
            self._start = _Fixed(gate, self.n_qubits).forward(self._start)

    def append_pauli_rotation(self, terms: Sequence[tuple[str, float]], gates: Sequence[Gate]) -> None:
        """Add the product of exp(-i scale theta P / 2) over `terms` (Pauli word P, one letter per
        wire; scale) with one new parameter theta: one vector operation per word, whatever its
        weight. The words must commute (then the product is exp(-i theta sum(scale P) / 2)).
        `gates` is its compiled form (`qnas.pauli_rotations`), kept in `self.gates` for the spec."""
        for word, _ in terms:
            if len(word) != self.n_qubits or set(word) - set("IXYZ"):
                raise QnasError(
                    f"Pauli word {word!r} must have one letter I, X, Y or Z per qubit ({self.n_qubits}), wire 0 first."
                )
        check_gates(gates, self.n_qubits)
        self.gates.extend(gates)
        self._ops.extend(_Rotation(None, self.n_qubits, self.n_trainable, word, scale) for word, scale in terms)
        self.n_trainable += 1

    def state(self, angles: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        """The complex (2**n,) state for one angle per trainable gate, in order."""
        return self._forward(self._check_angles(angles))[-1].astype(complex)

    def value_and_grad(
        self, angles: Sequence[float] | np.ndarray | None, observable: Observable
    ) -> tuple[float, np.ndarray]:
        """The observable's value and its gradient w.r.t. the angles (shape (n_trainable,))."""
        angles = self._check_angles(angles)
        if observable.dim != self.dim:
            raise QnasError(
                f"the observable acts on {observable.dim} amplitudes, but the circuit has {self.dim} "
                f"({self.n_qubits} qubits); build it for the task's qubit count."
            )
        states = self._forward(angles)
        back = observable.apply(states[-1])
        value = float(np.vdot(states[-1], back).real)
        grad = np.zeros(self.n_trainable)
        for position in range(len(self._ops) - 1, -1, -1):
            op, after = self._ops[position], states[position + 1]
            if op.trainable:
                grad[op.param] += op.scale * np.vdot(back, op.kick(after)).real
                if position:
                    back = op.apply(back, -op.scale * angles[op.param])
            elif position:
                back = op.backward(back)
        return value, grad

    def _forward(self, angles: np.ndarray) -> list[np.ndarray]:
        """The start state and the state after each gate."""
        states = [self._start]
        for op in self._ops:
            if op.trainable:
                states.append(op.apply(states[-1], op.scale * angles[op.param]))
            else:
                states.append(op.forward(states[-1]))
        return states

    def _check_angles(self, angles: Sequence[float] | np.ndarray | None) -> np.ndarray:
        values = np.zeros(0) if angles is None else np.asarray(angles, dtype=np.float64)
        if values.shape != (self.n_trainable,):
            raise QnasError(
                f"angles has shape {values.shape}, but the circuit has {self.n_trainable} trainable gate(s); "
                f"pass one angle per trainable gate, shape ({self.n_trainable},)."
            )
        return values
