"""Map a circuit's logical qubits onto a device's physical qubits, inserting SWAPs where uncoupled.

The layout (which physical qubit holds each logical one) is a searchable setting:

- ``"trivial"``: logical i on the i-th qubit of a breadth-first walk of the coupling map from
  qubit 0 (physical i on a line or a fully connected device; always a connected set);
- ``"low_noise"``: a connected set grown greedily from the qubit with the lowest error, adding at
  each step the neighbour whose qubit and coupler errors are lowest;
- an explicit list of physical qubits, one per logical qubit.

Routing stays inside the layout's qubits (they must form a connected part of the coupling map), so
a noisy simulation holds only n qubits. Each two-qubit gate between uncoupled qubits moves its
first qubit along a shortest path (BFS) towards the second, one SWAP per step; a SWAP costs three
CNOTs, as on hardware. This is the simple, correct baseline router: it is not optimal, and it
keeps the moved qubits where they end (the final layout maps the measurements).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pennylane as qml

from qnas.calibration import DeviceCalibration
from qnas.errors import DeviceError
from qnas.spec import LAYOUTS

Layout = str | tuple[int, ...]


def _check_fits(n_logical: int, calibration: DeviceCalibration) -> None:
    if n_logical > calibration.n_qubits:
        raise DeviceError(
            f"spec asks for {n_logical} qubits but device {calibration.name!r} has {calibration.n_qubits}; "
            f"lower n_qubits to at most {calibration.n_qubits} or pick a larger device."
        )


def _qubit_cost(calibration: DeviceCalibration, q: int) -> float:
    qubit = calibration.qubits[q]
    return qubit.gate_error_1q + qubit.readout_error


def _low_noise_layout(n_logical: int, calibration: DeviceCalibration) -> tuple[int, ...]:
    neighbors = calibration.neighbors()
    start = min(range(calibration.n_qubits), key=lambda q: (_qubit_cost(calibration, q), q))
    chosen = [start]
    while len(chosen) < n_logical:
        frontier = {(n, c) for c in chosen for n in neighbors[c] if n not in chosen}
        if not frontier:
            raise DeviceError(
                f"device {calibration.name!r} has no connected set of {n_logical} qubits; lower n_qubits."
            )
        best = min(
            frontier,
            key=lambda nc: (_qubit_cost(calibration, nc[0]) + calibration.coupler(*nc).gate_error_2q, nc[0]),
        )
        chosen.append(best[0])
    return tuple(chosen)


def _breadth_first(n_logical: int, calibration: DeviceCalibration) -> tuple[int, ...]:
    neighbors = calibration.neighbors()
    order = [0]
    queue = deque([0])
    while queue and len(order) < n_logical:
        for n in neighbors[queue.popleft()]:
            if n not in order:
                order.append(n)
                queue.append(n)
    if len(order) < n_logical:
        raise DeviceError(f"device {calibration.name!r} has no connected set of {n_logical} qubits; lower n_qubits.")
    return tuple(order[:n_logical])


def _connected(qubits: Sequence[int], calibration: DeviceCalibration) -> bool:
    neighbors = calibration.neighbors()
    inside = set(qubits)
    seen = {qubits[0]}
    queue = deque([qubits[0]])
    while queue:
        for n in neighbors[queue.popleft()]:
            if n in inside and n not in seen:
                seen.add(n)
                queue.append(n)
    return seen == inside


def choose_layout(layout: Any, n_logical: int, calibration: DeviceCalibration) -> tuple[int, ...]:
    """Physical qubit of each logical qubit, validated against the device."""
    _check_fits(n_logical, calibration)
    if layout == "trivial":
        physical = _breadth_first(n_logical, calibration)
    elif layout == "low_noise":
        physical = _low_noise_layout(n_logical, calibration)
    elif isinstance(layout, (tuple, list)):
        physical = tuple(layout)
        if len(physical) != n_logical or len(set(physical)) != n_logical:
            raise DeviceError(
                f"layout = {list(physical)} must list {n_logical} different physical qubits, one per logical qubit."
            )
        bad = [q for q in physical if not isinstance(q, int) or not 0 <= q < calibration.n_qubits]
        if bad:
            raise DeviceError(
                f"layout = {list(physical)} names qubit {bad[0]!r}, but device {calibration.name!r} has qubits "
                f"0..{calibration.n_qubits - 1}."
            )
    else:
        raise DeviceError(f"layout = {layout!r} is not allowed; use one of {list(LAYOUTS)} or a list of qubits.")
    if not _connected(physical, calibration):
        raise DeviceError(
            f"layout {list(physical)} on device {calibration.name!r} is not connected in its coupling map, so "
            "gates between its parts cannot be routed inside it; pick connected qubits or layout 'low_noise'."
        )
    return physical


def _shortest_path(start: int, goal: int, allowed: set[int], neighbors: dict[int, list[int]]) -> list[int]:
    previous = {start: start}
    queue = deque([start])
    while queue:
        q = queue.popleft()
        if q == goal:
            break
        for n in neighbors[q]:
            if n in allowed and n not in previous:
                previous[n] = q
                queue.append(n)
    path = [goal]
    while path[-1] != start:
        path.append(previous[path[-1]])
    return path[::-1]


@dataclass(frozen=True)
class RoutedCircuit:
    """Operations on physical wires, where each logical qubit ends, and the SWAPs it took."""

    operations: list[qml.operation.Operator]
    final_layout: dict[int, int]
    swaps: int

    @property
    def two_qubit_gates(self) -> int:
        return sum(len(op.wires) == 2 for op in self.operations)


def route(
    operations: Sequence[qml.operation.Operator], layout: Sequence[int], calibration: DeviceCalibration
) -> RoutedCircuit:
    """Put `operations` (logical wires 0..n-1, at most two qubits each) on the device's physical qubits."""
    neighbors = calibration.neighbors()
    allowed = set(layout)
    where = dict(enumerate(layout))  # logical -> physical
    holder = {p: logical for logical, p in where.items()}  # physical -> logical
    routed: list[qml.operation.Operator] = []
    swaps = 0
    for op in operations:
        if len(op.wires) > 2:
            raise DeviceError(f"cannot route {op.name} on {len(op.wires)} wires: decompose it to 1- and 2-qubit gates.")
        if len(op.wires) == 2:
            a, b = (where[w] for w in op.wires)
            path = _shortest_path(a, b, allowed, neighbors)
            for here, there in zip(path[:-2], path[1:-1], strict=True):
                routed += [qml.CNOT([here, there]), qml.CNOT([there, here]), qml.CNOT([here, there])]
                swaps += 1
                moved, other = holder[here], holder[there]
                holder[here], holder[there] = other, moved
                where[moved], where[other] = there, here
        routed.append(op.map_wires({w: where[w] for w in op.wires}))
    return RoutedCircuit(routed, dict(where), swaps)
