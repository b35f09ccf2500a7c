"""MODEL_CARD.md for an export: what the model does, how well, against what, and how to load it.

Written for a new user who has only the export in hand: every figure comes from the export's own
metrics.json, so the card never disagrees with what `qnas.load(...).metrics` returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from qnas.export_interface import qiskit_snippet
from qnas.spec import CandidateSpec

if TYPE_CHECKING:
    from qnas.mitigation.readout_calibration import ReadoutCalibration

_METRIC_NOTES = {
    "val_accuracy": "accuracy on the validation split (what the search optimized)",
    "test_accuracy": "accuracy on the held-out test split",
    "energy": "energy of the trained circuit (Hartree for molecules)",
    "energy_error": "energy minus the exact ground-state energy (lower is better)",
    "fidelity": "fidelity of the prepared state to the target state",
    "noise_gap": "ideal score minus the score on the noisy device",
    "n_params": "trainable parameters (classical and quantum)",
    "depth": "circuit depth after compiling to 1- and 2-qubit gates",
    "two_qubit_gates": "two-qubit gates after compiling",
    "two_qubit_gates_routed": "two-qubit gates after routing onto the device's coupling map (SWAPs as 3 CNOTs)",
    "swaps": "SWAP gates routing inserted to meet the device's coupling map",
    "n_gates": "gates after compiling",
    "shots": "shots spent scoring (0 = analytic)",
    "epochs_run": "training epochs actually run (fewer than asked when pruned or stopped early)",
    "train_time_s": "training time, seconds",
    "wall_time_s": "evaluation time including scoring, seconds",
}


def format_value(value: Any) -> str:
    """How figures read in the card, the report and dashboard notes: 4 significant digits, '-' for none."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(format_value(cell) for cell in row) + " |" for row in rows]
    return lines


def _data_section(model_config: Mapping[str, Any], task_config: Mapping[str, Any]) -> list[str]:
    options = ", ".join(f"{k}={v}" for k, v in sorted(task_config.items()) if k != "name") or "defaults"
    lines = [f"- task: `{task_config.get('name', '?')}` ({options})", f"- model kind: `{model_config.get('kind')}`"]
    if model_config.get("kind") == "classifier":
        lines += [
            f"- input features, in order: {', '.join(f'`{n}`' for n in model_config.get('feature_names', []))}",
            f"- classes: {', '.join(f'`{n}`' for n in model_config.get('class_names', []))}",
            "- inputs are raw feature values: the model standardizes them itself.",
        ]
    elif model_config.get("kind") == "energy":
        lines.append(f"- Hamiltonian: {len(model_config.get('pauli_terms', []))} Pauli terms (in model.json)")
    return lines


def _noise_section(metrics: Mapping[str, Any], source: Mapping[str, Any]) -> list[str]:
    ideal = {key.removeprefix("ideal_"): value for key, value in metrics.items() if key.startswith("ideal_")}
    if not ideal:
        return ["Scored on the ideal simulator only: no noisy-device results were recorded for this model."]
    device = (source.get("device") or {}).get("name", "the scoring device")
    rows = [(name, metrics.get(name), value) for name, value in sorted(ideal.items())]
    lines = [f"Scored again on `{device}` after training on the ideal simulator:", ""]
    lines += _table(("metric", f"on {device}", "ideal simulator"), rows)
    if "noise_gap" in metrics:
        lines += ["", f"Noise gap (ideal minus noisy score): {format_value(metrics['noise_gap'])}."]
    return lines


def mitigation_summary(calibration: Any) -> str:
    """The one line the card gives the spec's error mitigation, from the spec's own fields."""
    methods = []
    if calibration.readout_mitigation:
        methods.append("readout (assignment matrices of the device's qubits)")
    if calibration.zne_factors:
        factors = ", ".join(str(f) for f in calibration.zne_factors)
        methods.append(f"zero-noise extrapolation (fold factors {factors}, {calibration.zne_method})")
    return " and ".join(methods) if methods else "none"


def _mitigation_section(spec: CandidateSpec, readout: ReadoutCalibration | None) -> list[str]:
    calibration = spec.calibration
    shots = calibration.shots
    lines = [f"- shots when scored: {shots if shots else 'analytic (exact expectation values)'}"]
    summary = mitigation_summary(calibration)
    lines.append(f"- error mitigation: {summary}{'' if summary == 'none' else ' (it acts only on a noisy device)'}")
    lines.append(f"- qubit layout on a device with a coupling map: {calibration.layout}")
    if readout is not None:
        qubits = ", ".join(str(q) for group in readout.groups for q in group)
        lines.append(
            f"- readout calibration shipped in `readout_calibration.json`: {readout.method} assignment matrices of "
            f"physical qubits {qubits} on `{readout.device}`, measured {readout.measured_at}; `qnas.load` applies it "
            "on that device (`readout_mitigation=False` turns it off, `remeasure_readout=True` measures it again)"
        )
    return lines


