"""CandidateSpec: validation messages, canonical form, JSON round trip and hash stability."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qnas.errors import SpecError
from qnas.spec import (
    ANGLE_GATES,
    ENCODINGS,
    ENTANGLERS,
    ENTANGLING_GATES,
    GATES,
    MAX_GATES,
    MEASUREMENTS,
    OPTIMIZERS,
    ROTATIONS,
    TWO_QUBIT_GATES,
    CalibrationSpec,
    CandidateSpec,
    EncodingSpec,
    GateSpec,
    LayerSpec,
    TrainingSpec,
)

layers = st.builds(
    LayerSpec,
    rotations=st.lists(st.sampled_from(ROTATIONS), min_size=1, max_size=3, unique=True).map(tuple),
    entangler=st.sampled_from(ENTANGLERS),
    entangling_gate=st.sampled_from(ENTANGLING_GATES),
)
widths = st.lists(st.integers(1, 64), max_size=3).map(tuple)
trainings = st.builds(
    TrainingSpec,
    optimizer=st.sampled_from(OPTIMIZERS),
    learning_rate=st.floats(1e-5, 1.0, allow_nan=False),
    epochs=st.integers(1, 500),
    batch_size=st.integers(1, 512),
)
calibrations = st.builds(CalibrationSpec, shots=st.none() | st.integers(1, 100_000))


@st.composite
def gate_lists(draw: st.DrawFn, n_qubits: int) -> tuple[GateSpec, ...]:
    """Gates on wires < n_qubits; angle gates are trainable or carry any finite angle (-0.0 included)."""
    names = [g for g in GATES if n_qubits > 1 or g not in TWO_QUBIT_GATES]
    gates = []
    for name in draw(st.lists(st.sampled_from(names), max_size=6)):
        arity = 2 if name in TWO_QUBIT_GATES else 1
        wires = draw(st.lists(st.integers(0, n_qubits - 1), min_size=arity, max_size=arity, unique=True))
        angle = draw(st.none() | st.floats(-10, 10)) if name in ANGLE_GATES else None
        gates.append(GateSpec(name, tuple(wires), angle))
    return tuple(gates)


@st.composite
def specs(draw: st.DrawFn) -> CandidateSpec:
    """Any valid spec: the split decides which classical parts and encodings are legal."""
    split = draw(st.sampled_from(("quantum_first", "quantum_head", "quantum_middle", "quantum_only")))
    if split == "quantum_only":
        pre, post, encoding = (), (), EncodingSpec(kind="none")
    else:
        kind = draw(st.sampled_from(ENCODINGS[1:]))
        reupload = draw(st.booleans()) if kind != "amplitude" else False
        encoding = EncodingSpec(kind=kind, reupload=reupload)
        pre = () if split == "quantum_first" else draw(widths)
        post = () if split == "quantum_head" else draw(widths)
        if split == "quantum_middle":
            pre, post = pre or (8,), post or (8,)
    n_qubits = draw(st.integers(1, 12))
    gates = draw(gate_lists(n_qubits))
    return CandidateSpec(
        split=split,
        n_qubits=n_qubits,
        pre_layers=pre,
        post_layers=post,
        encoding=encoding,
        layers=tuple(draw(st.lists(layers, min_size=0 if gates else 1, max_size=4))),
        gates=gates,
        measurement=draw(st.sampled_from(MEASUREMENTS)),
        calibration=draw(calibrations),
        training=draw(trainings),
    )


@settings(max_examples=200, deadline=None)
@given(specs())
def test_json_round_trip_preserves_spec_and_hash(spec: CandidateSpec) -> None:
    again = CandidateSpec.from_json(spec.to_json())
    assert again == spec
    assert again.hash == spec.hash
    assert again.to_json() == spec.to_json()


@settings(max_examples=100, deadline=None)
@given(specs())
def test_hash_ignores_key_order_and_indentation(spec: CandidateSpec) -> None:
    data = json.loads(spec.to_json())
    shuffled = dict(reversed(list(data.items())))
    assert CandidateSpec.from_dict(shuffled).hash == spec.hash
    assert CandidateSpec.from_json(spec.to_json(indent=2)).hash == spec.hash


@settings(max_examples=100, deadline=None)
@given(specs(), specs())
def test_hash_separates_different_specs(a: CandidateSpec, b: CandidateSpec) -> None:
    assert (a == b) == (a.hash == b.hash)


def test_hash_is_stable_across_processes_and_versions() -> None:
    """A pinned value: changing it silently would orphan every stored study's dedupe keys."""
    code = "from qnas.spec import CandidateSpec; print(CandidateSpec().hash)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == CandidateSpec().hash == "970acdd023c03dc7"


