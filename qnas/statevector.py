"""A small batched state-vector simulator in torch for explicit gate lists (`GateSpec`).

Why not PennyLane here: the fast training path (`qnas.compiled_circuit`) and the circuit-design
environment (`qnas.adjoint`) evaluate circuits thousands of times; a QNode's construction and
dispatch cost far more than the handful of tensor operations a gate list needs. Both build on
this module's gate matrices, whose conventions match PennyLane's `default.qubit`, so a spec
built by the environment scores the same through `qnas.evaluation`:

- wire 0 is the most significant qubit of the flat amplitude index;
- RX/RY/RZ(theta) = exp(-i theta P / 2); CRZ applies RZ to the target when the control is 1;
  S = diag(1, i), T = diag(1, exp(i pi / 4)).

A gate is anything with `.name`, `.wires` and `.angle` (a `qnas.spec.GateSpec`). Trainable gates
(an angle gate whose `angle` is None) read their angle from `angles[..., j]`, j counting the
trainable gates in order; a leading batch dimension of `angles` gives a batch of states.

- `simulate`, `expectation`, `fidelity`: the differentiable simulator (torch autograd).
- `qnas.adjoint` runs the same gates in numpy for the environment's many re-optimizations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

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


def gate_matrix(gate: Gate, theta: torch.Tensor | None = None) -> torch.Tensor:
    """The single-qubit matrix a gate applies (to its target, for two-qubit gates); a trainable
    gate's angle is `theta`."""
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
        matrix = gate_matrix(gate, theta)
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
