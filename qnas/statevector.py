"""A small batched state-vector simulator in torch for explicit gate lists (`GateSpec`).

Why not PennyLane here: an RL environment re-optimizes a circuit's angles after every action,
tens of thousands of times; a QNode's construction and dispatch cost far more than the handful
of tensor operations a 4-8 qubit gate list needs. The conventions match PennyLane's
`default.qubit`, so a spec built by the environment scores the same through `qnas.evaluation`:

- wire 0 is the most significant qubit of the flat amplitude index;
- RX/RY/RZ(theta) = exp(-i theta P / 2); CRZ applies RZ to the target when the control is 1;
  S = diag(1, i), T = diag(1, exp(i pi / 4)).

A gate is anything with `.name`, `.wires` and `.angle` (a `qnas.spec.GateSpec`). Trainable gates
(an angle gate whose `angle` is None) read their angle from `angles[..., j]`, j counting the
trainable gates in order; a leading batch dimension of `angles` gives a batch of states.

- `simulate`, `expectation`, `fidelity`: the differentiable simulator (torch autograd).
- `CompiledCircuit` + `Observable`: the same circuits folded into dense matrices for the
  environment's many re-optimizations, with gradients from one forward-mode pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch

from qnas.errors import QnasError, not_allowed
from qnas.spec import GATES, TWO_QUBIT_GATES

DTYPE = torch.complex128

_SQRT_HALF = 1 / math.sqrt(2)
FIXED_MATRICES: dict[str, torch.Tensor] = {
    "H": torch.tensor([[_SQRT_HALF, _SQRT_HALF], [_SQRT_HALF, -_SQRT_HALF]], dtype=DTYPE),
    "X": torch.tensor([[0, 1], [1, 0]], dtype=DTYPE),
    "Y": torch.tensor([[0, -1j], [1j, 0]], dtype=DTYPE),
    "Z": torch.tensor([[1, 0], [0, -1]], dtype=DTYPE),
    "S": torch.tensor([[1, 0], [0, 1j]], dtype=DTYPE),
    "T": torch.tensor([[1, 0], [0, complex(math.cos(math.pi / 4), math.sin(math.pi / 4))]], dtype=DTYPE),
}
"""Single-qubit matrices of the angle-free gates."""

CONTROLLED: dict[str, str] = {"CNOT": "X", "CZ": "Z", "CRZ": "RZ"}
"""Each two-qubit gate applies this single-qubit gate to the target where the control is 1."""


class Gate(Protocol):
    """What the simulator reads from a gate (`qnas.spec.GateSpec` has exactly this). A trainable
    gate reads its angle from the `angles` argument."""

    name: str
    wires: tuple[int, ...]
    angle: float | None

    @property
    def trainable(self) -> bool: ...


def count_trainable(gates: Sequence[Gate]) -> int:
    """How many angles `simulate` needs for `gates`."""
    return sum(gate.trainable for gate in gates)


def _rotation_matrix(name: str, theta: torch.Tensor, dtype: torch.dtype = DTYPE) -> torch.Tensor:
    """exp(-i theta P / 2) for RX, RY, RZ; `theta` of shape (batch,) gives (batch, 2, 2).

    `dtype` may be real (torch.float64) for RY only, the one rotation with a real matrix: circuits
    of real gates can then be simulated in real arithmetic (`qnas.compiled_circuit`).
    """
    half = theta.to(torch.float64) / 2
    c = torch.cos(half)
    s = torch.sin(half)
    if name == "RY":
        return torch.stack((c, -s, s, c), dim=-1).reshape(*theta.shape, 2, 2).to(dtype)
    if not dtype.is_complex:
        raise QnasError(f"{name} has a complex matrix; dtype = {dtype} must be complex (e.g. torch.complex128).")
    c, s = c.to(dtype), s.to(dtype)
    if name == "RX":
        entries = (c, -1j * s, -1j * s, c)
    else:
        zero = torch.zeros_like(c)
        entries = (c - 1j * s, zero, zero, c + 1j * s)
    return torch.stack(entries, dim=-1).reshape(*theta.shape, 2, 2)


def basis_state(n_qubits: int, bits: Sequence[int] | None = None, batch: int = 1) -> torch.Tensor:
    """|bits> (|0...0> when None) as a (batch, 2, ..., 2) tensor."""
    bits = tuple(bits) if bits is not None else (0,) * n_qubits
    if len(bits) != n_qubits or any(b not in (0, 1) for b in bits):
        raise QnasError(
            f"initial_bits = {list(bits)} must hold {n_qubits} entries, each 0 or 1 (one per wire, wire 0 first)."
        )
    state = torch.zeros((batch,) + (2,) * n_qubits, dtype=DTYPE)
    state[(slice(None), *bits)] = 1.0
    return state


def _apply_single(state: torch.Tensor, matrix: torch.Tensor, axis: int) -> torch.Tensor:
    """Apply a (2, 2) or (batch, 2, 2) matrix to wire axis `axis` of a (batch, 2, ..., 2) state."""
    return _apply_block(state, matrix, axis, 1)


def _apply_block(state: torch.Tensor, matrix: torch.Tensor, first: int, width: int) -> torch.Tensor:
    """Apply a (2**width, 2**width) or (batch, ...) matrix to wires first..first+width-1 of a
    (batch, 2, ..., 2) state, `first` the most significant of them.

    The state is viewed as (batch, left, 2**width, right), so one broadcast matmul contracts the
    wires without moving axes (no copy). A batch of 1 on either side broadcasts against the other.
    """
    shape = state.shape
    left = math.prod(shape[1 : first + 1])
    view = state.reshape(shape[0], left, 2**width, -1)
    out = torch.matmul(matrix.unsqueeze(-3) if matrix.dim() == 3 else matrix, view)
    return out.reshape(out.shape[0], *shape[1:])


def _apply_controlled(state: torch.Tensor, matrix: torch.Tensor, control: int, target: int) -> torch.Tensor:
    """Apply `matrix` to `target` on the half of the amplitudes where `control` is 1."""
    axis = target if target < control else target - 1
    flipped = _apply_single(state.select(control + 1, 1), matrix, axis)
    return torch.stack((state.select(control + 1, 0), flipped), dim=control + 1)


def _gate_matrix(gate: Gate, theta: torch.Tensor | None) -> torch.Tensor:
    """The single-qubit matrix a gate applies (to its target, for two-qubit gates)."""
    name = CONTROLLED.get(gate.name, gate.name)
    if name in FIXED_MATRICES:
        return FIXED_MATRICES[name]
    if theta is None:
        theta = torch.tensor(float(gate.angle), dtype=torch.float64)
    return _rotation_matrix(name, theta)


def check_gates(gates: Sequence[Gate], n_qubits: int) -> None:
    """Refuse unknown gates and wires outside 0..n_qubits-1, naming the gate's index."""
    for index, gate in enumerate(gates):
        if gate.name not in GATES:
            raise QnasError(not_allowed(f"gates[{index}].name", gate.name, GATES))
        arity = 2 if gate.name in TWO_QUBIT_GATES else 1
        wires = tuple(gate.wires)
        if len(wires) != arity or any(not 0 <= w < n_qubits for w in wires) or len(set(wires)) != arity:
            raise QnasError(
                f"gates[{index}]: {gate.name} wires = {list(wires)} must be {arity} distinct wire(s) "
                f"in 0..{n_qubits - 1} (the circuit has {n_qubits} qubits)."
            )


