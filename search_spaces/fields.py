"""The flat vocabulary a search-space declaration speaks, and which values each word accepts.

A declaration names flat fields (`n_qubits`, `pre_width`, `rotations`, ...) rather than the
nested CandidateSpec layout, because samplers and action spaces work on flat parameters. Each
field checks a value against the same allowed tuples and bounds that `qnas.spec` enforces, so a
typo in a YAML file fails when the space loads, not partway through a search.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from qnas.errors import not_allowed
from qnas.spec import (
    ENCODINGS,
    ENTANGLERS,
    ENTANGLING_GATES,
    LAYOUTS,
    MAX_BATCH,
    MAX_EPOCHS,
    MAX_LAYERS,
    MAX_QUBITS,
    MAX_WIDTH,
    MEASUREMENTS,
    OPTIMIZERS,
    ROTATIONS,
    SPLITS,
    ZNE_METHODS,
)

Kind = Literal["choice", "bool", "int", "optional_int", "float", "rotations"]

MAX_SHOTS = 10_000_000
"""Mirrors CalibrationSpec's bound on shots."""

ZNE_CHOICES = {"off": (), "1,3": (1, 3), "1,3,5": (1, 3, 5)}
"""The `zne` word's values (categorical values must be scalars) and the fold factors each means."""


@dataclass(frozen=True)
class Field:
    """One flat word: its kind and the values it accepts (where it lands: `space._build`)."""

    name: str
    kind: Kind
    allowed: tuple[str, ...] = ()
    low: float = 0
    high: float = 0
    layer: bool = False

    @property
    def range_kinds(self) -> tuple[str, ...]:
        """Which range distributions (`int:` / `float:`) may declare this field; choices always may."""
        if self.kind in ("int", "optional_int"):
            return ("int",)
        if self.kind == "float":
            return ("float",)
        return ()

    def problem(self, value: Any) -> str | None:
        """Why `value` is not a valid value of this field, or None when it is."""
        name = self.name
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.allowed:
                return not_allowed(name, value, self.allowed)
            return None
        if self.kind == "bool":
            return None if isinstance(value, bool) else f"{name} = {value!r} must be true or false."
        if self.kind == "rotations":
            return _rotations_problem(value)
        if self.kind == "optional_int" and value is None:
            return None
        if self.kind in ("int", "optional_int"):
            if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= self.high:
                also = " or null" if self.kind == "optional_int" else ""
                return f"{name} = {value!r} must be an integer in [{self.low}, {self.high}]{also}."
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            hint = " YAML reads 1e-3 as text: write 1.0e-3 or 0.001." if isinstance(value, str) else ""
            return f"{name} = {value!r} must be a number in ({self.low}, {self.high}].{hint}"
        if not self.low < value <= self.high:
            return f"{name} = {value!r} must be in ({self.low}, {self.high}]."
        return None


def _rotations_problem(value: Any) -> str | None:
    """Rotation sets are '+'-joined gate names ('RX+RZ'): categorical values must be scalars."""
    if not isinstance(value, str) or not value:
        return f"rotations = {value!r} must be a '+'-joined set of gates from {list(ROTATIONS)}, e.g. 'RX+RZ'."
    gates = value.split("+")
    for gate in gates:
        if gate not in ROTATIONS:
            return not_allowed(f"rotations = {value!r}: gate", gate, ROTATIONS, "Join gates with '+', e.g. 'RX+RZ'.")
    if len(set(gates)) != len(gates):
        return f"rotations = {value!r} repeats a gate; list each of {list(ROTATIONS)} at most once."
    return None


_FIELDS = (
    Field("split", "choice", allowed=SPLITS),  # where the quantum block sits
    Field("n_qubits", "int", low=1, high=MAX_QUBITS),  # qubit count (a task that fixes it overrides this)
    Field("encoding", "choice", allowed=ENCODINGS),  # encoding.kind
    Field("reupload", "bool"),  # encoding.reupload: repeat the encoding before every layer
    Field("n_layers", "int", low=1, high=MAX_LAYERS),  # number of ansatz layers
    Field("pre_width", "int", low=1, high=MAX_WIDTH),  # width of each classical layer before the quantum block
    Field("pre_depth", "int", low=1, high=MAX_LAYERS),  # number of classical layers before (default 1)
    Field("post_width", "int", low=1, high=MAX_WIDTH),  # width of each classical layer after the quantum block
    Field("post_depth", "int", low=1, high=MAX_LAYERS),  # number of classical layers after (default 1)
    Field("measurement", "choice", allowed=MEASUREMENTS),  # readout
    Field("shots", "optional_int", low=1, high=MAX_SHOTS),  # calibration.shots; null means analytic
    Field("readout_mitigation", "bool"),  # calibration.readout_mitigation (acts on a noisy device)
    Field("zne", "choice", allowed=tuple(ZNE_CHOICES)),  # calibration.zne_factors: off, "1,3" or "1,3,5"
    Field("zne_method", "choice", allowed=ZNE_METHODS),  # calibration.zne_method
    Field("layout", "choice", allowed=LAYOUTS),  # calibration.layout: qubits used on a device's coupling map
    Field("optimizer", "choice", allowed=OPTIMIZERS),  # training.optimizer
    Field("learning_rate", "float", low=0, high=10),  # training.learning_rate
    Field("epochs", "int", low=1, high=MAX_EPOCHS),  # training.epochs (optimizer steps for VQE and state preparation)
    Field("batch_size", "int", low=1, high=MAX_BATCH),  # training.batch_size
    Field("rotations", "rotations", layer=True),  # layer rotation set, '+'-joined
    Field("entangler", "choice", allowed=ENTANGLERS, layer=True),  # layer entangler pattern
    Field("entangling_gate", "choice", allowed=ENTANGLING_GATES, layer=True),  # layer two-qubit gate
)

FIELDS: dict[str, Field] = {f.name: f for f in _FIELDS}
GLOBAL_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELDS if not f.layer)
LAYER_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELDS if f.layer)