def test_equivalent_spellings_share_a_canonical_form() -> None:
    a = LayerSpec(rotations="RX+RZ", entangler="ring", entangling_gate="cnot")
    b = LayerSpec(rotations=("RX", "RZ"), entangler="ring", entangling_gate="CNOT")
    assert a == b
    # With no entanglers, the gate choice does not change the circuit, so it does not change the hash.
    assert LayerSpec(entangler="none", entangling_gate="CZ") == LayerSpec(entangler="none", entangling_gate="CNOT")
    assert TrainingSpec(optimizer="Adam", learning_rate=1) == TrainingSpec(optimizer="adam", learning_rate=1.0)


def test_spec_is_frozen() -> None:
    spec = CandidateSpec()
    with pytest.raises(AttributeError):
        spec.n_qubits = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("build", "fragments"),
    [
        (lambda: CandidateSpec(split="quantum_hed"), ["split", "'quantum_hed'", "quantum_head", "Did you mean"]),
        (lambda: EncodingSpec(kind="angel_y"), ["encoding.kind", "'angel_y'", "Did you mean 'angle_y'"]),
        (lambda: LayerSpec(entangling_gate="CNTO"), ["entangling_gate", "'CNTO'", "CNOT", "CZ", "CRZ"]),
        (lambda: LayerSpec(rotations=("RY", "RW")), ["rotations", "'RW'", "RX"]),
        (lambda: LayerSpec(rotations=("RY", "RY")), ["repeats", "RY"]),
        (lambda: LayerSpec(entangler="star"), ["entangler", "'star'", "linear", "ring", "full"]),
        (lambda: CandidateSpec(measurement="sample"), ["measurement", "'sample'", "expval", "probs"]),
        (lambda: CandidateSpec(n_qubits=99), ["n_qubits", "99", "[1, 30]"]),
        (lambda: CandidateSpec(n_qubits=0), ["n_qubits", "0"]),
        (lambda: TrainingSpec(optimizer="lbfgs"), ["optimizer", "'lbfgs'", "adam"]),
        (lambda: TrainingSpec(learning_rate=float("nan")), ["learning_rate", "nan"]),
        (lambda: TrainingSpec(learning_rate=-0.1), ["learning_rate", "-0.1"]),
        (lambda: TrainingSpec(epochs=0), ["epochs", "0"]),
        (lambda: TrainingSpec(batch_size=2.5), ["batch_size", "2.5"]),
        (lambda: CalibrationSpec(shots=0), ["shots", "0"]),
        (lambda: CandidateSpec(pre_layers=(8, -1)), ["pre_layers", "-1"]),
        (lambda: EncodingSpec(kind="amplitude", reupload=True), ["reupload", "amplitude", "angle_x"]),
        (lambda: CandidateSpec(split="quantum_first", pre_layers=(8,)), ["quantum_first", "pre_layers", "[8]"]),
        (lambda: CandidateSpec(split="quantum_head", post_layers=(8,)), ["quantum_head", "post_layers", "quantum_middle"]),
        (lambda: CandidateSpec(split="quantum_middle", pre_layers=(8,)), ["quantum_middle", "both sides"]),
        (lambda: CandidateSpec(split="quantum_only"), ["quantum_only", "encoding.kind = 'none'"]),
        (lambda: CandidateSpec(encoding=EncodingSpec(kind="none")), ["'none'", "quantum_only"]),
        (lambda: CandidateSpec(layers=()), ["layers", "1 to"]),
        (lambda: GateSpec("CNTO", (0, 1)), ["gate.name", "'CNTO'", "Did you mean 'CNOT'"]),
        (lambda: GateSpec("hadamard", (0,)), ["gate.name", "'hadamard'", "'H'", "'CRZ'"]),
        (lambda: GateSpec("H", (0, 1)), ["gate H", "wires", "(0, 1)", "one non-negative integer"]),
        (lambda: GateSpec("CNOT", (0,)), ["gate CNOT", "wires", "[control, target]"]),
        (lambda: GateSpec("CZ", [2, 2]), ["gate CZ", "[2, 2]", "distinct"]),
        (lambda: GateSpec("RX", (-1,)), ["gate RX", "(-1,)", "non-negative"]),
        (lambda: GateSpec("H", (0,), 0.5), ["gate H", "angle = 0.5", "no angle", "Remove the angle", "RX"]),
        (lambda: GateSpec("CNOT", (0, 1), 1.0), ["gate CNOT", "angle = 1.0", "CRZ"]),
        (lambda: GateSpec("RZ", (0,), float("inf")), ["gate RZ", "angle = inf", "finite", "trainable"]),
        (lambda: CandidateSpec(n_qubits=2, gates=(GateSpec("H", (0,)), GateSpec("CNOT", (1, 2)))),
         ["gates[1]", "CNOT", "wire 2", "n_qubits = 2", "raise n_qubits"]),
        (lambda: CandidateSpec(gates=("H0",)), ["gates[0]", "'H0'", "GateSpec"]),
        (lambda: CandidateSpec(gates=(GateSpec("H", (0,)),) * (MAX_GATES + 1)), ["gates", f"0 to {MAX_GATES}"]),
    ],
)
def test_invalid_values_name_field_value_and_allowed(build, fragments: list[str]) -> None:
    with pytest.raises(SpecError) as info:
        build()
    for fragment in fragments:
        assert fragment in str(info.value)


