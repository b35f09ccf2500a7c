"""CandidateSpec: everything needed to rebuild one hybrid quantum-classical model.

A spec is a frozen value. Its constructor validates every field (messages name the field, the
value and the allowed values) and canonicalizes equivalent spellings, so two specs that build the
same model compare equal and share one hash. Building circuits and models happens elsewhere
(`qnas.circuits`, `qnas.models`); this module knows nothing about PennyLane or torch.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from qnas.errors import SpecError, not_allowed

SPEC_VERSION = 1

SPLITS = ("quantum_first", "quantum_head", "quantum_middle", "quantum_only")
"""Where the quantum block sits.

- quantum_first: a quantum feature map reads the raw features; classical layers follow.
- quantum_head: classical layers, then the quantum block, then only a linear readout.
- quantum_middle: classical hidden layers on both sides of an intermediate quantum layer.
- quantum_only: a bare circuit with no data (VQE, state preparation).
"""
ENCODINGS = ("none", "angle_x", "angle_y", "angle_z", "iqp", "amplitude")
ROTATIONS = ("RX", "RY", "RZ")
ENTANGLERS = ("none", "linear", "ring", "full")
ENTANGLING_GATES = ("CNOT", "CZ", "CRZ")
MEASUREMENTS = ("expval", "probs")
FIXED_GATES = ("H", "X", "Y", "Z", "S", "T")
"""Single-qubit gates without an angle."""
ROTATION_GATES = ("RX", "RY", "RZ")
"""Single-qubit rotations: a trainable angle, or a fixed `angle`."""
TWO_QUBIT_GATES = ("CNOT", "CZ", "CRZ")
"""Two-qubit gates on (control, target); CRZ has an angle like the rotations."""
GATES = FIXED_GATES + ROTATION_GATES + TWO_QUBIT_GATES
ANGLE_GATES = (*ROTATION_GATES, "CRZ")
"""Gates that take an angle (trainable when `GateSpec.angle` is None)."""
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
ZNE_METHODS = ("richardson", "linear", "exponential")
"""Zero-noise extrapolation methods (`qnas.mitigation.zne`)."""
MAX_FOLD_FACTOR = 21
LAYOUTS = ("trivial", "low_noise")
"""Named qubit layouts on a device (`qnas.routing`); an explicit list of physical qubits is allowed too."""

MAX_QUBITS = 30
"""Upper bound a spec accepts at all; a device may hold fewer (see `qnas.devices`)."""
MAX_LAYERS = 64
MAX_GATES = 512
MAX_WIDTH = 4096
MAX_EPOCHS = 100_000
MAX_BATCH = 65_536


def _check_choice(what: str, value: Any, allowed: tuple[str, ...], fix: str = "") -> str:
    if not isinstance(value, str) or value not in allowed:
        raise SpecError(not_allowed(what, value, allowed, fix))
    return value


def _check_int(what: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(f"{what} = {value!r} must be an integer in [{low}, {high}].")
    return value


def _canonical_gate(name: Any) -> Any:
    """Gate names are case-insensitive ('cnot' == 'CNOT'); other values pass through to the check."""
    return name.upper() if isinstance(name, str) else name


def _check_keys(cls: type, data: Any) -> dict[str, Any]:
    """Reject unknown or missing keys when decoding a dict, naming the allowed keys."""
    if not isinstance(data, dict):
        raise SpecError(f"{cls.__name__} must be a JSON object (dict), got {type(data).__name__}: {data!r}.")
    allowed = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise SpecError(not_allowed(f"{cls.__name__} key", unknown[0], allowed, "Remove or rename the key."))
    return data


@dataclass(frozen=True)
class EncodingSpec:
    """How classical data enters the circuit.

    `reupload` repeats the encoding before every ansatz layer (data re-uploading), which makes
    the model a richer Fourier series in its inputs. Amplitude encoding prepares the whole state
    and so can only come first.
    """

    kind: str = "angle_y"
    reupload: bool = False

    def __post_init__(self) -> None:
        _check_choice("encoding.kind", self.kind, ENCODINGS)
        if not isinstance(self.reupload, bool):
            raise SpecError(f"encoding.reupload = {self.reupload!r} must be true or false.")
        if self.reupload and self.kind in ("none", "amplitude"):
            raise SpecError(
                f"encoding.reupload = True is not allowed with encoding.kind = {self.kind!r}: "
                "re-uploading needs an encoding that can be repeated between layers. "
                "Use angle_x/angle_y/angle_z/iqp, or set reupload to false."
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncodingSpec:
        return cls(**_check_keys(cls, data))


@dataclass(frozen=True)
class LayerSpec:
    """One ansatz layer: a rotation on every qubit for each gate in `rotations`, then entanglers."""

    rotations: tuple[str, ...] = ("RY",)
    entangler: str = "linear"
    entangling_gate: str | None = "CNOT"

    def __post_init__(self) -> None:
        rotations = self.rotations
        if isinstance(rotations, str):
            rotations = tuple(r for r in rotations.split("+") if r)
        if not isinstance(rotations, (tuple, list)) or not rotations:
            raise SpecError(
                f"layer.rotations = {self.rotations!r} must be a non-empty list drawn from {list(ROTATIONS)}."
            )
        rotations = tuple(_canonical_gate(r) for r in rotations)
        for r in rotations:
            _check_choice("layer.rotations item", r, ROTATIONS)
        if len(set(rotations)) != len(rotations):
            raise SpecError(f"layer.rotations = {list(rotations)} repeats a gate; list each of {list(ROTATIONS)} at most once.")
        object.__setattr__(self, "rotations", rotations)

        _check_choice("layer.entangler", self.entangler, ENTANGLERS)
        if self.entangler == "none":
            # No entanglers means no entangling gate: canonicalize so equal circuits hash equal.
            object.__setattr__(self, "entangling_gate", None)
        else:
            gate = _canonical_gate(self.entangling_gate)
            _check_choice("layer.entangling_gate", gate, ENTANGLING_GATES)
            object.__setattr__(self, "entangling_gate", gate)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerSpec:
        data = dict(_check_keys(cls, data))
        if isinstance(data.get("rotations"), list):
            data["rotations"] = tuple(data["rotations"])
        return cls(**data)


@dataclass(frozen=True)
class GateSpec:
    """One explicit gate of a gate-level ansatz, as an agent that builds circuits gate by gate emits.

    `wires` is one wire, or (control, target) for TWO_QUBIT_GATES. `angle` is only for RX/RY/RZ/CRZ:
    None makes the angle trainable, a number fixes it (e.g. the RZ(pi/4) of a fixed gate set).
    Wires are checked against n_qubits by the CandidateSpec that holds the gate.
    """

    name: str
    wires: tuple[int, ...]
    angle: float | None = None

    def __post_init__(self) -> None:
        name = _canonical_gate(self.name)
        if name not in GATES:
            raise SpecError(not_allowed("gate.name", self.name, GATES, "Gate names are case-insensitive."))
        object.__setattr__(self, "name", name)

        wires = self.wires
        arity = 2 if name in TWO_QUBIT_GATES else 1
        if (
            not isinstance(wires, (tuple, list))
            or len(wires) != arity
            or any(isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 0 for w in wires)
        ):
            form = (
                "[control, target]: two non-negative integers, e.g. [0, 1]"
                if arity == 2
                else "[wire]: one non-negative integer, e.g. [0]"
            )
            raise SpecError(f"gate {name} wires = {wires!r} must be {form}.")
        if arity == 2 and wires[0] == wires[1]:
            raise SpecError(f"gate {name} wires = {list(wires)} must be two distinct wires (control, target).")
        # int(): numpy integers (an agent's action indices) become plain ints, as JSON holds them.
        object.__setattr__(self, "wires", tuple(int(w) for w in wires))

        angle = self.angle
        if angle is None:
            return
        if name not in ANGLE_GATES:
            raise SpecError(
                f"gate {name} angle = {angle!r} is not allowed: {name} has no angle. "
                f"Remove the angle, or use one of {list(ANGLE_GATES)}."
            )
        if isinstance(angle, bool) or not isinstance(angle, numbers.Real) or not math.isfinite(angle):
            raise SpecError(f"gate {name} angle = {angle!r} must be a finite number, or null for a trainable angle.")
        # + 0.0 turns -0.0 into 0.0: equal angles must give one JSON form and so one hash.
        object.__setattr__(self, "angle", float(angle) + 0.0)

    @property
    def trainable(self) -> bool:
        """Whether the gate's angle is a trainable weight (an angle gate with no fixed angle)."""
        return self.name in ANGLE_GATES and self.angle is None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "wires": list(self.wires), "angle": self.angle}

    def summary(self) -> str:
        """Compact form for tables: 'H0', 'CNOT0,1', 'RZ(0.785)1' (fixed angle), 'RY1' (trainable)."""
        angle = "" if self.angle is None else f"({self.angle:.3g})"
        return f"{self.name}{angle}{','.join(map(str, self.wires))}"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateSpec:
        data = dict(_check_keys(cls, data))
        missing = [key for key in ("name", "wires") if key not in data]
        if missing:
            raise SpecError(
                f"gate {data!r} is missing {missing[0]!r}; a gate needs 'name' and 'wires', "
                'e.g. {"name": "CNOT", "wires": [0, 1]}.'
            )
        return cls(**data)


