"""Zero-noise extrapolation: run the circuit at folded noise levels and extrapolate to zero noise.

Global unitary folding (`qml.noise.fold_global`) turns U into U (U^dagger U)^k, scaling the noise
by an odd factor 1 + 2k at the same ideal result; `qml.mitigate_with_zne` runs each factor and
extrapolates. Methods: Richardson (a polynomial through every point), linear (a least-squares line),
exponential (a decay towards an asymptote; needs results of one sign).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import pennylane as qml

from qnas.errors import SpecError, not_allowed
from qnas.spec import ZNE_METHODS


def extrapolation(method: str) -> Callable[..., Any]:
    """The `qml.noise` extrapolation function of a method name."""
    if method == "richardson":
        return qml.noise.richardson_extrapolate
    if method == "linear":
        return partial(qml.noise.poly_extrapolate, order=1)
    if method == "exponential":
        return qml.noise.exponential_extrapolate
    raise SpecError(not_allowed("calibration.zne_method", method, ZNE_METHODS))


def with_zne(qnode: qml.QNode, factors: Sequence[int], method: str) -> qml.QNode:
    """`qnode` with ZNE added to its transform program: the transforms added after it see folded circuits."""
    return qml.mitigate_with_zne(
        qnode, scale_factors=list(factors), folding=qml.noise.fold_global, extrapolate=extrapolation(method)
    )
