"""How another program reads an export: from a raw feature row to the circuit's inputs, and the
wire, bit and Pauli-string orders, as `model.json["interface"]` and the model card's Qiskit snippet.

Both are generated from the built model, so the description is the model's own: the pre layers
listed are the modules `HybridClassifier.pre` holds, and the input names are those of circuit.qasm3.
The snippet is run by the tests against `reference.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from qnas.circuit_inputs import AMPLITUDE_INPUT, FEATURE_INPUT, input_names
from qnas.spec import CandidateSpec

_ENCODINGS = {
    "angle_x": "RX(x_j) on wire j mod n",
    "angle_y": "RY(x_j) on wire j mod n",
    "angle_z": "H, then RZ(x_j), on wire j mod n",
    "iqp": "IQP feature map: H and RZ(z_w) on every wire w, then RZ(z_v * z_w) between CNOTs on every pair "
           "(z_w = x_(w mod d) when d < n, the sum of x_j over j = w mod n when d > n)",
}


def interface(model_config: Mapping[str, Any], model: nn.Module) -> dict[str, Any]:
    """The `interface` entry of model.json: what the circuit reads and returns, in which order."""
    spec = CandidateSpec.from_dict(dict(model_config["spec"]))
    n = spec.n_qubits
    doc: dict[str, Any] = {
        "wire_order": f"PennyLane wire i is q[i] in circuit.qasm and circuit.qasm3 (n_qubits = {n}).",
        "bit_order": "qnas's probabilities and state vectors index basis states with q[0] the most significant bit "
                     f"(|q[0] ... q[{n - 1}]>). Qiskit's Statevector and counts put q[0] least significant: "
                     "reverse the bits (QuantumCircuit.reverse_bits()) to compare.",
        "pauli_string_order": "character i of a Pauli string acts on q[i] (q[0] first). Qiskit labels put q[0] last: "
                              "reverse the string for SparsePauliOp.",
    }
    if model_config["kind"] == "classifier":
        return {**doc, **_classifier(spec, model_config, model)}
    doc["circuit_files"] = "circuit.qasm3 and circuit.qasm hold the same circuit, its trained angles as numbers."
    if model_config["kind"] == "state":
        return {**doc, "output": "the state vector the circuit prepares, in qnas's bit order"}
    doc["output"] = "the energy sum_k c_k <P_k> of model.json's pauli_terms [[c_k, P_k], ...] in the circuit's state"
    if model_config.get("reference_state"):
        doc["reference_state"] = "an X gate on each wire whose bit is 1 comes first, in both OpenQASM files"
    return doc


def _classifier(spec: CandidateSpec, model_config: Mapping[str, Any], model: nn.Module) -> dict[str, Any]:
    """A classifier's path from a raw feature row to logits, with the circuit's inputs named."""
    names = input_names(spec, model.n_encoded)
    return {
        "circuit_files": "circuit.qasm3 holds the trained angles as numbers and reads `circuit_inputs` as "
                         "`input float[64]` parameters; circuit.qasm (OpenQASM 2 has no inputs) is the same circuit "
                         "with the inputs of reference.json's first row baked in.",
        "features": list(model_config["feature_names"]),
        "pipeline": [
            "standardize: z = (x - feature_mean) / feature_std, with feature_mean and feature_std (the training "
            "split's statistics) in weights.safetensors",
            _layers("pre", model.pre) if len(model.pre) else "no pre layers: the circuit reads the standardized features",
            _encoding(spec, names),
            _measurement(spec),
            _layers("post", model.post),
        ],
        "circuit_inputs": {
            "names": names,
            "compute": "qnas.load(path).circuit_inputs(x): the inputs of each raw feature row, by name",
        },
    }


def _layers(name: str, sequential: nn.Sequential) -> str:
    """The classical layers as a chain, with the weights' names in weights.safetensors."""
    steps = []
    for index, module in enumerate(sequential):
        if isinstance(module, nn.Linear):
            steps.append(f"Linear({module.in_features}->{module.out_features}) [{name}.{index}.weight, {name}.{index}.bias]")
        elif isinstance(module, nn.ReLU):
            steps.append("ReLU")
        else:  # BoundedAngles, the last pre step of an angle or IQP encoding
            steps.append("pi * tanh")
    role = "features -> circuit inputs" if name == "pre" else "circuit outputs -> logits"
    return f"{name} layers ({role}): {', '.join(steps)}"


