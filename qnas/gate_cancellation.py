"""Cut gates that undo each other: a peephole pass over a gate list, exact on every input.

Why: Pauli rotations placed one after another compile to ladders whose ends meet (the basis
change and CNOTs that close one rotation open the next), so a grown circuit carries pairs that
cancel. Two gates cancel when they act on the same wires, no gate between them touches those
wires, and the second is the first's inverse: the same self-inverse gate (H, X, Y, Z, CNOT, CZ),
or fixed rotations about one axis whose angles add up to a multiple of 4 pi. Trainable gates
never cancel. Removing a pair can bring two more together, so the scan keeps, per wire, the
stack of gates still standing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from qnas.spec import ROTATION_GATES, GateSpec

SELF_INVERSE = frozenset({"H", "X", "Y", "Z", "CNOT", "CZ"})


def _undoes(first: GateSpec, second: GateSpec) -> bool:
    if first.wires != second.wires and not (first.name == second.name == "CZ" and set(first.wires) == set(second.wires)):
        return False
    if first.name != second.name:
        return False
    if first.name in SELF_INVERSE:
        return True
    if first.name in ROTATION_GATES and first.angle is not None and second.angle is not None:
        turns = (first.angle + second.angle) / (4 * math.pi)
        return abs(turns - round(turns)) < 1e-12
    return False


def cancel_inverse_pairs(gates: Sequence[GateSpec]) -> tuple[GateSpec, ...]:
    """`gates` without the pairs that undo each other (see the module docstring), in order."""
    kept: list[GateSpec | None] = []
    stacks: dict[int, list[int]] = {}
    for gate in gates:
        tops = {stacks[w][-1] if stacks.get(w) else None for w in gate.wires}
        previous = tops.pop() if len(tops) == 1 else None
        if previous is not None and _undoes(kept[previous], gate):
            for wire in gate.wires:
                stacks[wire].pop()
            kept[previous] = None
            continue
        kept.append(gate)
        for wire in gate.wires:
            stacks.setdefault(wire, []).append(len(kept) - 1)
    return tuple(gate for gate in kept if gate is not None)