def simulate(
    gates: Sequence[Gate],
    n_qubits: int,
    angles: torch.Tensor | None = None,
    initial_bits: Sequence[int] | None = None,
) -> torch.Tensor:
    """The state after `gates` act on |initial_bits>: shape (2**n,), or (batch, 2**n) for batched angles.

    `angles` holds one angle per trainable gate, shape (k,) or (batch, k); it is differentiable.
    """
    check_gates(gates, n_qubits)
    k = count_trainable(gates)
    if angles is None and k:
        raise QnasError(f"the gate list has {k} trainable gate(s) (angle None); pass angles of shape ({k},).")
    if angles is not None and (angles.dim() not in (1, 2) or angles.shape[-1] != k):
        raise QnasError(
            f"angles has shape {tuple(angles.shape)}, but the gate list has {k} trainable gate(s); "
            f"pass shape ({k},) or (batch, {k})."
        )
    batched = angles is not None and angles.dim() == 2
    batch = angles.shape[0] if batched else 1
    columns = angles.reshape(batch, k).to(torch.float64).unbind(-1) if k else ()
    state = _evolve(basis_state(n_qubits, initial_bits, batch), gates, columns)
    flat = state.reshape(batch, 2**n_qubits)
    return flat if batched else flat[0]


def _evolve(state: torch.Tensor, gates: Sequence[Gate], columns: Sequence[torch.Tensor]) -> torch.Tensor:
    """Apply `gates` to a (batch, 2, ..., 2) state; trainable gate j takes its angle from columns[j]."""
    position = 0
    for gate in gates:
        theta = None
        if gate.trainable:
            theta = columns[position]
            position += 1
        matrix = _gate_matrix(gate, theta)
        if gate.name in TWO_QUBIT_GATES:
            state = _apply_controlled(state, matrix, *gate.wires)
        else:
            state = _apply_single(state, matrix, gate.wires[0])
    return state


