"""The flat vocabulary a search-space declaration speaks, and which values each word accepts.

A declaration names flat fields (`n_qubits`, `pre_width`, `rotations`, ...) rather than the
nested CandidateSpec layout, because samplers and action spaces work on flat parameters. Each
field checks a value against the same allowed tuples and bounds that `qnas.spec` enforces, so a
typo in a YAML file fails when the space loads, not hours into a search.
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
    MAX_BATCH,
    MAX_EPOCHS,
    MAX_LAYERS,
    MAX_QUBITS,
    MAX_WIDTH,
    MEASUREMENTS,
    OPTIMIZERS,
    ROTATIONS,
    SPLITS,
)

Kind = Literal["choice", "bool", "int", "optional_int", "float", "rotations"]

MAX_SHOTS = 10_000_000
"""Mirrors CalibrationSpec's bound on shots."""


@dataclass(frozen=True)
class Field:
    """One flat word: its kind, the values it accepts, and where it lands in a CandidateSpec."""

    name: str
    kind: Kind
    doc: str
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
    Field("split", "choice", "where the quantum block sits", allowed=SPLITS),
    Field("n_qubits", "int", "qubit count (a task that fixes it overrides this)", low=1, high=MAX_QUBITS),
    Field("encoding", "choice", "encoding.kind", allowed=ENCODINGS),
    Field("reupload", "bool", "encoding.reupload: repeat the encoding before every layer"),
    Field("n_layers", "int", "number of ansatz layers", low=1, high=MAX_LAYERS),
    Field("pre_width", "int", "width of each classical layer before the quantum block", low=1, high=MAX_WIDTH),
    Field("pre_depth", "int", "number of classical layers before (default 1)", low=1, high=MAX_LAYERS),
    Field("post_width", "int", "width of each classical layer after the quantum block", low=1, high=MAX_WIDTH),
    Field("post_depth", "int", "number of classical layers after (default 1)", low=1, high=MAX_LAYERS),
    Field("measurement", "choice", "readout", allowed=MEASUREMENTS),
    Field("shots", "optional_int", "calibration.shots; null means analytic", low=1, high=MAX_SHOTS),
    Field("optimizer", "choice", "training.optimizer", allowed=OPTIMIZERS),
    Field("learning_rate", "float", "training.learning_rate", low=0, high=10),
    Field("epochs", "int", "training.epochs (optimizer steps for VQE and state preparation)", low=1, high=MAX_EPOCHS),
    Field("batch_size", "int", "training.batch_size", low=1, high=MAX_BATCH),
    Field("rotations", "rotations", "layer rotation set, '+'-joined", layer=True),
    Field("entangler", "choice", "layer entangler pattern", allowed=ENTANGLERS, layer=True),
    Field("entangling_gate", "choice", "layer two-qubit gate", allowed=ENTANGLING_GATES, layer=True),
)

FIELDS: dict[str, Field] = {f.name: f for f in _FIELDS}
GLOBAL_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELDS if not f.layer)
LAYER_FIELDS: tuple[str, ...] = tuple(f.name for f in _FIELDS if f.layer)
