"""The discrete actions of the circuit-design environment, derived from a search space.

One declaration serves both proposers: the gates an RL agent may place are the ones the space's
layers could use (its `rotations` and `entangling_gate` choices), so an Optuna search and an RL
search over the same space explore the same gate vocabulary. `gate_set="qas-gym"` instead gives
the fixed gate set of Kuo et al. 2021 (arXiv:2104.07715), for comparison with published results.
`gate_set="blocks"` keeps the space's gates but places each entangling gate as a block, followed
by the space's rotations on both of its wires: a lone CNOT between fixed rotations often changes
the energy by nothing until two more CNOTs follow (a reward with no slope), while a block's own
trainable rotations let each one be scored at its best.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optuna.distributions import CategoricalDistribution

from qnas.errors import QnasError, not_allowed
from qnas.pauli_rotations import Rotation
from qnas.search_spaces import SearchSpace
from qnas.spec import ROTATION_GATES, GateSpec, LayerSpec

GATE_SETS = ("space", "qas-gym", "blocks", "pauli")
CONNECTIVITIES = ("all", "linear")
SELF_INVERSE = frozenset({"H", "X", "Y", "Z", "CNOT", "CZ"})
"""Gates that undo themselves: placing one right after an identical one is masked."""
SYMMETRIC = frozenset({"CZ"})
"""Two-qubit gates equal under swapping their wires: one action per unordered pair."""
QAS_GYM_SINGLE = (("X", None), ("Y", None), ("Z", None), ("H", None), ("RZ", math.pi / 4))
"""Kuo et al.'s single-qubit gates (name, fixed angle), each on every qubit; plus CNOT per pair."""


@dataclass(frozen=True)
class Action:
    """One discrete action: add a gate (or a block: a gate and the rotations after it), add a
    layer, switch on data re-uploading, or stop."""

    kind: str
    label: str
    gate: GateSpec | None = None
    layer: LayerSpec | None = None
    then: tuple[GateSpec, ...] = ()
    """Gates placed right after `gate`, in one step (a block)."""
    rotation: Rotation | None = None
    """A Pauli rotation exp(-i theta P / 2) or an excitation, placed as its compiled gates (`gate_set="pauli"`)."""

    @property
    def gates(self) -> tuple[GateSpec, ...]:
        """The gates the action places, in order (none for a layer, re-upload or stop)."""
        if self.rotation is not None:
            return self.rotation.compile()
        return () if self.gate is None else (self.gate, *self.then)

    @property
    def n_two_qubit(self) -> int:
        """Two-qubit gates the action places (an entangling layer counts as one)."""
        if self.layer is not None:
            return int(self.two_qubit)
        return sum(len(gate.wires) == 2 for gate in self.gates)

    @property
    def two_qubit(self) -> bool:
        """Whether the action adds entangling gates (charged `two_qubit_cost`)."""
        if self.rotation is not None:
            return self.rotation.n_cnots > 0
        if self.gate is not None:
            return len(self.gate.wires) == 2
        return self.layer is not None and self.layer.entangling_gate is not None


STOP = Action("stop", "stop")


def wire_pairs(connectivity: str | Sequence[Sequence[int]], n_qubits: int) -> list[tuple[int, int]]:
    """Ordered (control, target) pairs two-qubit gates may act on.

    "all": every ordered pair; "linear": neighbours on a chain, both directions; a list of pairs
    [[a, b], ...]: those couplings, both directions (as an undirected coupling map).
    """
    if isinstance(connectivity, str):
        if connectivity == "all":
            return [(a, b) for a in range(n_qubits) for b in range(n_qubits) if a != b]
        if connectivity == "linear":
            return sorted({pair for i in range(n_qubits - 1) for pair in ((i, i + 1), (i + 1, i))})
        raise QnasError(
            not_allowed("connectivity", connectivity, CONNECTIVITIES, "Or pass a list of wire pairs, e.g. [[0, 1], [1, 2]].")
        )
    pairs: set[tuple[int, int]] = set()
    for pair in connectivity:
        wires = tuple(pair) if isinstance(pair, (list, tuple)) else ()
        valid = all(isinstance(w, int) and not isinstance(w, bool) and 0 <= w < n_qubits for w in wires)
        if len(wires) != 2 or not valid or wires[0] == wires[1]:
            raise QnasError(
                f"connectivity pair {pair!r} must be two distinct wires in 0..{n_qubits - 1}, e.g. [0, 1]."
            )
        pairs |= {wires, wires[::-1]}
    if not pairs:
        raise QnasError("connectivity = [] allows no two-qubit gate; give at least one pair, or 'all' or 'linear'.")
    return sorted(pairs)


