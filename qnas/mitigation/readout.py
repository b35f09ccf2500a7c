"""Readout-error mitigation: undo a device's measured assignment matrices on probabilities and counts.

Measured probabilities over wires S are corrected by applying, block by block, the inverse of each
block's assignment matrix (`qnas.mitigation.readout_calibration`): with blocks B_1..B_m,
p_true = (A_1^-1 x ... x A_m^-1) p_measured, done on a (2, ..., 2) tensor so it costs
O(2^|S| 2^|B|) rather than a 4^|S| matrix. A block only partly inside S is first reduced to its
measured qubits, averaging over the unmeasured ones' prepared states (exact when their state does
not change how the measured ones read out).

The inverse is unbiased: its expected value is the true distribution, but with finite shots it can
hold small negative entries (a quasi-distribution). `nearest_probabilities` projects it onto the
probability simplex in least squares (Smolin, Gambetta and Smith, PRL 108, 070502, 2012): a valid
distribution, slightly biased. `correct_counts` returns both.

`mitigate_readout` applies this to a circuit as hardware does: all computational-basis results
come from one joint reading of the measured qubits, which is corrected once; probabilities and
Z-word expectation values are then computed from the corrected joint distribution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pennylane as qml
from pennylane.tape import QuantumScript

from qnas.errors import DeviceError
from qnas.mitigation.readout_calibration import ReadoutCalibration


def _reduced_matrix(matrix: np.ndarray, group: Sequence[int], kept: Sequence[int]) -> np.ndarray:
    """The assignment matrix of `kept` (a subset of `group`, in this order), the others averaged out."""
    k = len(group)
    table = matrix.reshape((2,) * (2 * k))  # measured bits, then prepared bits
    dropped = [i for i, w in enumerate(group) if w not in kept]
    table = table.sum(axis=tuple(dropped)).mean(axis=tuple(len(kept) + i for i in dropped))
    order = [[w for w in group if w in kept].index(w) for w in kept]
    table = np.transpose(table, order + [len(kept) + i for i in order])
    return table.reshape(2 ** len(kept), 2 ** len(kept))


def correct_probs(probs: Any, wires: Sequence[int], calibration: ReadoutCalibration) -> Any:
    """Undo readout errors on `probs` (..., 2**len(wires)) over `wires` (first most significant).

    Works on numpy arrays and torch tensors (differentiably); the result is a quasi-distribution."""
    wires = [int(w) for w in wires]
    missing = sorted(set(wires) - set(calibration.wires))
    if missing:
        raise DeviceError(
            f"no readout calibration for qubit(s) {missing} (it covers {list(calibration.wires)}); calibrate "
            "the qubits you measure."
        )
    n = len(wires)
    batch = tuple(qml.math.shape(probs)[:-1])
    tensor = qml.math.reshape(probs, batch + (2,) * n)
    for group, matrix in zip(calibration.groups, calibration.matrices, strict=True):
        kept = [w for w in wires if w in group]
        if not kept:
            continue
        inverse = np.linalg.inv(_reduced_matrix(matrix, group, kept))
        t = len(kept)
        axes = [len(batch) + wires.index(w) for w in kept]
        operator = qml.math.convert_like(inverse.reshape((2,) * (2 * t)), probs)
        tensor = qml.math.tensordot(tensor, operator, axes=[axes, list(range(t, 2 * t))])
        tensor = qml.math.moveaxis(tensor, list(range(len(batch) + n - t, len(batch) + n)), axes)
    return qml.math.reshape(tensor, batch + (2**n,))


def nearest_probabilities(quasi: Any) -> np.ndarray:
    """The probability distribution closest to `quasi` in Euclidean distance (projection onto the simplex)."""
    values = np.asarray(quasi, dtype=float)
    ordered = np.sort(values)[::-1]
    cumulative = np.cumsum(ordered) - 1.0
    ranks = np.arange(1, len(values) + 1)
    last = ranks[ordered - cumulative / ranks > 0][-1]
    return np.maximum(values - cumulative[last - 1] / last, 0.0)


@dataclass(frozen=True)
class MitigatedCounts:
    """Readout-corrected counts as frequencies over bitstrings (first wire leftmost).

    `quasi` is the unbiased inverse (may hold small negative entries, sums to 1); `nearest` is the
    closest valid probability distribution to it (least squares; biased, never negative)."""

    quasi: dict[str, float]
    nearest: dict[str, float]
    shots: int


def correct_counts(counts: Mapping[str, Any], wires: Sequence[int], calibration: ReadoutCalibration) -> MitigatedCounts:
    """Correct shot counts in `qml.counts` form ({"0101": 37, ...}) read on `wires`."""
    n = len(wires)
    frequencies = np.zeros(2**n)
    for bits, count in counts.items():
        if not isinstance(bits, str) or len(bits) != n or set(bits) - {"0", "1"}:
            raise DeviceError(
                f"counts key {bits!r} is not a bitstring of {n} bits for wires {list(wires)}; pass qml.counts "
                "results measured on exactly these wires (first wire leftmost)."
            )
        value = int(count) if np.asarray(count).dtype.kind in "iu" else count
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise DeviceError(f"counts[{bits!r}] = {count!r} must be a non-negative whole number of shots.")
        frequencies[int(bits, 2)] += value
    shots = int(frequencies.sum())
    if shots == 0:
        raise DeviceError("counts hold no shots; correct the result of a circuit run with shots > 0.")
    quasi = correct_probs(frequencies / shots, wires, calibration)
    nearest = nearest_probabilities(quasi)

    def as_dict(values: np.ndarray) -> dict[str, float]:
        return {format(i, f"0{n}b"): float(v) for i, v in enumerate(values) if v != 0}

    return MitigatedCounts(as_dict(quasi), as_dict(nearest), shots)


def _z_signs(word_wires: Sequence[int], wires: Sequence[int]) -> np.ndarray:
    """(-1)^(parity of the bits on word_wires) for each basis state over `wires`."""
    states = np.arange(2 ** len(wires))
    parity = np.zeros_like(states)
    for wire in word_wires:
        bit = len(wires) - 1 - list(wires).index(wire)
        parity ^= (states >> bit) & 1
    return 1.0 - 2.0 * parity


def _marginal(joint: Any, joint_wires: Sequence[int], wires: Sequence[int]) -> Any:
    """The distribution of `wires` (in this order) from a joint one over `joint_wires`."""
    batch = tuple(qml.math.shape(joint)[:-1])
    tensor = qml.math.reshape(joint, batch + (2,) * len(joint_wires))
    dropped = tuple(len(batch) + i for i, w in enumerate(joint_wires) if w not in wires)
    if dropped:
        tensor = qml.math.sum(tensor, axis=dropped)
    remaining = [w for w in joint_wires if w in wires]
    order = [remaining.index(w) for w in wires]
    tensor = qml.math.transpose(tensor, list(range(len(batch))) + [len(batch) + i for i in order])
    return qml.math.reshape(tensor, batch + (2 ** len(wires),))


@qml.transform
def mitigate_readout(tape: QuantumScript, calibration: ReadoutCalibration) -> tuple[list[QuantumScript], Any]:
    """Read all measured qubits at once, undo `calibration`'s readout errors, then answer each measurement."""
    recipes: list[tuple[str, list[int], Any]] = []
    for mp in tape.measurements:
        wires = [int(w) for w in mp.wires]
        if isinstance(mp, qml.measurements.ProbabilityMP) and mp.obs is None:
            recipes.append(("probs", wires, None))
        elif isinstance(mp, qml.measurements.ExpectationMP) and mp.obs is not None and mp.obs.pauli_rep is not None:
            terms = []
            for word, coeff in mp.obs.pauli_rep.items():
                if set(word.values()) - {"Z"}:
                    raise DeviceError(
                        f"readout mitigation needs computational-basis measurements, got {mp.obs}; "
                        "rotate the measurement first (diagonalize_measurements)."
                    )
                terms.append((coeff, [int(w) for w in word]))
            recipes.append(("expval", wires, terms))
        else:
            raise DeviceError(
                f"readout mitigation cannot correct the measurement {mp}; use expectation values of Pauli words "
                "or probabilities, or turn readout_mitigation off."
            )
    joint_wires = list(dict.fromkeys(w for _, wires, _ in recipes for w in wires))

    def post(results: Any) -> Any:
        joint = correct_probs(results[0], joint_wires, calibration)
        out = []
        for kind, wires, terms in recipes:
            if kind == "probs":
                out.append(_marginal(joint, joint_wires, wires))
            else:
                out.append(sum(
                    qml.math.real(coeff) * qml.math.tensordot(joint, _z_signs(word, joint_wires), axes=[[-1], [0]])
                    for coeff, word in terms
                ))
        return tuple(out) if len(out) > 1 else out[0]

    return [QuantumScript(tape.operations, [qml.probs(wires=joint_wires)], shots=tape.shots)], post
