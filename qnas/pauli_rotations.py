"""Pauli rotations exp(-i theta P / 2) and the operator pools a screening proposer grows circuits from.

Why: a greedy screen over single hardware gates never leaves Hartree-Fock on LiH (no single RY
or CNOT lowers the energy there), while one over Pauli-string rotations does (qubit-ADAPT, Tang
et al., PRX Quantum 2, 020310, 2021). A rotation about a Pauli word of weight w compiles to
2(w - 1) CNOTs in a ladder, one trainable RZ and basis changes, so the circuits stay made of the
gates every other part of qnas (spec, export, devices) knows.

Words have one letter per wire, wire 0 first (PennyLane's order, and `qnas.statevector`'s).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from qnas.errors import QnasError, not_allowed
from qnas.spec import GateSpec

POOLS = ("all", "qubit-excitations", "minimal", "pairs")
"""all: every operator of the pools below that applies to the task (the default); qubit-excitations: the Pauli strings of every single and double excitation under Jordan-Wigner,
Z strings dropped (qubit-ADAPT's pool; from the reference state's occupied wires to its empty ones); minimal:
the 2n - 2 operators {Z_j Y_j+1} and {Y_j} (a minimal complete pool of that paper's kind); pairs:
every Y_j and every weight-2 word with one Y on a pair of wires (no molecule needed)."""


@dataclass(frozen=True)
class PauliRotation:
    """exp(-i theta P / 2) for the Pauli word `word`."""

    word: str

    def __post_init__(self) -> None:
        if not self.word or set(self.word) - set("IXYZ") or set(self.word) == {"I"}:
            raise QnasError(
                f"Pauli word {self.word!r} must be letters I, X, Y, Z, one per wire (wire 0 first), "
                "with at least one that is not I."
            )

    @property
    def support(self) -> tuple[int, ...]:
        """The wires the word acts on (letters other than I)."""
        return tuple(wire for wire, letter in enumerate(self.word) if letter != "I")

    @property
    def n_cnots(self) -> int:
        """CNOTs of the compiled form: a ladder down the support and back."""
        return 2 * (len(self.support) - 1)

    def compile(self) -> tuple[GateSpec, ...]:
        """Gates equal to exp(-i theta P / 2) with theta the one trainable RZ's angle: rotate each
        X to Z (H) and each Y to Z (RX(pi/2)), a CNOT ladder that gathers the parity on the last
        wire, RZ(theta) there, then undo the ladder and the basis changes."""
        support = self.support
        into_z = [self._to_z(wire, self.word[wire], +1) for wire in support if self.word[wire] != "Z"]
        ladder = [GateSpec("CNOT", (a, b)) for a, b in itertools.pairwise(support)]
        back = [self._to_z(wire, self.word[wire], -1) for wire in support if self.word[wire] != "Z"]
        return (*into_z, *ladder, GateSpec("RZ", (support[-1],)), *reversed(ladder), *back)

    @staticmethod
    def _to_z(wire: int, letter: str, direction: int) -> GateSpec:
        """A gate V with V^dag Z V equal to X (H) or Y (RX(pi/2)); direction -1 gives V^dag."""
        if letter == "X":
            return GateSpec("H", (wire,))
        return GateSpec("RX", (wire,), direction * math.pi / 2)


def make_pool(
    name: str, n_qubits: int, reference_state: Sequence[int] | None = None
) -> tuple[PauliRotation, ...]:
    """The operators of pool `name` (see POOLS) on `n_qubits` wires, without repeats."""
    if name not in POOLS:
        raise QnasError(not_allowed("pool", name, POOLS))
    if n_qubits < 2:
        raise QnasError(f"an operator pool needs at least 2 qubits; the task has {n_qubits}.")
    words: list[str] = []
    if name == "all":
        occupied = sum(reference_state or ())
        names = ["qubit-excitations"] if 0 < occupied < n_qubits else []
        return tuple(dict.fromkeys(op for pool in [*names, "pairs", "minimal"] for op in make_pool(pool, n_qubits, reference_state)))
    if name == "minimal":
        words = [_word(n_qubits, {j: "Z", j + 1: "Y"}) for j in range(n_qubits - 1)]
        words += [_word(n_qubits, {j: "Y"}) for j in range(1, n_qubits)]
    elif name == "pairs":
        words = [_word(n_qubits, {j: "Y"}) for j in range(n_qubits)]
        for a, b in itertools.combinations(range(n_qubits), 2):
            words += [_word(n_qubits, {a: x, b: y}) for x, y in (("X", "Y"), ("Y", "X"), ("Z", "Y"), ("Y", "Z"))]
    else:
        words = _excitation_words(n_qubits, reference_state)
    return tuple(PauliRotation(word) for word in dict.fromkeys(words))


def _word(n_qubits: int, letters: dict[int, str]) -> str:
    return "".join(letters.get(wire, "I") for wire in range(n_qubits))


def _excitation_words(n_qubits: int, reference_state: Sequence[int] | None) -> list[str]:
    """The odd-Y Pauli strings of every single and double excitation from the reference state's
    occupied wires to its empty ones, Z strings dropped (each string its own operator). Spin is
    not filtered: files order spin orbitals differently (PennyLane interleaves alpha and beta,
    Qiskit's files put all alpha first), and a spin-flipping string only lengthens the screen."""
    occupied = [wire for wire, bit in enumerate(reference_state or ()) if bit]
    empty = [wire for wire in range(n_qubits) if wire not in occupied]
    if not occupied or not empty:
        raise QnasError(
            f"the qubit-excitations pool excites the reference state's occupied wires into its empty ones, "
            f"but the reference state {tuple(reference_state or ())} has {len(occupied)} occupied of {n_qubits}; "
            "use a molecule task (its Hartree-Fock state), or the 'pairs' or 'minimal' pool."
        )
    words = []
    for a, b in itertools.product(occupied, empty):
        words += [_word(n_qubits, {a: "X", b: "Y"}), _word(n_qubits, {a: "Y", b: "X"})]
    for pair, target in itertools.product(itertools.combinations(occupied, 2), itertools.combinations(empty, 2)):
        for letters in itertools.product("XY", repeat=4):
            if letters.count("Y") % 2:  # the real (odd-Y) strings: exp(-i theta P / 2) stays real
                words.append(_word(n_qubits, dict(zip((*pair, *target), letters, strict=True))))
    return words