def _gate_from_dict(index: int, data: Any) -> GateSpec:
    """Decode gates[index], naming its position in the error so a long gate list is easy to fix."""
    try:
        return GateSpec.from_dict(data)
    except SpecError as exc:
        raise SpecError(f"gates[{index}]: {exc}") from exc


def _check_fold_factors(factors: Any) -> tuple[int, ...]:
    """Odd, increasing fold factors starting at 1, at least two of them; or none (ZNE off)."""
    if not isinstance(factors, (tuple, list)):
        raise SpecError(f"calibration.zne_factors = {factors!r} must be a list such as [1, 3, 5], or [].")
    factors = tuple(factors)
    if not factors:
        return factors
    valid = (
        all(isinstance(f, int) and not isinstance(f, bool) and f % 2 == 1 for f in factors)
        and factors[0] == 1
        and len(factors) >= 2
        and list(factors) == sorted(set(factors))
        and factors[-1] <= MAX_FOLD_FACTOR
    )
    if not valid:
        raise SpecError(
            f"calibration.zne_factors = {list(factors)} must be odd, increasing fold factors that start at 1 "
            f"(at least two, at most {MAX_FOLD_FACTOR}), e.g. [1, 3] or [1, 3, 5]; or [] for no ZNE."
        )
    return factors


