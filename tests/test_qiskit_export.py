"""Exports as Qiskit reads them (issue 22, point 1): circuit.qasm through `qiskit.qasm2.loads`,
circuit.qasm3 through `qiskit.qasm3.loads` (qiskit-qasm3-import) with the encoded features bound to
its `input` parameters, for every encoding, entangler, entangling gate, measurement and split, and
the model card's Qiskit snippet run as printed."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import cycle
from pathlib import Path

import numpy as np
import pennylane as qml
import pytest
import torch
from qiskit import QuantumCircuit, qasm2, qasm3
from qiskit.quantum_info import SparsePauliOp, Statevector

from qnas.circuit_inputs import amplitude_angles, prepare_real_amplitudes
from qnas.circuits import circuit_openqasm, circuit_openqasm3, make_qnode
from qnas.errors import ExportError
from qnas.export import export_model, load
from qnas.models import build_model
from qnas.openqasm import input_array, tape_openqasm
from qnas.spec import (
    ENCODINGS,
    ENTANGLERS,
    ENTANGLING_GATES,
    FIXED_GATES,
    MEASUREMENTS,
    ROTATION_GATES,
    SPLITS,
    CandidateSpec,
    EncodingSpec,
    GateSpec,
    LayerSpec,
)
from qnas.tasks import make_task

N_QUBITS = 3


def classifier_specs() -> list[tuple[CandidateSpec, int]]:
    """Every encoding with every measurement; entanglers, entangling gates, splits and re-uploading
    cycle through their values so each appears; feature counts below, at and above the qubit count."""
    entanglers, gates = cycle(ENTANGLERS), cycle(ENTANGLING_GATES)
    splits = cycle([s for s in SPLITS if s != "quantum_only"])
    rotations = cycle([("RY",), ("RX", "RZ"), ("RZ", "RY", "RX")])
    cases = []
    for index, (encoding, measurement) in enumerate(
        (e, m) for e in ENCODINGS if e != "none" for m in MEASUREMENTS
    ):
        split = next(splits)
        layers = tuple(LayerSpec(next(rotations), next(entanglers), next(gates)) for _ in range(2))
        reupload = encoding != "amplitude" and index % 2 == 1
        pre, post = {"quantum_first": ((), (4,)), "quantum_head": ((5,), ()), "quantum_middle": ((5,), (4,))}[split]
        spec = CandidateSpec(split=split, n_qubits=N_QUBITS, pre_layers=pre, post_layers=post,
                             encoding=EncodingSpec(encoding, reupload=reupload), layers=layers, measurement=measurement,
                             gates=(GateSpec("H", (1,)), GateSpec("RY", (2,)), GateSpec("CNOT", (2, 0))))
        cases.append((spec, (2, 5)[index % 2]))
    return cases


def qiskit_outputs(circuit: QuantumCircuit, measurement: str) -> np.ndarray:
    """<Z> on q[i], or probabilities with q[0] the most significant bit: qnas's outputs, read with Qiskit."""
    circuit = circuit.remove_final_measurements(inplace=False)
    if measurement == "probs":
        return Statevector(circuit.reverse_bits()).probabilities()
    n = circuit.num_qubits
    state = Statevector(circuit)
    return np.array([state.expectation_value(SparsePauliOp("I" * (n - 1 - i) + "Z" + "I" * i)).real for i in range(n)])


def bound(program: str, inputs: dict[str, float]) -> QuantumCircuit:
    circuit = qasm3.loads(program)
    assert {p.name for p in circuit.parameters} <= set(inputs)
    return circuit.assign_parameters({p: inputs[p.name] for p in circuit.parameters})


@pytest.mark.parametrize(("spec", "n_features"), classifier_specs(), ids=lambda v: v.summary() if hasattr(v, "summary") else str(v))
def test_both_programs_give_the_models_outputs_in_qiskit(spec: CandidateSpec, n_features: int) -> None:
    config = {"kind": "classifier", "spec": spec.to_dict(), "n_features": n_features, "n_outputs": 2,
              "class_names": ["a", "b"], "feature_names": [f"f{i}" for i in range(n_features)]}
    torch.manual_seed(0)
    model = build_model(config)
    x = np.random.default_rng(1).normal(size=(3, n_features)).astype(np.float32)
    with torch.no_grad():
        expected = model.quantum(model.quantum_inputs(torch.as_tensor(x))).double().numpy()

    baked = qasm2.loads(circuit_openqasm(model, x))  # OpenQASM 2: the first row's inputs baked in
    np.testing.assert_allclose(qiskit_outputs(baked, spec.measurement), expected[0], atol=1e-6)

    program = circuit_openqasm3(model)
    names = [line.split()[-1].rstrip(";") for line in program.splitlines() if line.startswith("input float[64] ")]
    inputs = model.circuit_inputs(torch.as_tensor(x))
    assert names == list(inputs[0]) and len(names) == (7 if spec.encoding.kind == "amplitude" else model.n_encoded)
    for row in (1, 2):  # rows the programs were not written from
        got = qiskit_outputs(bound(program, inputs[row]), spec.measurement)
        np.testing.assert_allclose(got, expected[row], atol=1e-6)


