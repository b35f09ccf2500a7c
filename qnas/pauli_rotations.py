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
from functools import cache, cached_property

import numpy as np
import pennylane as qml

from qnas.errors import QnasError, not_allowed
from qnas.spec import GateSpec

POOLS = ("all", "fermionic-excitations", "qubit-excitations", "target-excitations", "minimal", "pairs", "gates")
"""all: every operator of the qubit pools below that applies to the task (the default);
fermionic-excitations: every single and double excitation from the reference state's occupied
wires to its empty ones, as exp(theta (T - T^dag)) under Jordan-Wigner, Z strings kept (one angle
for all of an excitation's Pauli strings; ADAPT-VQE's pool, for Jordan-Wigner Hamiltonians only);
qubit-excitations: the Pauli strings of every single and double excitation under Jordan-Wigner,
Z strings dropped (qubit-ADAPT's pool; from the reference state's occupied wires to its empty ones);
target-excitations (state preparation, where the target state is known, as the Hartree-Fock state
is for a molecule): for each basis state of the target's support (its TARGET_SUPPORT largest
amplitudes), the words with X on the wires where it differs from |0...0> and Y on one of them, one
word per Y position; exp(-i theta P / 2) then moves amplitude from |0...0> straight to that basis
state, however many wires apart (GHZ's |1...1> is one rotation away, where every weight-2 word has
a zero gradient); minimal:
the 2n - 2 operators {Z_j Y_j+1} and {Y_j} (a minimal complete pool of that paper's kind); pairs:
every Y_j and every weight-2 word with one Y on a pair of wires (no molecule needed); gates: the
hardware-efficient vocabulary, RX, RY and RZ on every wire (X_j, Y_j, Z_j) and the entangling
RZZ on every pair (Z_a Z_b, compiled CNOT RZ CNOT)."""


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
    def label(self) -> str:
        return f"R({self.word})"

    @property
    def terms(self) -> tuple[tuple[str, float], ...]:
        """(word, scale) of each rotation exp(-i scale theta P / 2) that makes this one: itself."""
        return ((self.word, 1.0),)

    @property
    def support(self) -> tuple[int, ...]:
        """The wires the word acts on (letters other than I)."""
        return tuple(wire for wire, letter in enumerate(self.word) if letter != "I")

    @property
    def n_cnots(self) -> int:
        """CNOTs of the compiled form: a ladder down the support and back."""
        return 2 * (len(self.support) - 1)

    @cache  # noqa: B019  (frozen and hashable: one entry per rotation, kept as long as it is)
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


@dataclass(frozen=True)
class Excitation:
    """A fermionic excitation exp(theta (T - T^dag)) under Jordan-Wigner, T = a+_to... a_from...:
    the product of exp(-i scale theta P / 2) over its commuting Pauli strings P, one angle."""

    sources: tuple[int, ...]
    targets: tuple[int, ...]
    n_qubits: int

    @property
    def label(self) -> str:
        return f"E({','.join(map(str, self.sources))}->{','.join(map(str, self.targets))})"

    @cached_property
    def terms(self) -> tuple[tuple[str, float], ...]:
        """(word, scale) per Pauli string: T - T^dag = sum_k a_k P_k with a_k imaginary, so
        exp(theta (T - T^dag)) = prod_k exp(-i (2 i a_k) theta P_k / 2)."""
        up = qml.FermiWord({(i, wire): "+" for i, wire in enumerate(self.targets)}
                           | {(len(self.targets) + i, wire): "-" for i, wire in enumerate(reversed(self.sources))})
        generator = qml.jordan_wigner(up - _adjoint(up), ps=True)
        terms = []
        for word, coefficient in generator.items():
            letters = {int(wire): letter for wire, letter in word.items()}
            terms.append(("".join(letters.get(w, "I") for w in range(self.n_qubits)), float((2j * coefficient).real)))
        return tuple(sorted(terms))

    @property
    def n_cnots(self) -> int:
        return sum(PauliRotation(word).n_cnots for word, _ in self.terms)

    @cache  # noqa: B019  (frozen and hashable: one entry per excitation, kept as long as it is)
    def compile(self) -> tuple[GateSpec, ...]:
        """Each Pauli string's compiled rotation in turn (`PauliRotation.compile`); the RZ of each
        is trainable on its own in the spec (the environment keeps them tied)."""
        return tuple(gate for word, _ in self.terms for gate in PauliRotation(word).compile())


def _adjoint(word: qml.FermiWord) -> qml.FermiWord:
    """The Hermitian conjugate of a product of creation and annihilation operators."""
    n = len(word)
    flip = {"+": "-", "-": "+"}
    return qml.FermiWord({(n - 1 - i, wire): flip[kind] for (i, wire), kind in word.items()})


Rotation = PauliRotation | Excitation
"""What a `gate_set="pauli"` action places: one parameter, one or several commuting Pauli strings."""


TARGET_SUPPORT = 16
"""Basis states of a target the target-excitations pool reaches (the largest amplitudes first)."""