@dataclass(frozen=True)
class CalibrationSpec:
    """How the trained circuit is run when scored on a device.

    - shots: None = analytic expectation values;
    - readout_mitigation: undo readout errors with assignment matrices measured on the device;
    - zne_factors / zne_method: zero-noise extrapolation over these odd fold factors ([] = off);
    - layout: where logical qubits sit on a device with a coupling map (`qnas.routing.LAYOUTS`, or
      a list of physical qubits).

    The settings after shots only act on a noisy device. At their defaults they are left out of
    `to_dict()`, so specs keep the hashes they had before these settings existed.
    """

    shots: int | None = None
    readout_mitigation: bool = False
    zne_factors: tuple[int, ...] = ()
    zne_method: str = "richardson"
    layout: str | tuple[int, ...] = "trivial"

    def __post_init__(self) -> None:
        if self.shots is not None:
            _check_int("calibration.shots", self.shots, 1, 10_000_000)
        if not isinstance(self.readout_mitigation, bool):
            raise SpecError(f"calibration.readout_mitigation = {self.readout_mitigation!r} must be true or false.")
        object.__setattr__(self, "zne_factors", _check_fold_factors(self.zne_factors))
        _check_choice("calibration.zne_method", self.zne_method, ZNE_METHODS)
        if not self.zne_factors:
            object.__setattr__(self, "zne_method", "richardson")  # no ZNE: one canonical form, one hash
        layout = self.layout
        if isinstance(layout, (tuple, list)):
            if not layout or any(isinstance(q, bool) or not isinstance(q, numbers.Integral) or q < 0 for q in layout):
                raise SpecError(
                    f"calibration.layout = {list(layout)} must list non-negative physical qubit indices, e.g. [0, 1, 2]."
                )
            object.__setattr__(self, "layout", tuple(int(q) for q in layout))
        else:
            _check_choice("calibration.layout", layout, LAYOUTS, "Or give a list of physical qubits.")

    def summary(self) -> str:
        """' shots=1000 ro-mit zne=1,3,5/linear layout=low_noise' with only the non-default settings."""
        parts = [] if self.shots is None else [f"shots={self.shots}"]
        if self.readout_mitigation:
            parts.append("ro-mit")
        if self.zne_factors:
            parts.append(f"zne={','.join(map(str, self.zne_factors))}/{self.zne_method}")
        if self.layout != "trivial":
            layout = self.layout if isinstance(self.layout, str) else ",".join(map(str, self.layout))
            parts.append(f"layout={layout}")
        return "".join(f" {part}" for part in parts)

    def to_dict(self) -> dict[str, Any]:
        """Shots always; the other settings only where they differ from their defaults."""
        data: dict[str, Any] = {"shots": self.shots}
        for f in fields(self)[1:]:
            value = getattr(self, f.name)
            if value != f.default:
                data[f.name] = list(value) if isinstance(value, tuple) else value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CalibrationSpec:
        data = dict(_check_keys(cls, data))
        for key in ("zne_factors", "layout"):
            if isinstance(data.get(key), list):
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass(frozen=True)
class TrainingSpec:
    """Optimizer and budget. For VQE and state preparation an epoch is one optimizer step."""

    optimizer: str = "adam"
    learning_rate: float = 0.01
    epochs: int = 30
    batch_size: int = 32

    def __post_init__(self) -> None:
        object.__setattr__(self, "optimizer", self.optimizer.lower() if isinstance(self.optimizer, str) else self.optimizer)
        _check_choice("training.optimizer", self.optimizer, OPTIMIZERS)
        lr = self.learning_rate
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 10:
            raise SpecError(f"training.learning_rate = {lr!r} must be a finite number in (0, 10].")
        object.__setattr__(self, "learning_rate", float(lr))
        _check_int("training.epochs", self.epochs, 1, MAX_EPOCHS)
        _check_int("training.batch_size", self.batch_size, 1, MAX_BATCH)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingSpec:
        return cls(**_check_keys(cls, data))