def test_every_gate_and_a_reference_state_read_back_exactly() -> None:
    """Each gate name maps to a Qiskit gate of the same matrix: the states agree entry by entry, phase
    included, and the energy of the exported Pauli terms, reversed into Qiskit labels, is the model's."""
    gates = [GateSpec(name, (0,)) for name in FIXED_GATES] + [GateSpec(name, (1,)) for name in ROTATION_GATES]
    gates += [GateSpec(name, (w, (w + 1) % N_QUBITS)) for w, name in enumerate(ENTANGLING_GATES)]
    gates += [GateSpec("RZ", (2,), 0.3)]
    spec = CandidateSpec(split="quantum_only", n_qubits=N_QUBITS, encoding=EncodingSpec("none"),
                         layers=(LayerSpec(("RX", "RY"), "ring", "CRZ"),), gates=tuple(gates))
    terms = [[0.7, "ZXI"], [-0.4, "IYY"], [0.2, "XII"]]
    config = {"kind": "energy", "spec": spec.to_dict(), "n_features": 0, "n_outputs": 1, "class_names": [],
              "feature_names": [], "pauli_terms": terms, "reference_state": [1, 0, 1]}
    torch.manual_seed(2)
    model = build_model(config)
    weights = {name: value.detach() for name, value in model.circuit_weights().items()}
    state = make_qnode(spec, measurement="state", reference_state=(1, 0, 1))(**weights).detach().numpy()
    with torch.no_grad():
        energy = float(model())

    hamiltonian = SparsePauliOp.from_list([(string[::-1], coefficient) for coefficient, string in terms])
    for circuit in (qasm2.loads(circuit_openqasm(model)), qasm3.loads(circuit_openqasm3(model))):
        circuit.remove_final_measurements()
        np.testing.assert_allclose(Statevector(circuit.reverse_bits()).data, state, atol=1e-9)
        assert Statevector(circuit).expectation_value(hamiltonian).real == pytest.approx(energy, abs=1e-6)


def test_global_phase_keeps_its_sign_in_openqasm3_and_is_a_comment_in_openqasm2() -> None:
    """PennyLane's GlobalPhase(phi) is exp(-i phi); Qiskit must build the same state from gphase."""
    tape = qml.tape.QuantumScript([qml.Hadamard(0), qml.GlobalPhase(0.7), qml.CNOT([0, 1])], [qml.state()])
    expected = qml.execute([tape], qml.device("default.qubit"))[0]
    circuit = qasm3.loads(tape_openqasm(tape, 3))
    circuit.remove_final_measurements()
    np.testing.assert_allclose(Statevector(circuit.reverse_bits()).data, expected, atol=1e-12)
    program = tape_openqasm(tape, 2)
    assert "gphase" not in program.replace("// global phase", "") and "// global phase exp(i*-0.7) omitted" in program
    assert qasm2.loads(program).num_qubits == 2


def test_openqasm2_refuses_inputs_and_undeclared_inputs_are_named() -> None:
    tape = qml.tape.QuantumScript([qml.RX(input_array(["x_0"])[0], 0)])
    with pytest.raises(ExportError, match="OpenQASM 2.0 has no inputs"):
        tape_openqasm(tape, 2, inputs=["x_0"])
    with pytest.raises(ExportError, match=r"RX uses inputs \['x_0'\] that the program does not declare"):
        tape_openqasm(tape, 3)
    with pytest.raises(ExportError, match="version 4 is not supported; use 2 or 3"):
        tape_openqasm(tape, 4)


