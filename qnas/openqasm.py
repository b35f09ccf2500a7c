"""OpenQASM 2.0 and 3.0 from a PennyLane circuit, written so Qiskit's readers load them as they are.

PennyLane 0.45 writes OpenQASM 2.0 (`qml.to_openqasm`) but its output is not what Qiskit reads for
every circuit: a state preparation decomposes into a `gphase`, which `qelib1.inc` does not define.
It does not write OpenQASM 3 at all. This module serializes a tape itself, for both versions: the
circuit is decomposed into gates both standard libraries define (`qelib1.inc`, `stdgates.inc`),
numbers are written at full `repr` precision, and every qubit is measured in the computational
basis as `qml.to_openqasm` does; observables' diagonalizing gates are applied first, so the
measured bits are the circuit's measurement basis.

A gate parameter may be an `InputExpression` instead of a number: OpenQASM 3 then declares each
input it names as `input float[64] NAME;`, so one program runs every input (Qiskit turns them into
circuit Parameters). OpenQASM 2 has no inputs and refuses such a tape. It has no global phase
either: one is written as a comment there (no measurement can see it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pennylane as qml
from pennylane.devices.preprocess import decompose
from pennylane.tape import QuantumScript

from qnas.errors import ExportError

GATE_NAMES: dict[str, tuple[str, str]] = {
    "PauliX": ("x", "x"),
    "PauliY": ("y", "y"),
    "PauliZ": ("z", "z"),
    "Hadamard": ("h", "h"),
    "S": ("s", "s"),
    "Adjoint(S)": ("sdg", "sdg"),
    "T": ("t", "t"),
    "Adjoint(T)": ("tdg", "tdg"),
    "RX": ("rx", "rx"),
    "RY": ("ry", "ry"),
    "RZ": ("rz", "rz"),
    "PhaseShift": ("u1", "p"),
    "CNOT": ("cx", "cx"),
    "CY": ("cy", "cy"),
    "CZ": ("cz", "cz"),
    "CH": ("ch", "ch"),
    "CRZ": ("crz", "crz"),
    "ControlledPhaseShift": ("cu1", "cp"),
    "SWAP": ("swap", "swap"),
    "Toffoli": ("ccx", "ccx"),
    "CSWAP": ("cswap", "cswap"),
}
"""PennyLane operation names and the gate of `qelib1.inc` (OpenQASM 2) and of `stdgates.inc`
(OpenQASM 3) with the same matrix and argument order."""

_SERIALIZABLE = set(GATE_NAMES) | {"GlobalPhase", "Identity"}
_HEADERS = {2: ["OPENQASM 2.0;", 'include "qelib1.inc";'], 3: ["OPENQASM 3.0;", 'include "stdgates.inc";']}


class InputExpression:
    """A gate angle that depends on circuit inputs, kept as OpenQASM expression text.

    The circuit functions run on these as on numbers (sums, products, scaling), so the angles an
    encoding computes from its inputs (an IQP product x_0 * x_1, a sum of wrapped features, a
    multiplexor's linear combination) come out as expressions of the input names.
    """

    def __init__(self, text: str, names: frozenset[str]) -> None:
        self.text, self.names = text, names

    @classmethod
    def named(cls, name: str) -> InputExpression:
        return cls(name, frozenset([name]))

    def _combine(self, other: Any, operator: str, swap: bool = False) -> InputExpression:
        other_text, other_names = _operand(other)
        left, right = (other_text, self.text) if swap else (self.text, other_text)
        return InputExpression(f"({left} {operator} {right})", self.names | other_names)

    def __add__(self, other: Any) -> InputExpression:
        return self._combine(other, "+")

    def __radd__(self, other: Any) -> InputExpression:
        return self if isinstance(other, (int, float)) and other == 0 else self._combine(other, "+", swap=True)

    def __mul__(self, other: Any) -> InputExpression:
        return self._combine(other, "*")

    def __rmul__(self, other: Any) -> InputExpression:
        return self._combine(other, "*", swap=True)

    def __truediv__(self, other: Any) -> InputExpression:
        return self._combine(other, "/")

    def __neg__(self) -> InputExpression:
        return InputExpression(f"(-{self.text})", self.names)

    def __repr__(self) -> str:
        return self.text


def _operand(value: Any) -> tuple[str, frozenset[str]]:
    value = _scalar(value)
    if isinstance(value, InputExpression):
        return value.text, value.names
    return repr(float(qml.math.real(value))), frozenset()


def _scalar(value: Any) -> Any:
    """A gate parameter as a Python float or an InputExpression (numpy 0-d arrays unwrapped)."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        return value.item()
    return value


def input_array(names: Sequence[str]) -> np.ndarray:
    """Inputs for a circuit function: an object array of named `InputExpression`s, shape (len(names),)."""
    array = np.empty(len(names), dtype=object)
    for index, name in enumerate(names):
        array[index] = InputExpression.named(name)
    return array


def tape_openqasm(
    tape: QuantumScript, version: int = 3, inputs: Sequence[str] = (), wires: Sequence[Any] | None = None
) -> str:
    """The OpenQASM `version` program of `tape`: its gates, then a measurement of every qubit into `c`.

    `inputs` are declared (OpenQASM 3 only) in this order, whether or not a gate uses them, so the
    program's inputs are the same for every circuit of one encoding. Wire `wires[i]` is `q[i]`;
    by default the tape's wires, sorted (a tape lists them in order of first use).
    """
    if version not in _HEADERS:
        raise ExportError(f"OpenQASM version {version!r} is not supported; use 2 or 3.")
    if version == 2 and inputs:
        raise ExportError("OpenQASM 2.0 has no inputs: bake the inputs' values into the tape, or write version 3.")
    wires = qml.wires.Wires(sorted(tape.wires) if wires is None else wires)
    lines = list(_HEADERS[version])
    if not len(wires):
        return "\n".join(lines) + "\n"
    n = len(wires)
    lines += [f"qreg q[{n}];", f"creg c[{n}];"] if version == 2 else [f"qubit[{n}] q;", f"bit[{n}] c;"]
    lines += [f"input float[64] {name};" for name in inputs]

    operations = list(tape.operations) + list(tape.diagonalizing_gates)
    [flat], _ = decompose(
        QuantumScript(operations),
        target_gates=_SERIALIZABLE,
        stopping_condition=lambda op: op.name in _SERIALIZABLE,
        skip_initial_state_prep=False,
        name=f"OpenQASM {version} export",
        error=ExportError,
    )
    declared = set(inputs)
    for op in flat.operations:
        lines.extend(_statement(op, wires, version, declared))
    lines.append("measure q -> c;" if version == 2 else "c = measure q;")
    return "\n".join(lines) + "\n"


def _statement(op: qml.operation.Operator, wires: qml.wires.Wires, version: int, declared: set[str]) -> list[str]:
    if op.name == "Identity":
        return []
    values = [_scalar(value) for value in op.parameters]
    if op.name == "GlobalPhase":
        # PennyLane's GlobalPhase(phi) is exp(-i phi) times identity; OpenQASM 3's gphase(g) is exp(i g).
        values = [-values[0]]
    params = []
    for value in values:
        text, names = _operand(value)
        if names - declared:
            raise ExportError(f"{op.name} uses inputs {sorted(names - declared)} that the program does not declare.")
        params.append(text)
    if op.name == "GlobalPhase":
        if version == 2:
            return [f"// global phase exp(i*{params[0]}) omitted: OpenQASM 2 has none, and no measurement sees it"]
        return [f"gphase({params[0]});"]
    qubits = ("," if version == 2 else ", ").join(f"q[{wires.index(w)}]" for w in op.wires)
    args = f"({', '.join(params)})" if params else ""
    return [f"{GATE_NAMES[op.name][version - 2]}{args} {qubits};"]


def to_openqasm3(qfunc: Callable[..., Any], inputs: Sequence[str] = ()) -> Callable[..., str]:
    """Like `qml.to_openqasm`: `to_openqasm3(qfunc)(*args, **kwargs)` is the program for those arguments.

    `qfunc` is a quantum function or a QNode; arguments may hold `input_array(inputs)`.
    """

    def program(*args: Any, **kwargs: Any) -> str:
        make = qml.workflow.construct_tape(qfunc) if isinstance(qfunc, qml.QNode) else qml.tape.make_qscript(qfunc)
        return tape_openqasm(make(*args, **kwargs), 3, inputs)

    return program