def _check_widths(what: str, widths: Any) -> tuple[int, ...]:
    if not isinstance(widths, (tuple, list)):
        raise SpecError(f"{what} = {widths!r} must be a list of layer widths, e.g. [16, 8], or [].")
    for w in widths:
        _check_int(f"{what} item", w, 1, MAX_WIDTH)
    return tuple(widths)


@dataclass(frozen=True)
class CandidateSpec:
    """One candidate hybrid model: split, classical layers, qubits, encoding, ansatz, readout, settings.

    The ansatz is `layers` followed by `gates`: a layered ansatz (the Optuna search spaces), an
    explicit gate list (circuits an RL agent builds gate by gate), or both.
    """

    split: str = "quantum_head"
    n_qubits: int = 4
    pre_layers: tuple[int, ...] = ()
    post_layers: tuple[int, ...] = ()
    encoding: EncodingSpec = field(default_factory=EncodingSpec)
    layers: tuple[LayerSpec, ...] = (LayerSpec(),)
    measurement: str = "expval"
    calibration: CalibrationSpec = field(default_factory=CalibrationSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    gates: tuple[GateSpec, ...] = ()

    def __post_init__(self) -> None:
        _check_choice("split", self.split, SPLITS)
        _check_int("n_qubits", self.n_qubits, 1, MAX_QUBITS)
        object.__setattr__(self, "pre_layers", _check_widths("pre_layers", self.pre_layers))
        object.__setattr__(self, "post_layers", _check_widths("post_layers", self.post_layers))
        for name, cls in (("encoding", EncodingSpec), ("calibration", CalibrationSpec), ("training", TrainingSpec)):
            if not isinstance(getattr(self, name), cls):
                raise SpecError(f"{name} = {getattr(self, name)!r} must be a {cls.__name__}.")
        if not isinstance(self.layers, (tuple, list)) or len(self.layers) > MAX_LAYERS:
            raise SpecError(f"layers must hold 0 to {MAX_LAYERS} LayerSpec entries, got {self.layers!r}.")
        if not all(isinstance(layer, LayerSpec) for layer in self.layers):
            raise SpecError(f"layers = {self.layers!r} must contain only LayerSpec entries.")
        object.__setattr__(self, "layers", tuple(self.layers))
        self._check_gates()
        _check_choice("measurement", self.measurement, MEASUREMENTS)
        self._check_split()

    def _check_gates(self) -> None:
        """Gates must be GateSpecs on existing wires, and the ansatz must hold at least one layer or gate."""
        gates = self.gates
        if not isinstance(gates, (tuple, list)) or len(gates) > MAX_GATES:
            raise SpecError(f"gates must hold 0 to {MAX_GATES} GateSpec entries, got {gates!r}.")
        for index, gate in enumerate(gates):
            if not isinstance(gate, GateSpec):
                raise SpecError(f"gates[{index}] = {gate!r} must be a GateSpec, e.g. GateSpec('CNOT', (0, 1)).")
            for wire in gate.wires:
                if wire >= self.n_qubits:
                    raise SpecError(
                        f"gates[{index}] ({gate.name} on wires {list(gate.wires)}) uses wire {wire}, but "
                        f"n_qubits = {self.n_qubits} (wires 0..{self.n_qubits - 1}); raise n_qubits or change "
                        "the gate's wires."
                    )
        object.__setattr__(self, "gates", tuple(gates))
        if not self.layers and not self.gates:
            raise SpecError(
                f"the ansatz is empty (layers = [], gates = []): give 1 to {MAX_LAYERS} layers, "
                f"or 1 to {MAX_GATES} gates, or both."
            )

    def _check_split(self) -> None:
        """The split fixes which classical parts exist and whether there is data to encode."""
        split, pre, post, kind = self.split, self.pre_layers, self.post_layers, self.encoding.kind
        if split == "quantum_only":
            if pre or post or kind != "none":
                raise SpecError(
                    f"split = 'quantum_only' needs pre_layers = [], post_layers = [] and encoding.kind = 'none' "
                    f"(got pre_layers={list(pre)}, post_layers={list(post)}, encoding.kind={kind!r}). "
                    "Pick quantum_first/quantum_head/quantum_middle for a model that reads data."
                )
            return
        if kind == "none":
            raise SpecError(
                f"encoding.kind = 'none' is only allowed with split = 'quantum_only' (got split = {split!r}); "
                f"a hybrid model must encode its data: use one of {list(ENCODINGS[1:])}."
            )
        if split == "quantum_first" and pre:
            raise SpecError(
                f"split = 'quantum_first' reads raw features, so pre_layers must be [] (got {list(pre)}). "
                "Use quantum_head or quantum_middle to put classical layers first."
            )
        if split == "quantum_head" and post:
            raise SpecError(
                f"split = 'quantum_head' ends in the quantum block plus a linear readout, so post_layers must be [] "
                f"(got {list(post)}). Use quantum_middle for hidden layers after the quantum block."
            )
        if split == "quantum_middle" and not (pre and post):
            raise SpecError(
                f"split = 'quantum_middle' needs hidden classical layers on both sides "
                f"(got pre_layers={list(pre)}, post_layers={list(post)}). "
                "Give both at least one width, or use quantum_first/quantum_head."
            )

    # --- derived sizes -------------------------------------------------------------------------

    @property
    def quantum_input_size(self) -> int:
        """Features the encoding consumes when a classical layer feeds it."""
        return 2**self.n_qubits if self.encoding.kind == "amplitude" else self.n_qubits

    @property
    def quantum_output_size(self) -> int:
        return 2**self.n_qubits if self.measurement == "probs" else self.n_qubits

    # --- canonical form, hash, JSON ------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pre_layers"] = list(self.pre_layers)
        data["post_layers"] = list(self.post_layers)
        data["layers"] = [{**asdict(layer), "rotations": list(layer.rotations)} for layer in self.layers]
        data["calibration"] = self.calibration.to_dict()
        # Omitted when empty, so layered specs keep the hashes they had before gates existed.
        if self.gates:
            data["gates"] = [gate.to_dict() for gate in self.gates]
        else:
            del data["gates"]
        data["version"] = SPEC_VERSION
        return data

    def to_json(self, indent: int | None = None) -> str:
        """Canonical JSON: sorted keys, no whitespace unless `indent` is given."""
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(self.to_dict(), sort_keys=True, separators=separators, indent=indent)

    @property
    def hash(self) -> str:
        """Stable 16-hex-digit id: equal specs share it across processes, machines and versions."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CandidateSpec:
        data = dict(data)
        version = data.pop("version", SPEC_VERSION)
        if version != SPEC_VERSION:
            raise SpecError(f"spec version = {version!r} is not supported; this qnas reads version {SPEC_VERSION}.")
        _check_keys(cls, data)
        for name, sub in (("encoding", EncodingSpec), ("calibration", CalibrationSpec), ("training", TrainingSpec)):
            if name in data:
                data[name] = sub.from_dict(data[name])
        if "layers" in data:
            if not isinstance(data["layers"], list):
                raise SpecError(f"layers = {data['layers']!r} must be a list of layer objects.")
            data["layers"] = tuple(LayerSpec.from_dict(layer) for layer in data["layers"])
        if "gates" in data:
            if not isinstance(data["gates"], list):
                raise SpecError(f"gates = {data['gates']!r} must be a list of gate objects.")
            data["gates"] = tuple(_gate_from_dict(index, gate) for index, gate in enumerate(data["gates"]))
        for name in ("pre_layers", "post_layers"):
            if isinstance(data.get(name), list):
                data[name] = tuple(data[name])
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> CandidateSpec:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"spec JSON is malformed: {exc}.") from exc
        return cls.from_dict(data)

    def summary(self) -> str:
        """One line for tables: split, qubits, encoding, the ansatz shape (layers, then gates), readout
        and the calibration settings that differ from their defaults."""
        return f"{self._architecture_summary()}{self.calibration.summary()}"

    def _architecture_summary(self) -> str:
        ansatz = "|".join(
            "+".join(layer.rotations) + (f"/{layer.entangler}:{layer.entangling_gate}" if layer.entangling_gate else "")
            for layer in self.layers
        )
        gates = f" +gates({' '.join(gate.summary() for gate in self.gates)})" if self.gates else ""
        reupload = "+reup" if self.encoding.reupload else ""
        return f"{self.split} q={self.n_qubits} {self.encoding.kind}{reupload} [{ansatz}]{gates} {self.measurement}"
