"""Readout-error mitigation: per-qubit, tensored and full assignment matrices, counts, and the
calibration stored in an export and applied by `qnas.load` on a noisy device."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pennylane as qml
import pytest
import torch

from qnas.calibration import load_calibration
from qnas.cli import main
from qnas.devices import DeviceConfig
from qnas.errors import DeviceError, ExportError
from qnas.evaluation import Budget, evaluate
from qnas.export import MANIFEST, READOUT, export_model, load, verify_export
from qnas.mitigation.readout import correct_counts, correct_probs, nearest_probabilities
from qnas.mitigation.readout_calibration import (
    ReadoutCalibration,
    basis_preparations,
    device_fingerprint,
    readout_groups,
)
from qnas.noise_model import noisy_qnode, readout_calibration
from qnas.routing import choose_layout
from qnas.spec import CalibrationSpec, CandidateSpec, EncodingSpec, LayerSpec, TrainingSpec
from qnas.tasks import make_task

MANILA = DeviceConfig("noisy", {"calibration": "ibm_manila"})
FIRST_QUBIT = np.array([[0.97, 0.05], [0.03, 0.95]])


def _calibration(method, groups, matrices) -> ReadoutCalibration:
    return ReadoutCalibration(method, groups, matrices, "test", "0" * 64, "2026-11-22T00:00:00+00:00")


def _crosstalk() -> np.ndarray:
    """A 2-qubit assignment matrix where qubit 1 misreads far more often while qubit 0 is in |1>."""
    quiet, loud = np.array([[0.98, 0.04], [0.02, 0.96]]), np.array([[0.85, 0.2], [0.15, 0.8]])
    matrix = np.zeros((4, 4))
    for prepared in range(4):
        b0, b1 = prepared >> 1, prepared & 1
        q1 = loud if b0 else quiet
        for measured in range(4):
            matrix[measured, prepared] = FIRST_QUBIT[measured >> 1, b0] * q1[measured & 1, b1]
    return matrix


def _tvd(p, q) -> float:
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def test_full_matrix_undoes_correlated_readout_errors_that_per_qubit_matrices_miss():
    matrix = _crosstalk()
    true = np.array([0.1, 0.2, 0.3, 0.4])
    measured = matrix @ true
    full = _calibration("full", ((0, 1),), (matrix,))
    np.testing.assert_allclose(correct_probs(measured, [0, 1], full), true, atol=1e-12)
    # Per-qubit marginals of the same matrix (what |00> and |11> calibration would see) leave an error.
    per_qubit = _calibration("per_qubit", ((0,), (1,)), (
        np.array([[matrix[0, 0] + matrix[1, 0], matrix[0, 3] + matrix[1, 3]],
                  [matrix[2, 0] + matrix[3, 0], matrix[2, 3] + matrix[3, 3]]]),
        np.array([[matrix[0, 0] + matrix[2, 0], matrix[0, 3] + matrix[2, 3]],
                  [matrix[1, 0] + matrix[3, 0], matrix[1, 3] + matrix[3, 3]]]),
    ))
    assert _tvd(correct_probs(measured, [0, 1], per_qubit), true) > 0.02
    # Reversed wire order and a torch batch give the same answer, differentiably.
    swapped = measured.reshape(2, 2).T.reshape(4)
    np.testing.assert_allclose(correct_probs(swapped, [1, 0], full), true.reshape(2, 2).T.reshape(4), atol=1e-12)
    batch = torch.tensor(np.stack([measured, measured]), requires_grad=True)
    corrected = correct_probs(batch, [0, 1], full)
    corrected[:, 3].sum().backward()
    assert corrected.shape == (2, 4) and batch.grad is not None


def test_tensored_blocks_and_a_block_read_in_part():
    matrix, single = _crosstalk(), np.array([[0.9, 0.08], [0.1, 0.92]])
    tensored = _calibration("tensored", ((3, 1), (0,)), (matrix, single))
    true = np.random.default_rng(0).dirichlet(np.ones(8))  # over wires [3, 1, 0]
    measured = np.kron(matrix, single) @ true
    np.testing.assert_allclose(correct_probs(measured, [3, 1, 0], tensored), true, atol=1e-12)
    # Reading qubit 0 and 3 only: qubit 3's errors do not depend on qubit 1's state, so the
    # reduced block is exact for it.
    marginal = true.reshape(2, 2, 2).sum(axis=1).reshape(4)
    measured_03 = np.kron(FIRST_QUBIT, single) @ marginal
    np.testing.assert_allclose(correct_probs(measured_03, [3, 0], tensored), marginal, atol=1e-12)
    with pytest.raises(DeviceError, match=r"no readout calibration for qubit\(s\) \[2\]"):
        correct_probs(measured, [3, 2, 0], tensored)


def test_readout_groups_and_calibration_circuits():
    assert readout_groups("per_qubit", [4, 2]) == ((4,), (2,))
    assert readout_groups("tensored", [0, 1, 2]) == ((0, 1), (2,))
    assert readout_groups("full", [0, 1, 2]) == ((0, 1, 2),)
    assert basis_preparations(((0, 1), (2,))) == [[], [1, 2], [0], [0, 1]]
    with pytest.raises(DeviceError, match="limited to 5 qubits"):
        readout_groups("full", range(6))
    with pytest.raises(DeviceError, match="readout_method = 'joint' is not allowed"):
        readout_groups("joint", [0])


def test_counts_give_an_unbiased_quasi_distribution_and_the_nearest_valid_one():
    a = np.array([[0.9, 0.1], [0.1, 0.9]])
    calibration = _calibration("per_qubit", ((0,), (1,)), (a, a))
    result = correct_counts({"00": 90, "11": 10}, [0, 1], calibration)
    assert result.shots == 100
    assert sum(result.quasi.values()) == pytest.approx(1.0)
    assert min(result.quasi.values()) < 0  # the inverse overshoots on states never seen
    assert min(result.nearest.values()) >= 0 and sum(result.nearest.values()) == pytest.approx(1.0)
    np.testing.assert_allclose(nearest_probabilities([0.6, 0.5, -0.1]), [0.55, 0.45, 0.0])
    np.testing.assert_allclose(nearest_probabilities([0.2, 0.8]), [0.2, 0.8])
    with pytest.raises(DeviceError, match="counts key '012'"):
        correct_counts({"012": 3}, [0, 1, 2], _calibration("full", ((0, 1, 2),), (np.eye(8),)))
    with pytest.raises(DeviceError, match="non-negative whole number"):
        correct_counts({"01": -1}, [0, 1], calibration)
    with pytest.raises(DeviceError, match="hold no shots"):
        correct_counts({"01": 0}, [0, 1], calibration)


def test_counts_sampled_on_the_noisy_device_are_corrected_towards_the_ideal_distribution():
    calibration = load_calibration("ibm_manila")
    layout = choose_layout("trivial", 2, calibration)
    readout = readout_calibration(calibration, layout, None, None, "full")

    def circuit():
        qml.RY(0.7, wires=0)
        qml.RY(2.1, wires=1)
        return qml.counts(wires=[0, 1])

    counts = noisy_qnode(circuit, 2, MANILA, CalibrationSpec(), shots=40_000)()
    ideal = np.kron(*[[np.cos(t / 2) ** 2, np.sin(t / 2) ** 2] for t in (0.7, 2.1)])
    raw = np.array([counts.get(format(i, "02b"), 0) for i in range(4)]) / 40_000
    mitigated = correct_counts(counts, layout, readout)
    nearest = np.array([mitigated.nearest.get(format(i, "02b"), 0.0) for i in range(4)])
    assert _tvd(raw, ideal) > 0.02
    assert _tvd(nearest, ideal) < _tvd(raw, ideal) / 3


@pytest.mark.parametrize("method", ["per_qubit", "tensored", "full"])
def test_each_method_cuts_the_readout_error_of_a_product_state_on_a_noisy_device(method):
    device = DeviceConfig("noisy", {"calibration": "iqm_garnet", "readout_method": method})
    angles = [0.3, 1.9, 2.6, 1.1]

    def circuit():
        for wire, angle in enumerate(angles):
            qml.RY(angle, wires=wire)
        return qml.probs(wires=range(4))

    ideal = np.asarray(qml.QNode(circuit, qml.device("default.qubit", wires=4))())
    raw = np.asarray(noisy_qnode(circuit, 4, device, CalibrationSpec())())
    fixed = np.asarray(noisy_qnode(circuit, 4, device, CalibrationSpec(readout_mitigation=True))())
    assert _tvd(raw, ideal) > 0.03
    assert _tvd(fixed, ideal) < _tvd(raw, ideal) / 10


def test_calibration_measured_on_the_device_round_trips_through_json_and_is_validated():
    calibration = load_calibration("ibm_manila")
    readout = readout_calibration(calibration, (0, 1, 2), None, None, "tensored")
    assert readout.groups == ((0, 1), (2,)) and readout.device == "ibm_manila"
    assert readout.device_sha256 == device_fingerprint(calibration)
    # Independent bit flips: the 2-qubit block is close to the product of its qubits' 2x2 matrices.
    flips = [calibration.qubits[q].readout_error for q in (0, 1)]
    expected = np.kron(*[[[1 - e, e], [e, 1 - e]] for e in flips])
    np.testing.assert_allclose(readout.matrices[0], expected, atol=5e-3)
    again = ReadoutCalibration.from_dict(json.loads(json.dumps(readout.to_dict())))
    assert again.groups == readout.groups
    np.testing.assert_array_equal(again.matrices[0], readout.matrices[0])

    bad = readout.to_dict()
    bad["matrices"][0][0][0] += 0.2
    with pytest.raises(DeviceError, match=r"columns sum to 1 \(column sums \[1\.2"):
        ReadoutCalibration.from_dict(bad, where="stored.json")
    bad = {**readout.to_dict(), "groups": [[0, 1], [1]]}
    with pytest.raises(DeviceError, match="repeat a qubit"):
        ReadoutCalibration.from_dict(bad)
    with pytest.raises(DeviceError, match="schema = 'v0' is not supported"):
        ReadoutCalibration.from_dict({**readout.to_dict(), "schema": "v0"})
    with pytest.raises(DeviceError, match=r"must be 4x4"):
        ReadoutCalibration.from_dict({**readout.to_dict(), "matrices": [[[1.0]], [[1, 0], [0, 1]]]})
    with pytest.raises(DeviceError, match="readout_method = 'best' is not allowed"):
        DeviceConfig("noisy", {"calibration": "ibm_manila", "readout_method": "best"})


# --- the export: "export a model found on a noisy device, load it with mitigation on and off" ---


@pytest.fixture(scope="module")
def h2_export(tmp_path_factory) -> tuple[Path, dict, object, dict]:
    """A 4-qubit H2 VQE model trained by the evaluator and scored on noisy ibm_manila with readout
    mitigation, exported as `qnas export` does."""
    task = make_task({"name": "h2"})
    spec = CandidateSpec(
        split="quantum_only", n_qubits=task.required_qubits, encoding=EncodingSpec("none"),
        layers=(LayerSpec(("RY",), "linear", "CNOT"),), measurement="expval",
        training=TrainingSpec(epochs=40, batch_size=1, learning_rate=0.1),
        calibration=CalibrationSpec(readout_mitigation=True),
    )
    result = evaluate(spec, task, device=MANILA, budget=Budget(seed=0))
    assert result.status == "ok", result.error
    kwargs = dict(
        spec=spec, model_config=result.model_config, weights=result.weights, metrics=result.metrics,
        baseline=result.baseline, task_config=task.config(), task=task,
    )
    out = export_model(
        tmp_path_factory.mktemp("h2") / "model", source={"study": "h2-noisy", "trial": 0, "device": MANILA.to_dict()},
        **kwargs,
    )
    return out, result.metrics, task, kwargs


def _energy_error(model, task) -> float:
    with torch.no_grad():
        return float(task.energy_error(float(model())))


def test_exported_model_carries_its_readout_calibration_and_load_applies_it(h2_export):
    out, metrics, task, _ = h2_export
    assert READOUT in verify_export(out)["files"]
    stored = json.loads((out / READOUT).read_text())
    assert stored["device"] == "ibm_manila" and stored["method"] == "per_qubit" and len(stored["groups"]) == 4
    assert "readout calibration shipped in `readout_calibration.json`: per_qubit" in (out / "MODEL_CARD.md").read_text()

    on = load(out, device=MANILA, readout_mitigation=True)
    off = load(out, device=MANILA, readout_mitigation=False)
    remeasured = load(out, device=MANILA, remeasure_readout=True)
    assert (on.readout_mitigation, off.readout_mitigation, remeasured.readout_mitigation) == (
        "stored", "off", "measured"
    )
    error_on, error_off = _energy_error(on, task), _energy_error(off, task)
    assert error_on == pytest.approx(metrics["energy_error"], abs=1e-9)  # what the search scored
    assert error_off > 3 * error_on
    assert _energy_error(remeasured, task) == pytest.approx(error_on, abs=1e-9)  # analytic: same matrices
    assert load(out).readout_mitigation is None  # the ideal simulator has no readout errors


def test_a_corrupted_or_mismatched_readout_calibration_is_refused(h2_export, tmp_path):
    out, _, _, kwargs = h2_export
    copy = Path(shutil.copytree(out, tmp_path / "copy"))
    data = json.loads((copy / READOUT).read_text())
    data["matrices"][0][0][0] = 0.5
    (copy / READOUT).write_text(json.dumps(data))
    with pytest.raises(ExportError, match=f"checksum mismatch for .*{READOUT}"):
        load(copy, device=MANILA)
    with pytest.raises(ExportError, match=r"readout_calibration.json: the matrix of qubits \[0\] must hold probabilities"):
        load(copy, device=MANILA, verify=False)
    (copy / READOUT).write_text("{not json")
    with pytest.raises(ExportError, match=f"{READOUT} is not valid JSON"):
        load(copy, device=MANILA, verify=False)
    (copy / READOUT).unlink()
    with pytest.raises(ExportError, match=f"missing \\['{READOUT}'\\]"):
        load(copy, device=MANILA, verify=False)

    garnet = DeviceConfig("noisy", {"calibration": "iqm_garnet"})
    with pytest.raises(DeviceError, match="measured on device 'ibm_manila'.*not on 'iqm_garnet'.*remeasure_readout=True"):
        load(out, device=garnet)
    assert load(out, device=garnet, remeasure_readout=True).readout_mitigation == "measured"
    with pytest.raises(ExportError, match="readout_mitigation = 'yes' must be"):
        load(out, device=MANILA, readout_mitigation="yes")
    with pytest.raises(ExportError, match="remeasure_readout = 'no' must be True or False"):
        load(out, device=MANILA, remeasure_readout="no")
    manifest = json.loads((out / MANIFEST).read_text())
    assert READOUT in manifest["files"]

    stored = load(out).readout_calibration
    with pytest.raises(ExportError, match="scored on None, not on a noisy device"):
        export_model(tmp_path / "ideal", source={"study": "s"}, readout_calibration=stored, **kwargs)
    garnet_source = {"study": "s", "device": garnet.to_dict()}
    with pytest.raises(DeviceError, match="measured on device 'ibm_manila'"):
        export_model(tmp_path / "garnet", source=garnet_source, readout_calibration=stored, **kwargs)
    given = export_model(tmp_path / "given", source={"study": "s", "device": MANILA.to_dict()},
                         readout_calibration=stored, **kwargs)
    assert json.loads((given / READOUT).read_text()) == stored.to_dict()


def test_predict_on_the_noisy_device_with_readout_mitigation_on_and_off(tmp_path):
    """`qnas predict --device noisy` runs an exported classifier there, with its stored calibration or without."""
    task = make_task({"name": "moons", "n_samples": 60})
    spec = CandidateSpec(
        split="quantum_first", n_qubits=2, encoding=EncodingSpec("angle_y"),
        layers=(LayerSpec(("RY",), "linear", "CNOT"),), post_layers=(3,),
        training=TrainingSpec(epochs=2, batch_size=16), calibration=CalibrationSpec(readout_mitigation=True),
    )
    result = evaluate(spec, task, device=MANILA, budget=Budget(seed=0))
    assert result.status == "ok", result.error
    out = export_model(
        tmp_path / "moons", spec=spec, model_config=result.model_config, weights=result.weights,
        metrics=result.metrics, baseline=result.baseline, task_config=task.config(),
        source={"study": "moons-noisy", "trial": 0, "device": MANILA.to_dict()}, task=task,
    )
    data = tmp_path / "rows.csv"
    pd.DataFrame(task.x_test[:10], columns=task.feature_names).to_csv(data, index=False)
    device = ["--device", "noisy", "--device-arg", "calibration=ibm_manila"]
    probabilities = {}
    for mode in ("on", "off"):
        csv = tmp_path / f"{mode}.csv"
        assert main(["predict", str(out), "--data", str(data), "--out", str(csv), *device, "--readout-mitigation", mode]) == 0
        probabilities[mode] = pd.read_csv(csv).filter(like="p_").to_numpy()
    model = load(out, device=MANILA)
    with torch.no_grad():
        expected = torch.softmax(model(torch.as_tensor(task.x_test[:10], dtype=torch.float32)), dim=1).numpy()
    np.testing.assert_allclose(probabilities["on"], expected, atol=1e-6)
    assert np.abs(probabilities["on"] - probabilities["off"]).max() > 1e-4
