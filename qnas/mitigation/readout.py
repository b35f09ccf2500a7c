"""Readout-error mitigation with per-qubit assignment matrices measured on the device itself.

Calibration, as on hardware: prepare |0...0> and |1...1> on the device (X gates, with their own
noise) and read each qubit's marginal probabilities, giving for qubit q the assignment matrix
A_q = [[P(0|0), P(0|1)], [P(1|0), P(1|1)]]. Measured probabilities over wires S are then corrected
by the inverse of the tensor product of the A_q (no clipping, so the estimate stays unbiased).
Z-word expectations are recomputed from the corrected probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pennylane as qml
from pennylane.tape import QuantumScript

from qnas.errors import DeviceError


def assignment_matrix(prepared_zero: Any, prepared_one: Any) -> np.ndarray:
    """A = [[P(0|0), P(0|1)], [P(1|0), P(1|1)]] from one qubit's [P(0), P(1)] after preparing |0> and |1>."""
    p0, p1 = np.asarray(prepared_zero, dtype=float), np.asarray(prepared_one, dtype=float)
    matrix = np.array([[p0[0], p1[0]], [p0[1], p1[1]]])
    if abs(np.linalg.det(matrix)) < 1e-6:
        raise DeviceError(
            f"readout calibration gives a singular assignment matrix {matrix.tolist()}: the qubit cannot tell 0 "
            "from 1, so its readout cannot be corrected; turn readout_mitigation off or use more shots."
        )
    return matrix


def correct_probs(probs: Any, wires: Sequence[int], matrices: Mapping[int, np.ndarray]) -> Any:
    """Apply the inverse assignment of `wires` (first wire most significant) to `probs` (..., 2**k)."""
    inverse = np.ones((1, 1))
    for wire in wires:
        if wire not in matrices:
            raise DeviceError(f"no readout calibration for qubit {wire}; calibrate the wires you measure.")
        inverse = np.kron(inverse, np.linalg.inv(matrices[wire]))
    operator = qml.math.convert_like(inverse, probs)
    return qml.math.tensordot(probs, qml.math.transpose(operator), axes=[[-1], [0]])


def _z_signs(word_wires: Sequence[int], wires: Sequence[int]) -> np.ndarray:
    """(-1)^(parity of the bits on word_wires) for each basis state over `wires`."""
    states = np.arange(2 ** len(wires))
    parity = np.zeros_like(states)
    for wire in word_wires:
        bit = len(wires) - 1 - list(wires).index(wire)
        parity ^= (states >> bit) & 1
    return 1.0 - 2.0 * parity


@qml.transform
def mitigate_readout(
    tape: QuantumScript, matrices: Mapping[int, np.ndarray]
) -> tuple[list[QuantumScript], Any]:
    """Measure probabilities instead of Z-basis results, then undo the readout errors of `matrices`."""
    measurements, recipes = [], []
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
                terms.append((coeff, _z_signs([int(w) for w in word], wires)))
            recipes.append(("expval", wires, terms))
        else:
            raise DeviceError(
                f"readout mitigation cannot correct the measurement {mp}; use expectation values of Pauli words "
                "or probabilities, or turn readout_mitigation off."
            )
        measurements.append(qml.probs(wires=wires))

    def post(results: Any) -> Any:
        raw = results[0] if len(measurements) > 1 else (results[0],)
        out = []
        for (kind, wires, terms), probs in zip(recipes, raw, strict=True):
            fixed = correct_probs(probs, wires, matrices)
            if kind == "probs":
                out.append(fixed)
            else:
                out.append(sum(qml.math.real(coeff) * qml.math.tensordot(fixed, signs, axes=[[-1], [0]]) for coeff, signs in terms))
        return tuple(out) if len(out) > 1 else out[0]

    return [QuantumScript(tape.operations, measurements, shots=tape.shots)], post
