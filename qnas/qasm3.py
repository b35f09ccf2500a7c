"""OpenQASM 3.0 from a PennyLane circuit, the counterpart of `qml.to_openqasm` (which writes 2.0).

PennyLane 0.45 reads OpenQASM 3 (`qml.from_qasm3`) but does not write it, and no package on PyPI
writes it from PennyLane beside our pins, so this module serializes a tape itself: the circuit is
decomposed into gates of OpenQASM 3's standard library (`stdgates.inc`), with parameters written at
full `repr` precision, then every qubit is measured in the computational basis as `qml.to_openqasm`
does. Observables' diagonalizing gates are applied first, so the measured bits are the circuit's
measurement basis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pennylane as qml
from pennylane.devices.preprocess import decompose
from pennylane.tape import QuantumScript
from pennylane.transforms import convert_to_numpy_parameters

STDGATES: dict[str, str] = {
    "PauliX": "x",
    "PauliY": "y",
    "PauliZ": "z",
    "Hadamard": "h",
    "S": "s",
    "Adjoint(S)": "sdg",
    "T": "t",
    "Adjoint(T)": "tdg",
    "SX": "sx",
    "RX": "rx",
    "RY": "ry",
    "RZ": "rz",
    "PhaseShift": "p",
    "U3": "u3",
    "CNOT": "cx",
    "CY": "cy",
    "CZ": "cz",
    "CH": "ch",
    "CRX": "crx",
    "CRY": "cry",
    "CRZ": "crz",
    "ControlledPhaseShift": "cp",
    "SWAP": "swap",
    "Toffoli": "ccx",
    "CSWAP": "cswap",
}
"""PennyLane operation names and the `stdgates.inc` gate with the same matrix and argument order."""

_SERIALIZABLE = set(STDGATES) | {"GlobalPhase", "Identity"}


def tape_openqasm3(tape: QuantumScript) -> str:
    """The OpenQASM 3.0 program of `tape`: its gates, then a measurement of every qubit into `c`."""
    wires = tape.wires
    lines = ["OPENQASM 3.0;", 'include "stdgates.inc";']
    if not len(wires):
        return "\n".join(lines) + "\n"
    lines += [f"qubit[{len(wires)}] q;", f"bit[{len(wires)}] c;"]

    [numeric], _ = convert_to_numpy_parameters(tape)
    operations = list(numeric.operations) + list(numeric.diagonalizing_gates)
    [flat], _ = decompose(
        QuantumScript(operations),
        target_gates=_SERIALIZABLE,
        stopping_condition=lambda op: op.name in _SERIALIZABLE,
        skip_initial_state_prep=False,
        name="OpenQASM 3 export",
        error=ValueError,
    )
    for op in flat.operations:
        lines.extend(_statement(op, wires))
    lines.append("c = measure q;")
    return "\n".join(lines) + "\n"


def _statement(op: qml.operation.Operator, wires: qml.wires.Wires) -> list[str]:
    params = [float(qml.math.real(p)) for p in op.parameters]
    if op.name == "Identity":
        return []
    if op.name == "GlobalPhase":
        # PennyLane's GlobalPhase(phi) is exp(-i phi) times identity; OpenQASM's gphase(g) is exp(i g).
        return [f"gphase({-params[0]!r});"]
    qubits = ", ".join(f"q[{wires.index(w)}]" for w in op.wires)
    args = f"({', '.join(repr(p) for p in params)})" if params else ""
    return [f"{STDGATES[op.name]}{args} {qubits};"]


def to_openqasm3(qnode: qml.QNode) -> Callable[..., str]:
    """Like `qml.to_openqasm`: `to_openqasm3(qnode)(*args, **kwargs)` is the circuit for those arguments."""

    def program(*args: Any, **kwargs: Any) -> str:
        return tape_openqasm3(qml.workflow.construct_tape(qnode)(*args, **kwargs))

    return program