def test_from_dict_rejects_unknown_keys_and_versions() -> None:
    data = CandidateSpec().to_dict()
    data["qubits"] = 4
    with pytest.raises(SpecError, match="'qubits'.*n_qubits"):
        CandidateSpec.from_dict(data)
    data = CandidateSpec().to_dict()
    data["version"] = 99
    with pytest.raises(SpecError, match="version"):
        CandidateSpec.from_dict(data)
    with pytest.raises(SpecError, match="malformed"):
        CandidateSpec.from_json("{not json")


def test_derived_sizes_follow_encoding_and_measurement() -> None:
    spec = CandidateSpec(n_qubits=3, encoding=EncodingSpec(kind="amplitude"), measurement="probs")
    assert spec.quantum_input_size == 8
    assert spec.quantum_output_size == 8
    assert CandidateSpec(n_qubits=3).quantum_input_size == 3


BELL = CandidateSpec(
    split="quantum_only",
    n_qubits=2,
    encoding=EncodingSpec("none"),
    layers=(),
    gates=(GateSpec("h", (0,)), GateSpec("cnot", [0, 1]), GateSpec("RZ", (1,), math.pi / 4), GateSpec("RY", (1,))),
)


def test_gates_canonicalize_round_trip_and_keep_a_pinned_hash() -> None:
    assert BELL.gates[0] == GateSpec("H", (0,)) and BELL.gates[1].wires == (0, 1)
    assert [g.trainable for g in BELL.gates] == [False, False, False, True]
    data = json.loads(BELL.to_json())
    assert data["layers"] == [] and data["gates"][2] == {"name": "RZ", "wires": [1], "angle": math.pi / 4}
    again = CandidateSpec.from_json(BELL.to_json())
    assert again == BELL and again.hash == BELL.hash == "7a88f3cee992f974"
    # A spec without gates has no "gates" key, so layered specs keep their hashes (see the pinned default).
    assert "gates" not in CandidateSpec().to_dict()
    assert CandidateSpec(gates=()).hash == CandidateSpec().hash
    assert CandidateSpec(gates=[GateSpec("X", (3,))]).hash != CandidateSpec().hash
    # Equal angles share one form: -0.0 == 0.0, and numpy scalars (an agent's actions) become plain numbers.
    assert GateSpec("RX", (0,), -0.0).to_dict() == GateSpec("RX", (0,), 0.0).to_dict()
    assert GateSpec("CRZ", (np.int64(1), np.int64(0)), np.float32(0.5)).to_dict() == GateSpec("CRZ", (1, 0), 0.5).to_dict()


def test_layers_and_gates_together_and_summary() -> None:
    assert BELL.summary() == "quantum_only q=2 none [] +gates(H0 CNOT0,1 RZ(0.785)1 RY1) expval"
    both = CandidateSpec(gates=(GateSpec("CZ", (3, 0)),))
    assert both.summary() == "quantum_head q=4 angle_y [RY/linear:CNOT] +gates(CZ3,0) expval"


def test_from_dict_names_the_bad_gate() -> None:
    data = BELL.to_dict()
    data["gates"][1] = {"name": "CNOT", "wire": [0, 1]}
    with pytest.raises(SpecError, match=r"gates\[1\]: GateSpec key = 'wire'.*Did you mean 'wires'"):
        CandidateSpec.from_dict(data)
    data["gates"][1] = {"name": "CNOT"}
    with pytest.raises(SpecError, match=r"gates\[1\]: .*missing 'wires'"):
        CandidateSpec.from_dict(data)
    data["gates"] = {"name": "H", "wires": [0]}
    with pytest.raises(SpecError, match="gates = .* must be a list"):
        CandidateSpec.from_dict(data)