@pytest.mark.parametrize("n_qubits", [1, 2, 3])
def test_the_amplitude_angle_tree_prepares_signed_real_vectors(n_qubits: int) -> None:
    rng = np.random.default_rng(n_qubits)
    vectors = rng.normal(size=(4, 2**n_qubits))
    vectors[1, : 2 ** (n_qubits - 1)] = 0.0  # a zero half: the parent angle is pi, its children arbitrary
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    angles = amplitude_angles(vectors)
    assert angles.shape == (4, 2**n_qubits - 1)
    for vector, tree in zip(vectors, angles, strict=True):
        tape = qml.tape.make_qscript(prepare_real_amplitudes)(tree, range(n_qubits))
        state = qml.execute([qml.tape.QuantumScript(tape.operations, [qml.state()])], qml.device("default.qubit"))[0]
        np.testing.assert_allclose(state, vector, atol=1e-12)


def _export(tmp_path: Path, config: dict, task_config: dict, task=None) -> Path:
    torch.manual_seed(3)
    spec = CandidateSpec.from_dict(config["spec"])
    weights = build_model(config).state_dict()
    return export_model(tmp_path / "exported", spec=spec, model_config=config, weights=weights, metrics={},
                        baseline=None, task_config=task_config, source={"study": "s", "trial": 0}, task=task)


def _run_card_snippet(folder: Path) -> dict:
    card = (folder / "MODEL_CARD.md").read_text()
    snippet = card.split("## Run it in Qiskit")[1].split("```python\n")[1].split("```")[0]
    run = subprocess.run([sys.executable, "-c", snippet], cwd=folder.parent, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("measurement", MEASUREMENTS)
def test_the_cards_qiskit_snippet_reproduces_a_classifiers_prediction(measurement: str, tmp_path: Path) -> None:
    task_config = {"name": "moons", "n_samples": 60}
    task = make_task(task_config)
    spec = CandidateSpec(split="quantum_middle", n_qubits=2, pre_layers=(4,), post_layers=(3,),
                         encoding=EncodingSpec("iqp", reupload=True), measurement=measurement,
                         layers=(LayerSpec(("RY",), "ring", "CRZ"), LayerSpec(("RX",), "linear", "CNOT")))
    config = {"kind": "classifier", "spec": spec.to_dict(), "n_features": 2, "n_outputs": 2,
              "class_names": list(task.class_names), "feature_names": list(task.feature_names)}
    folder = _export(tmp_path, config, task_config, task)
    reference = json.loads((folder / "reference.json").read_text())
    np.testing.assert_allclose(_run_card_snippet(folder)["logits"], reference["logits"][0], atol=1e-5)

    interface = json.loads((folder / "model.json").read_text())["interface"]
    tensors = load(folder).state_dict()
    for step in interface["pipeline"]:  # every weight the description names is in the export
        for name in (w for w in step.replace(",", " ").replace("[", " ").replace("]", " ").split() if w.endswith(("weight", "bias"))):
            assert name in tensors, (name, step)
    assert interface["circuit_inputs"]["names"] == ["x_0", "x_1"]
    assert "q[0] the most significant bit" in interface["bit_order"] and "reverse the string" in interface["pauli_string_order"]
    card = (folder / "MODEL_CARD.md").read_text()
    assert "1. standardize: z = (x - feature_mean) / feature_std" in card and "3. encoding: IQP feature map" in card


@pytest.mark.parametrize("kind", ["energy", "state"])
def test_the_cards_qiskit_snippet_reproduces_a_quantum_only_output(kind: str, tmp_path: Path) -> None:
    spec = CandidateSpec(split="quantum_only", n_qubits=2, encoding=EncodingSpec("none"),
                         layers=(LayerSpec(("RY", "RZ"), "linear", "CNOT"),))
    config = {"kind": kind, "spec": spec.to_dict(), "n_features": 0, "class_names": [], "feature_names": [],
              "n_outputs": 1 if kind == "energy" else 4}
    if kind == "energy":
        config["pauli_terms"] = [[-0.5, "ZI"], [0.3, "XY"], [0.1, "II"]]
    folder = _export(tmp_path, config, {"name": "h2" if kind == "energy" else "bell"})
    reference = json.loads((folder / "reference.json").read_text())
    printed = _run_card_snippet(folder)
    if kind == "energy":
        assert printed["energy"] == pytest.approx(reference["output"], abs=1e-6)
    else:
        np.testing.assert_allclose(np.array(printed["state_real"]) + 1j * np.array(printed["state_imag"]),
                                   np.array(reference["output_real"]) + 1j * np.array(reference["output_imag"]), atol=1e-6)