def expectation(state: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Re <state|matrix|state> for a Hermitian `matrix`; `state` (2**n,) or (batch, 2**n)."""
    return torch.einsum("...i,ij,...j->...", state.conj(), matrix.to(DTYPE), state).real


def fidelity(state: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """|<target|state>|^2; `state` (2**n,) or (batch, 2**n)."""
    return (state @ target.to(DTYPE).conj()).abs() ** 2


def _realify(matrix: np.ndarray) -> np.ndarray:
    """A complex (..., m, n) matrix as the real (..., 2m, 2n) one acting on x = [Re psi; Im psi]."""
    top = np.concatenate((matrix.real, -matrix.imag), axis=-1)
    bottom = np.concatenate((matrix.imag, matrix.real), axis=-1)
    return np.concatenate((top, bottom), axis=-2)


class Observable:
    """What a circuit is scored by: <psi|O|psi> for a Hermitian O, or the fidelity |<t|psi>|^2.

    Both are quadratic forms in the state. Besides the complex form (`value`), this holds the
    real form `CompiledCircuit.value_and_grad` reads, built once rather than on every step.
    """

    def __init__(self, *, matrix: Any = None, target: Any = None) -> None:
        if (matrix is None) == (target is None):
            raise QnasError("Observable needs exactly one of matrix= (a Hermitian matrix) or target= (a state vector).")
        self.matrix = None if matrix is None else torch.as_tensor(matrix).to(DTYPE)
        self.target = None if target is None else torch.as_tensor(target).to(DTYPE).reshape(-1)
        if self.target is not None:
            t = self.target.numpy()
            # The two rows give Re and Im of <t|psi> from x = [Re psi; Im psi].
            self._real = np.stack((np.concatenate((t.real, t.imag)), np.concatenate((-t.imag, t.real))))
        else:
            self._real = _realify(self.matrix.numpy())
        self.dim = self._real.shape[-1] // 2

    def value(self, state: torch.Tensor) -> torch.Tensor:
        """The score of a complex (2**n,) or (batch, 2**n) state."""
        if self.target is not None:
            return fidelity(state, self.target)
        return expectation(state, self.matrix)

    def real_value_and_grad(self, columns: np.ndarray) -> tuple[float, np.ndarray]:
        """Value and gradient from real columns [x, dx/dtheta_1, ..., dx/dtheta_k], shape (2 * 2**n, k + 1)."""
        if self.target is not None:
            overlaps = self._real @ columns
            return float(overlaps[:, 0] @ overlaps[:, 0]), 2 * (overlaps[:, 0] @ overlaps[:, 1:])
        row = columns[:, 0] @ self._real
        return float(row @ columns[:, 0]), 2 * (row @ columns[:, 1:])


DENSE_MAX_QUBITS = 8
"""Up to this many qubits a compiled circuit folds gates into dense matrices (8 qubits: 6 MiB per
trainable gate); above it, it runs the gate-by-gate simulator and autograd."""


def _unitary(gates: Sequence[Gate], n_qubits: int, columns: Sequence[torch.Tensor] = ()) -> np.ndarray:
    """The (2**n, 2**n) matrix of a gate list: the simulator run on every basis state at once."""
    dim = 2**n_qubits
    basis = torch.eye(dim, dtype=DTYPE).reshape((dim,) + (2,) * n_qubits)
    return _evolve(basis, gates, columns).reshape(dim, dim).T.numpy()


def _angle_terms(gate: Gate, n_qubits: int) -> np.ndarray:
    """(A, B, C) with gate(theta) = A + cos(theta/2) B + sin(theta/2) C, as a (3, 2**n, 2**n) array.

    Read off the gate at theta = 0 and 2 pi (cos = +-1, sin = 0) and at pi (cos = 0, sin = 1).
    """
    zero, pi, two_pi = (
        _unitary([gate], n_qubits, (torch.tensor([theta], dtype=torch.float64),)) for theta in (0.0, math.pi, 2 * math.pi)
    )
    constant = (zero + two_pi) / 2
    return np.stack((constant, (zero - two_pi) / 2, pi - constant))


class CompiledCircuit:
    """A gate list that grows one gate at a time and is evaluated many times with new angles.

    This is the environment's inner loop, where `simulate` would cost a few tensor operations per
    gate per optimizer step. Fixed gates before the first trainable gate are applied once to the
    start state. Each later trainable gate(theta) = A + cos(theta/2) B + sin(theta/2) C is stored
    with the fixed gates M before it folded in, as the real form of [A M | B M | C M], so an
    evaluation costs one small matmul per trainable gate however many fixed gates there are.
    `value_and_grad` gets every partial derivative in the same pass, without an autograd graph:
    column j + 1 runs the circuit with gate j replaced by its derivative (forward mode).

    The dense path runs in numpy: on these 32x96 products torch's per-operation overhead is
    larger than the arithmetic (measured 2.5x slower with the same algorithm). Above
    DENSE_MAX_QUBITS the circuit keeps its gates and uses `simulate`'s code and torch autograd.
    """

    def __init__(self, n_qubits: int, initial_bits: Sequence[int] | None = None) -> None:
        self.n_qubits = n_qubits
        self.dim = 2**n_qubits
        self.dense = n_qubits <= DENSE_MAX_QUBITS
        self.gates: list[Gate] = []
        self.n_trainable = 0
        self._start = basis_state(n_qubits, initial_bits)
        self._start_real: np.ndarray | None = None
        self._blocks: list[np.ndarray] = []
        self._pending: np.ndarray | None = None
        self._rest: list[Gate] = []

    def append(self, gate: Gate) -> None:
        """Add `gate` at the end of the circuit."""
        check_gates([gate], self.n_qubits)
        self.gates.append(gate)
        trainable = gate.trainable
        if not trainable and self.n_trainable == 0:
            self._start = _evolve(self._start, [gate], ())
            self._start_real = None
            return
        self.n_trainable += trainable
        if not self.dense:
            self._rest.append(gate)
        elif trainable:
            terms = _realify(_angle_terms(gate, self.n_qubits))
            if self._pending is not None:
                terms = terms @ self._pending
            self._blocks.append(np.concatenate(tuple(terms), axis=1))
            self._pending = None
        else:
            matrix = _realify(_unitary([gate], self.n_qubits))
            self._pending = matrix if self._pending is None else matrix @ self._pending

    def state(self, angles: Sequence[float] | np.ndarray | None = None) -> torch.Tensor:
        """The complex (2**n,) state for one angle per trainable gate, in order."""
        angles = self._check_angles(angles)
        if not self.dense:
            return self._simulated(torch.from_numpy(angles))
        real = self._real_columns(angles, derivatives=False)[:, 0]
        return torch.complex(torch.from_numpy(real[: self.dim]), torch.from_numpy(real[self.dim :]))

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
        if self.dense:
            return observable.real_value_and_grad(self._real_columns(angles, derivatives=True))
        with torch.enable_grad():
            leaf = torch.from_numpy(angles).requires_grad_()
            value = observable.value(self._simulated(leaf))
            grad = torch.autograd.grad(value, leaf)[0] if self.n_trainable else torch.zeros(0)
        return float(value.detach()), grad.numpy()

    def _check_angles(self, angles: Sequence[float] | np.ndarray | None) -> np.ndarray:
        values = np.zeros(0) if angles is None else np.asarray(angles, dtype=np.float64)
        if values.shape != (self.n_trainable,):
            raise QnasError(
                f"angles has shape {values.shape}, but the circuit has {self.n_trainable} trainable gate(s); "
                f"pass one angle per trainable gate, shape ({self.n_trainable},)."
            )
        return values

    def _simulated(self, angles: torch.Tensor) -> torch.Tensor:
        columns = angles.reshape(1, -1).unbind(-1) if self.n_trainable else ()
        return _evolve(self._start, self._rest, columns).reshape(self.dim)

    def _real_columns(self, angles: np.ndarray, derivatives: bool) -> np.ndarray:
        """Real columns [x, dx/dtheta_1, ...] (only x unless `derivatives`), shape (2 * 2**n, columns)."""
        if self._start_real is None:
            start = self._start.reshape(self.dim).numpy()
            self._start_real = np.concatenate((start.real, start.imag))[:, None]
        k = self.n_trainable
        width = k + 1 if derivatives else 1
        x = np.repeat(self._start_real, width, axis=1)
        if k:
            c, s = np.cos(angles / 2), np.sin(angles / 2)
            # weights[j, :, 0, b] weigh gate j's (A, B, C) in column b: (1, cos, sin) of theta_j / 2,
            # and in column j + 1 their derivatives (0, -sin / 2, cos / 2).
            weights = np.empty((k, 3, 1, width))
            weights[:, 0] = 1.0
            weights[:, 1] = c[:, None, None]
            weights[:, 2] = s[:, None, None]
            if derivatives:
                gate, column = np.arange(k), np.arange(1, k + 1)
                weights[gate, 0, 0, column] = 0.0
                weights[gate, 1, 0, column] = -s / 2
                weights[gate, 2, 0, column] = c / 2
            for block, weight in zip(self._blocks, weights, strict=True):
                x = block @ (weight * x).reshape(-1, width)
        if self._pending is not None:
            x = self._pending @ x
        return x