def _load_section(export_name: str, model_config: Mapping[str, Any]) -> list[str]:
    kind = model_config.get("kind")
    lines = [
        "`qnas.load` checks every file's SHA-256 against manifest.json before it trusts the weights,",
        "and works on the export folder or the single-file archive alike.",
        "",
        "```python",
        "import torch",
        "",
        "import qnas",
        "",
        f'model = qnas.load("{export_name}")',
    ]
    if kind == "classifier":
        features = list(model_config.get("feature_names", []))
        lines += [
            f"x = torch.zeros(1, {len(features)})  # one row of raw features: {', '.join(features)}",
            "with torch.no_grad():",
            "    label = model.class_names[model(x).argmax(dim=1).item()]",
            "print(label)",
            "```",
            "",
            "Or predict every row of a CSV whose columns are named like the features:",
            "",
            "```bash",
            f"qnas predict {export_name} --data rows.csv --out predictions.csv",
            "```",
        ]
    else:
        lines += ["", f"print(model())  # the trained circuit's {'energy' if kind == 'energy' else 'state'}", "```"]
    return lines


def _interface_section(model_config: Mapping[str, Any]) -> list[str]:
    """model.json's `interface`, for people: the pipeline, the orders and the circuit files."""
    doc = model_config.get("interface") or {}
    lines = [f"{i}. {step}" for i, step in enumerate(doc.get("pipeline", []), start=1)]
    if "output" in doc:
        lines.append(f"- output: {doc['output']}")
    if "reference_state" in doc:
        lines.append(f"- reference state: {doc['reference_state']}")
    if lines:
        lines.append("")
    names = (doc.get("circuit_inputs") or {}).get("names")
    if names:
        shown = ", ".join(f"`{n}`" for n in names[:6]) + (", ..." if len(names) > 6 else "")
        lines.append(f"- circuit inputs ({len(names)}): {shown}; `model.circuit_inputs(x)` computes them by name")
    for key, label in (("wire_order", "wires"), ("bit_order", "bits"), ("pauli_string_order", "Pauli strings"),
                       ("circuit_files", "circuit files")):
        if key in doc:
            lines.append(f"- {label}: {doc[key]}")
    return lines


def model_card(
    *,
    spec: CandidateSpec,
    model_config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    task_config: Mapping[str, Any],
    source: Mapping[str, Any],
    export_name: str,
    readout: ReadoutCalibration | None = None,
) -> str:
    """The Markdown model card of one export (see the module docstring)."""
    lines = [
        f"# Model card: {task_config.get('name', '?')} hybrid quantum model",
        "",
        f"Trial {source.get('trial', '?')} of study `{source.get('study', '?')}`, exported by qnas. "
        f"Architecture: `{spec.summary()}` (spec hash `{spec.hash}`).",
        "",
        "## Task and data",
        "",
        *_data_section(model_config, task_config),
        "",
        "## Metrics",
        "",
        *_table(
            ("metric", "value", "meaning"),
            [(k, v, _METRIC_NOTES.get(k, "")) for k, v in sorted(metrics.items()) if not k.startswith("ideal_")],
        ),
        "",
        "## Classical baseline",
        "",
    ]
    if baseline:
        shape = ", ".join(f"{k}={v}" for k, v in sorted(baseline.items()) if k not in metrics and k != "model")
        scores = [(k, v, metrics.get(k)) for k, v in sorted(baseline.items()) if k in metrics]
        lines += [
            f"A classical `{baseline.get('model', 'model')}` ({shape or 'similar size'}) trained on the same data "
            "and split:",
            "",
            *_table(("metric", "baseline", "this model"), scores),
        ]
    else:
        lines.append("No classical baseline was recorded for this task.")
    lines += [
        "",
        "## Noise results",
        "",
        *_noise_section(metrics, source),
        "",
        "## Error mitigation and calibration",
        "",
        *_mitigation_section(spec, readout),
        "",
        "## How to load it",
        "",
        *_load_section(export_name, model_config),
        "",
        "## How inputs reach the circuit",
        "",
        *_interface_section(model_config),
        "",
        "## Run it in Qiskit",
        "",
        "What `reference.json` records, with the circuit simulated by Qiskit from `circuit.qasm3`"
        + (" (its first row; qnas computes the classical layers):" if model_config.get("kind") == "classifier" else ":"),
        "",
        "```python",
        *qiskit_snippet(export_name, str(model_config.get("kind")), spec.measurement),
        "```",
        "",
        "## Files",
        "",
        "- `weights.safetensors`: weights; `model.json`, `spec.json`: how to rebuild the model",
        "- `metrics.json`: the figures above, the task config and provenance",
        "- `circuit.qasm3` (OpenQASM 3.0, any input), `circuit.qasm` (OpenQASM 2.0, first reference input), "
        "`circuit.png`: the ideal circuit",
        "- `reference.json`: reference inputs and outputs; `manifest.json`: SHA-256 of every file",
        "",
    ]
    return "\n".join(lines)