def _encoding(spec: CandidateSpec, names: list[str]) -> str:
    kind = spec.encoding.kind
    if kind == "amplitude":
        how = (f"amplitude encoding: {AMPLITUDE_INPUT}_0..{AMPLITUDE_INPUT}_{len(names) - 1} are the RY-angle tree of "
               "the block's inputs (first entry + 1e-8, zero-padded to 2^n, normalized); see qnas.circuit_inputs")
    else:
        how = f"{_ENCODINGS[kind]}, with x_j = {FEATURE_INPUT}_j, the circuit input j"
    if spec.encoding.reupload:
        how += "; repeated before every ansatz layer (data re-uploading)"
    return f"encoding: {how}"


def _measurement(spec: CandidateSpec) -> str:
    if spec.measurement == "probs":
        return (f"measurement: output b = probability of the basis state whose bits, q[0] most significant, "
                f"spell b ({2**spec.n_qubits} outputs)")
    return f"measurement: output i = <Z> on q[i] ({spec.n_qubits} outputs)"


def qiskit_snippet(export_name: str, kind: str, measurement: str) -> list[str]:
    """Python that reproduces the first reference output of an export with Qiskit (qiskit-qasm3-import)."""
    lines = ["import json", "", "from qiskit import qasm3", "from qiskit.quantum_info import SparsePauliOp, Statevector"]
    lines += ["import torch", "", "import qnas", ""] if kind == "classifier" else [""]
    lines += [
        f'export = "{export_name}"',
        'with open(f"{export}/circuit.qasm3") as f:',
        "    circuit = qasm3.loads(f.read())  # needs the qiskit-qasm3-import package",
        "circuit.remove_final_measurements()",
    ]
    if kind == "classifier":
        lines += [
            'with open(f"{export}/reference.json") as f:',
            '    x = torch.tensor(json.load(f)["inputs"][:1])  # one row of raw features',
            "model = qnas.load(export)",
            "inputs = model.circuit_inputs(x)[0]  # standardized, through the pre layers, encoded: by name",
            "circuit = circuit.assign_parameters({p: inputs[p.name] for p in circuit.parameters})",
        ]
        if measurement == "probs":
            lines.append("quantum = Statevector(circuit.reverse_bits()).probabilities()  # q[0] most significant")
        else:
            lines += [
                "n = circuit.num_qubits  # <Z> on q[i]; Qiskit labels put q[0] last",
                'quantum = [Statevector(circuit).expectation_value(SparsePauliOp("I" * (n - 1 - i) + "Z" + "I" * i)).real',
                "           for i in range(n)]",
            ]
        lines += [
            "with torch.no_grad():",
            "    logits = model.post(torch.as_tensor(quantum, dtype=torch.float32).reshape(1, -1))",
            "print(json.dumps({'logits': logits[0].tolist()}))",
        ]
    elif kind == "energy":
        lines += [
            'with open(f"{export}/model.json") as f:',
            '    terms = json.load(f)["pauli_terms"]',
            "# qnas's Pauli strings act on q[0] first; Qiskit labels end with q[0]",
            "hamiltonian = SparsePauliOp.from_list([(string[::-1], coefficient) for coefficient, string in terms])",
            "print(json.dumps({'energy': Statevector(circuit).expectation_value(hamiltonian).real}))",
        ]
    else:
        lines += [
            "state = Statevector(circuit.reverse_bits()).data  # qnas's bit order: q[0] most significant",
            "print(json.dumps({'state_real': state.real.tolist(), 'state_imag': state.imag.tolist()}))",
        ]
    return lines