def field_values(space: SearchSpace, field: str, default: Any) -> list[Any]:
    """Every value `field` can take in `space` (fixed or categorical choices), or [default] when it is not declared."""
    values = [space.fixed[field]] if field in space.fixed else []
    for param in (*space.params, *space.layer_params):
        if param.field == field and isinstance(param.distribution, CategoricalDistribution):
            values.extend(param.distribution.choices)
    return list(dict.fromkeys(values)) or [default]


def _entangling_gates(space: SearchSpace) -> list[str]:
    """Entangling gates the space's layers can use; none when every entangler choice is 'none'."""
    default = LayerSpec()
    if all(value == "none" for value in field_values(space, "entangler", default.entangler)):
        return []
    return [gate.upper() for gate in field_values(space, "entangling_gate", default.entangling_gate)]


def gate_actions(
    space: SearchSpace, n_qubits: int, gate_set: str, connectivity: str | Sequence[Sequence[int]]
) -> tuple[Action, ...]:
    """Single-qubit actions per wire, then two-qubit actions (or blocks) per allowed pair, then stop."""
    if gate_set not in GATE_SETS:
        raise QnasError(not_allowed("gate_set", gate_set, GATE_SETS))
    pairs = wire_pairs(connectivity, n_qubits) if n_qubits > 1 else []
    if gate_set == "qas-gym":
        single = list(QAS_GYM_SINGLE)
        entangling = ["CNOT"]
    else:
        rotations = {r.upper() for value in field_values(space, "rotations", "RY") for r in str(value).split("+")}
        single = [(name, None) for name in ROTATION_GATES if name in rotations]
        entangling = _entangling_gates(space)
    actions = [_gate_action(GateSpec(name, (wire,), angle)) for wire in range(n_qubits) for name, angle in single]
    for name in entangling:
        for control, target in pairs:
            if name not in SYMMETRIC or control < target:
                gate = GateSpec(name, (control, target))
                then = (
                    tuple(GateSpec(rotation, (wire,)) for wire in (control, target) for rotation, _ in single)
                    if gate_set == "blocks" else ()
                )
                actions.append(_gate_action(gate, then))
    return (*actions, STOP)


def rotation_actions(pool: Sequence[Rotation]) -> tuple[Action, ...]:
    """One action per rotation of `pool`, then stop."""
    return (*(Action("rotation", rotation.label, rotation=rotation) for rotation in pool), STOP)


def _gate_action(gate: GateSpec, then: tuple[GateSpec, ...] = ()) -> Action:
    label = " ".join(g.summary() for g in (gate, *then))
    return Action("block" if then else "gate", f"[{label}]" if then else label, gate=gate, then=then)


def layer_actions(space: SearchSpace, reupload: bool) -> tuple[Action, ...]:
    """One action per (rotations, entangler, entangling gate) layer the space allows, the
    re-uploading switch when `reupload`, then stop."""
    default = LayerSpec()
    layers: dict[LayerSpec, None] = {}
    combinations = itertools.product(
        field_values(space, "rotations", "+".join(default.rotations)),
        field_values(space, "entangler", default.entangler),
        field_values(space, "entangling_gate", default.entangling_gate),
    )
    for rotations, entangler, gate in combinations:
        layers[LayerSpec(rotations=rotations, entangler=entangler, entangling_gate=gate)] = None
    actions = [Action("layer", f"layer {_layer_label(layer)}", layer=layer) for layer in layers]
    if reupload:
        actions.append(Action("reupload", "re-upload data before every layer"))
    return (*actions, STOP)


def _layer_label(layer: LayerSpec) -> str:
    entangling = f"/{layer.entangler}:{layer.entangling_gate}" if layer.entangling_gate else "/none"
    return "+".join(layer.rotations) + entangling