def make_pool(
    name: str, n_qubits: int, reference_state: Sequence[int] | None = None, target_state: Sequence[complex] | None = None
) -> tuple[Rotation, ...]:
    """The operators of pool `name` (see POOLS) on `n_qubits` wires, without repeats.

    `reference_state` is a molecule's Hartree-Fock bits; `target_state` a state-preparation task's
    target (length 2**n_qubits, wire 0 the most significant bit)."""
    if name not in POOLS:
        raise QnasError(not_allowed("pool", name, POOLS))
    if n_qubits < 2:
        raise QnasError(f"an operator pool needs at least 2 qubits; the task has {n_qubits}.")
    words: list[str] = []
    if name == "fermionic-excitations":
        occupied, empty = _occupied_and_empty(n_qubits, reference_state, name)
        singles = [Excitation((a,), (b,), n_qubits) for a, b in itertools.product(occupied, empty)]
        doubles = [Excitation(pair, target, n_qubits) for pair, target in itertools.product(
            itertools.combinations(occupied, 2), itertools.combinations(empty, 2))]
        return (*singles, *doubles)
    if name == "all":
        occupied = sum(reference_state or ())
        names = ["qubit-excitations"] if 0 < occupied < n_qubits else []
        names += ["target-excitations"] if target_state is not None else []
        pools = [make_pool(pool, n_qubits, reference_state, target_state) for pool in [*names, "pairs", "minimal"]]
        return tuple(dict.fromkeys(op for pool in pools for op in pool))
    if name == "gates":
        words = [_word(n_qubits, {j: letter}) for j in range(n_qubits) for letter in "XYZ"]
        words += [_word(n_qubits, {a: "Z", b: "Z"}) for a, b in itertools.combinations(range(n_qubits), 2)]
    elif name == "minimal":
        words = [_word(n_qubits, {j: "Z", j + 1: "Y"}) for j in range(n_qubits - 1)]
        words += [_word(n_qubits, {j: "Y"}) for j in range(1, n_qubits)]
    elif name == "pairs":
        words = [_word(n_qubits, {j: "Y"}) for j in range(n_qubits)]
        for a, b in itertools.combinations(range(n_qubits), 2):
            words += [_word(n_qubits, {a: x, b: y}) for x, y in (("X", "Y"), ("Y", "X"), ("Z", "Y"), ("Y", "Z"))]
    elif name == "target-excitations":
        words = _target_words(n_qubits, target_state)
    else:
        words = _excitation_words(n_qubits, reference_state)
    return tuple(PauliRotation(word) for word in dict.fromkeys(words))


def _target_words(n_qubits: int, target_state: Sequence[complex] | None) -> list[str]:
    """X on the wires where a basis state of the target's support has a 1, Y on one of them."""
    if target_state is None:
        raise QnasError(
            "the target-excitations pool moves |0...0> towards a state-preparation task's target, and this task "
            "has none; use a state-preparation task (bell, ghz), or the 'pairs' or 'minimal' pool."
        )
    weights = np.abs(np.asarray(target_state, dtype=np.complex128)) ** 2
    if weights.size != 2**n_qubits:
        raise QnasError(f"a target state on {n_qubits} qubits has {2**n_qubits} amplitudes, not {weights.size}.")
    support = [int(b) for b in np.argsort(-weights, kind="stable")[:TARGET_SUPPORT] if weights[b] > 1e-12 and b]
    words = []
    for basis in support:
        ones = [wire for wire in range(n_qubits) if basis >> (n_qubits - 1 - wire) & 1]
        words += [_word(n_qubits, {wire: "Y" if wire == y else "X" for wire in ones}) for y in ones]
    return words


def _word(n_qubits: int, letters: dict[int, str]) -> str:
    return "".join(letters.get(wire, "I") for wire in range(n_qubits))


def _occupied_and_empty(
    n_qubits: int, reference_state: Sequence[int] | None, pool: str
) -> tuple[list[int], list[int]]:
    occupied = [wire for wire, bit in enumerate(reference_state or ()) if bit]
    empty = [wire for wire in range(n_qubits) if wire not in occupied]
    if not occupied or not empty:
        raise QnasError(
            f"the {pool} pool excites the reference state's occupied wires into its empty ones, "
            f"but the reference state {tuple(reference_state or ())} has {len(occupied)} occupied of {n_qubits}; "
            "use a molecule task (its Hartree-Fock state), or the 'pairs' or 'minimal' pool."
        )
    return occupied, empty


def _excitation_words(n_qubits: int, reference_state: Sequence[int] | None) -> list[str]:
    """The odd-Y Pauli strings of every single and double excitation from the reference state's
    occupied wires to its empty ones, Z strings dropped (each string its own operator). Spin is
    not filtered: files order spin orbitals differently (PennyLane interleaves alpha and beta,
    Qiskit's files put all alpha first), and a spin-flipping string only lengthens the screen."""
    occupied, empty = _occupied_and_empty(n_qubits, reference_state, "qubit-excitations")
    words = []
    for a, b in itertools.product(occupied, empty):
        words += [_word(n_qubits, {a: "X", b: "Y"}), _word(n_qubits, {a: "Y", b: "X"})]
    for pair, target in itertools.product(itertools.combinations(occupied, 2), itertools.combinations(empty, 2)):
        for letters in itertools.product("XY", repeat=4):
            if letters.count("Y") % 2:  # the real (odd-Y) strings: exp(-i theta P / 2) stays real
                words.append(_word(n_qubits, dict(zip((*pair, *target), letters, strict=True))))
    return words
