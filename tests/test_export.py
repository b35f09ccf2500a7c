"""Export folder: files and checksums, reload equal to the recorded predictions, integrity errors, predict."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from qnas.errors import ExportError, TaskError
from qnas.evaluation import Budget, EvalResult, evaluate
from qnas.export import EXPORT_FILES, MANIFEST, WEIGHTS, export_model, load, verify_export
from qnas.models import build_model
from qnas.prediction import predict
from qnas.redaction import redact_secrets_of, redact_url
from qnas.spec import CandidateSpec, EncodingSpec, GateSpec, LayerSpec, TrainingSpec
from qnas.tasks import make_task

SECRET_URL = "postgresql://user:secret@host/db"


@pytest.fixture(scope="module")
def moons():
    return make_task("moons", n_samples=100)


@pytest.fixture(scope="module")
def trained(moons) -> tuple[CandidateSpec, EvalResult]:
    """A real 2-qubit hybrid classifier trained for 2 epochs by the evaluator, as a search would."""
    spec = CandidateSpec(
        split="quantum_first",
        n_qubits=2,
        encoding=EncodingSpec("angle_y"),
        layers=(LayerSpec(("RY", "RZ"), "linear", "CNOT"),),
        post_layers=(3,),
        training=TrainingSpec(epochs=2, batch_size=16),
    )
    result = evaluate(spec, moons, budget=Budget(seed=0))
    assert result.status == "ok", result.error
    return spec, result


def _export(out, task, trained, source=None, **overrides):
    spec, result = trained
    kwargs = dict(
        spec=spec,
        model_config=result.model_config,
        weights=result.weights,
        metrics=result.metrics,
        baseline=result.baseline,
        task_config=task.config(),
        source=source or {"study": "demo", "trial": 4, "storage": "sqlite:///qnas.db"},
        task=task,
    )
    kwargs.update(overrides)
    return export_model(out, **kwargs)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, moons, trained) -> Path:
    return _export(tmp_path_factory.mktemp("export") / "best", moons, trained)


@pytest.fixture
def copy(exported, tmp_path) -> Path:
    """A private copy of the export for tests that damage it."""
    return Path(shutil.copytree(exported, tmp_path / "copy"))


def _rewrite_manifest_entry(folder: Path, name: str) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    data = (folder / name).read_bytes()
    manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    (folder / MANIFEST).write_text(json.dumps(manifest))


def test_export_writes_every_file_with_matching_checksums(exported, trained):
    assert sorted(p.name for p in exported.iterdir()) == sorted([*EXPORT_FILES, MANIFEST])
    manifest = json.loads((exported / MANIFEST).read_text())
    assert manifest["format"] == "qnas-export" and manifest["format_version"] == 1
    assert set(manifest["files"]) == set(EXPORT_FILES)
    for name, entry in manifest["files"].items():
        data = (exported / name).read_bytes()
        assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert verify_export(exported) == manifest

    spec = CandidateSpec.from_json((exported / "spec.json").read_text())
    assert manifest["spec_hash"] == spec.hash
    assert json.loads((exported / "model.json").read_text())["spec"] == spec.to_dict()
    assert (exported / "circuit.qasm").read_text().startswith("OPENQASM 2.0;")
    assert "cx q[0],q[1];" in (exported / "circuit.qasm").read_text()
    assert (exported / "circuit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    info = json.loads((exported / "metrics.json").read_text())
    assert info["metrics"] == trained[1].metrics and info["baseline"] == trained[1].baseline
    assert info["task"]["name"] == "moons" and info["source"]["trial"] == 4


def test_load_reproduces_reference_predictions(exported, moons, trained):
    model = load(exported)
    reference = json.loads((exported / "reference.json").read_text())
    assert not model.training
    assert len(reference["inputs"]) == min(32, len(moons.x_test))
    np.testing.assert_array_equal(np.asarray(reference["inputs"], dtype=np.float32), moons.x_test[:32])
    with torch.no_grad():
        logits = model(torch.tensor(reference["inputs"], dtype=torch.float32))
    assert torch.allclose(logits, torch.tensor(reference["logits"], dtype=logits.dtype), atol=1e-6)
    assert logits.argmax(1).tolist() == reference["predicted_class"]
    assert reference["predicted_label"] == [moons.class_names[i] for i in reference["predicted_class"]]
    assert model.class_names == moons.class_names and model.feature_names == moons.feature_names
    assert model.spec == CandidateSpec.from_json((exported / "spec.json").read_text())
    assert model.metrics["test_accuracy"] == trained[1].metrics["test_accuracy"]
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), trained[1].weights[name])


def test_load_in_fresh_process_needs_neither_ray_nor_optuna(exported):
    code = (
        "import json, sys, torch, qnas\n"
        f"path = {str(exported)!r}\n"
        "model = qnas.load(path)\n"
        "ref = json.load(open(path + '/reference.json'))\n"
        "out = model(torch.tensor(ref['inputs'], dtype=torch.float32)).detach()\n"
        "assert torch.allclose(out, torch.tensor(ref['logits'], dtype=out.dtype), atol=1e-6)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'optuna'))\n"
        "assert 'ray' not in sys.modules and 'optuna' not in sys.modules, heavy\n"
        "print('OK')\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=exported.parent, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OK"


def test_tampered_weights_fail_the_checksum(copy):
    expected = json.loads((copy / MANIFEST).read_text())["files"][WEIGHTS]["sha256"]
    data = bytearray((copy / WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (copy / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(ExportError, match="checksum") as info:
        load(copy)
    message = str(info.value)
    assert WEIGHTS in message and expected in message and hashlib.sha256(data).hexdigest() in message
    assert "Re-export" in message


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_unreadable_weights_give_a_clear_error_even_with_matching_checksum(copy, damage):
    data = (copy / WEIGHTS).read_bytes()
    (copy / WEIGHTS).write_bytes(data[: len(data) // 2] if damage == "truncated" else b"not a safetensors file" * 3)
    with pytest.raises(ExportError, match="checksum"):
        load(copy)
    with pytest.raises(ExportError, match="not a readable safetensors file"):
        load(copy, verify=False)
    _rewrite_manifest_entry(copy, WEIGHTS)
    with pytest.raises(ExportError, match="not a readable safetensors file"):
        load(copy)


def test_weights_of_another_model_are_refused_by_key(copy):
    import safetensors.torch

    tensors = safetensors.torch.load_file(copy / WEIGHTS)
    tensors["extra.weight"] = torch.zeros(2)
    del tensors["post.0.bias"]
    safetensors.torch.save_file(tensors, copy / WEIGHTS)
    _rewrite_manifest_entry(copy, WEIGHTS)
    with pytest.raises(ExportError, match=r"missing keys \['post.0.bias'\], unexpected keys \['extra.weight'\]"):
        load(copy)


@pytest.mark.parametrize("name", ["weights.safetensors", "model.json", "circuit.png"])
def test_missing_file_is_named(copy, name):
    (copy / name).unlink()
    with pytest.raises(ExportError, match=f"missing \\['{name}'\\]"):
        load(copy)


def test_missing_manifest_and_unknown_format_version(copy, tmp_path):
    manifest = json.loads((copy / MANIFEST).read_text())
    manifest["format_version"] = 99
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ExportError, match="format_version = 99"):
        load(copy)
    (copy / MANIFEST).unlink()
    with pytest.raises(ExportError, match="manifest.json is missing"):
        load(copy)
    with pytest.raises(ExportError, match="does not exist"):
        load(tmp_path / "nowhere")


def test_predict_writes_labels_and_probabilities_matching_the_model(exported, moons, tmp_path):
    frame = pd.DataFrame(moons.x_test, columns=moons.feature_names)
    frame["target"] = [moons.class_names[y] for y in moons.y_test]
    frame = frame[["target", *reversed(moons.feature_names)]]  # extra column, other order: matched by name
    frame.to_csv(tmp_path / "data.csv", index=False)

    out = predict(exported, tmp_path / "data.csv", tmp_path / "pred.csv")
    result = pd.read_csv(out)
    assert list(result.columns) == ["row", "predicted", *[f"p_{c}" for c in moons.class_names]]
    assert result["row"].tolist() == list(range(len(moons.x_test)))
    with torch.no_grad():
        logits = load(exported)(torch.as_tensor(moons.x_test))
    expected = [moons.class_names[i] for i in logits.argmax(1).tolist()]
    assert result["predicted"].tolist() == expected
    probabilities = result[[f"p_{c}" for c in moons.class_names]].to_numpy()
    np.testing.assert_allclose(probabilities, torch.softmax(logits, 1).numpy(), atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-6)


def test_predict_names_missing_and_bad_columns(exported, moons, tmp_path):
    frame = pd.DataFrame(moons.x_test[:5], columns=moons.feature_names)
    frame.drop(columns=["x2"]).assign(X2=1.0).to_csv(tmp_path / "missing.csv", index=False)
    with pytest.raises(TaskError, match=r"lacks the feature column\(s\) \['x2'\].*Did you mean 'X2'"):
        predict(exported, tmp_path / "missing.csv", tmp_path / "out.csv")

    text = frame.astype(object)
    text.loc[3, "x1"] = "abc"
    text.to_csv(tmp_path / "text.csv", index=False)
    with pytest.raises(TaskError, match=r"column 'x1' holds the non-numeric value 'abc' at row 3"):
        predict(exported, tmp_path / "text.csv", tmp_path / "out.csv")

    frame.loc[2, "x2"] = np.nan
    frame.to_csv(tmp_path / "nan.csv", index=False)
    with pytest.raises(TaskError, match=r"column 'x2' has 1 missing or infinite value\(s\), the first at row 2"):
        predict(exported, tmp_path / "nan.csv", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_export_refuses_a_foreign_folder_and_replaces_a_previous_export(exported, moons, trained, tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty and is not a previous qnas export") as info:
        _export(foreign, moons, trained)
    assert str(foreign) in str(info.value) and "Choose another --out or delete" in str(info.value)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []

    again = Path(shutil.copytree(exported, tmp_path / "again"))
    _export(again, moons, trained, metrics={"val_accuracy": 0.5})
    assert json.loads((again / "metrics.json").read_text())["metrics"] == {"val_accuracy": 0.5}
    verify_export(again)


def test_export_checks_weights_and_spec_against_the_config(moons, trained, tmp_path):
    weights = {k: v for k, v in trained[1].weights.items() if k != "post.0.bias"}
    with pytest.raises(ExportError, match=r"missing keys \['post.0.bias'\]"):
        _export(tmp_path / "a", moons, trained, weights=weights)
    other = CandidateSpec(split="quantum_first", n_qubits=2, encoding=EncodingSpec("angle_x"), post_layers=(3,))
    with pytest.raises(ExportError, match="is not the spec being exported"):
        _export(tmp_path / "b", moons, trained, spec=other)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_no_credentials_in_any_exported_file(moons, trained, tmp_path):
    source = {"study": "demo", "trial": 1, "storage": SECRET_URL, "nested": ["redis://:secret@cache:6379/0"]}
    out = _export(tmp_path / "out", moons, trained, source=source)
    for path in out.iterdir():
        assert b"secret" not in path.read_bytes(), path.name
    saved = json.loads((out / "metrics.json").read_text())["source"]
    assert saved["storage"] == "postgresql://host/db" and saved["nested"] == ["redis://cache:6379/0"]
    assert redact_url("postgresql://host/db?sslmode=require&password=secret") == "postgresql://host/db?sslmode=require"
    assert redact_url("sqlite:///runs/qnas.db") == "sqlite:///runs/qnas.db"
    url = "postgresql://qnas:pw-1@host/db?sslmode=require&sslpassword=key-2"
    said = "connection to host failed for qnas with pw-1; certificate key key-2 rejected; sslmode require"
    assert redact_secrets_of(url, said) == "connection to host failed for qnas with ***; certificate key *** rejected; sslmode require"


@pytest.mark.parametrize("kind", ["energy", "state"])
def test_quantum_only_export_round_trips_and_refuses_predict(kind, tmp_path):
    spec = CandidateSpec(
        split="quantum_only", n_qubits=2, encoding=EncodingSpec("none"), layers=(LayerSpec(("RY",), "linear", "CNOT"),)
    )
    config = {"kind": kind, "spec": spec.to_dict(), "n_features": 0, "class_names": [], "feature_names": []}
    config["n_outputs"] = 1 if kind == "energy" else 2**spec.n_qubits
    if kind == "energy":
        config["pauli_terms"] = [[0.5, "ZZ"], [-0.3, "XI"]]
    torch.manual_seed(1)
    weights = {k: v.numpy().copy() for k, v in build_model(config).state_dict().items()}
    out = export_model(
        tmp_path / kind, spec=spec, model_config=config, weights=weights, metrics={}, baseline=None,
        task_config={"name": "h2" if kind == "energy" else "bell"}, source={"study": "s", "trial": 0},
    )
    reference = json.loads((out / "reference.json").read_text())
    with torch.no_grad():
        output = load(out)()
    if kind == "energy":
        assert torch.allclose(output, torch.tensor(reference["output"], dtype=output.dtype), atol=1e-6)
    else:
        expected = torch.complex(torch.tensor(reference["output_real"]), torch.tensor(reference["output_imag"]))
        assert torch.allclose(output, expected.to(output.dtype), atol=1e-6)
        assert abs(float(torch.linalg.vector_norm(output)) - 1.0) < 1e-9
    assert (out / "circuit.qasm").read_text().startswith("OPENQASM 2.0;")
    (tmp_path / "data.csv").write_text("x1,x2\n0,0\n")
    with pytest.raises(ExportError, match=f"predict needs a classifier export.*'{kind}'"):
        predict(out, tmp_path / "data.csv", tmp_path / "pred.csv")


@pytest.mark.parametrize(
    ("task_name", "gates"),
    [
        ("h2", (GateSpec("RY", (2,)), GateSpec("CNOT", (2, 3)), GateSpec("CNOT", (2, 0)), GateSpec("CNOT", (2, 1)))),
        ("bell", (GateSpec("H", (0,)), GateSpec("CNOT", (0, 1)), GateSpec("RZ", (1,), 0.25))),  # nothing to train
    ],
)
def test_gate_level_export_loads_back_with_the_same_output(task_name, gates, tmp_path):
    task = make_task(task_name)
    spec = CandidateSpec(
        split="quantum_only", n_qubits=task.required_qubits, encoding=EncodingSpec("none"), layers=(), gates=gates,
        training=TrainingSpec(learning_rate=0.1, epochs=20),
    )
    result = evaluate(spec, task, budget=Budget(seed=0))
    assert result.status == "ok", result.error
    out = export_model(
        tmp_path / task_name, spec=spec, model_config=result.model_config, weights=result.weights,
        metrics=result.metrics, baseline=None, task_config=task.config(), source={"study": "s", "trial": 0},
    )
    model = load(out)
    assert model.spec == spec and model.spec.gates == gates
    reference = json.loads((out / "reference.json").read_text())
    with torch.no_grad():
        output = model()
    if task_name == "h2":
        assert output.item() == pytest.approx(reference["output"], abs=1e-12)
        assert output.item() == pytest.approx(result.metrics["energy"], abs=1e-12)
        assert "cx q[2],q[3];" in (out / "circuit.qasm").read_text()
    else:
        assert task.fidelity(output) == pytest.approx(result.value, abs=1e-12)
        assert reference["output_real"] == pytest.approx(output.real.tolist(), abs=1e-12)
        assert "rz(0.25) q[1];" in (out / "circuit.qasm").read_text()


def test_weights_of_the_wrong_shape_are_refused(copy):
    import safetensors.torch

    tensors = safetensors.torch.load_file(copy / WEIGHTS)
    tensors["post.0.bias"] = torch.zeros(7)
    safetensors.torch.save_file(tensors, copy / WEIGHTS)
    _rewrite_manifest_entry(copy, WEIGHTS)
    with pytest.raises(ExportError, match=r"post.0.bias is \(7,\), not \(3,\)"):
        load(copy)


def test_load_rebuilds_the_quantum_block_on_another_device(exported):
    model = load(exported, device="lightning.qubit")
    assert model.quantum.qnode.device.name == "lightning.qubit"
    reference = json.loads((exported / "reference.json").read_text())
    with torch.no_grad():
        logits = model(torch.tensor(reference["inputs"], dtype=torch.float32))
    assert torch.allclose(logits, torch.tensor(reference["logits"], dtype=logits.dtype), atol=1e-6)
