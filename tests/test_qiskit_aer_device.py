"""`--device qiskit.aer`: qiskit-aer's noise model of an IBM fake backend, as a scoring device.

It is checked against qnas's own `noisy` device built from the same IBM calibration snapshot
(ibm_manila, 2024-05-27): two libraries, one set of numbers, close results.
"""

from __future__ import annotations

import pennylane as qml
import pytest

from qnas.cli import main
from qnas.devices import DeviceConfig, check_capacity, make_device
from qnas.errors import DeviceError
from qnas.evaluation import Budget, evaluate
from qnas.noise_model import noisy_qnode
from qnas.spec import CalibrationSpec, CandidateSpec, TrainingSpec
from qnas.study import load_study
from qnas.tasks import make_task
from tests.conftest import needs_qiskit

pytestmark = needs_qiskit

FEW_MOONS = {"name": "moons", "n_samples": 60}  # few rows: Aer transpiles and runs a circuit for each row
AER_SPACE = """
name: tiny_aer
task_kinds: [classification]
fixed: {split: quantum_first, n_qubits: 2, measurement: expval, epochs: 2, batch_size: 32, post_width: 4}
params:
  shots: {choices: [1000, 4000]}
layer:
  per_layer: false
  rotations: {choices: [RY]}
  entangler: {choices: [linear]}
"""


def test_options_are_checked_when_the_config_is_made():
    assert DeviceConfig("qiskit.aer", {"backend": "fake_manila", "seed": 3}).options["seed"] == 3
    with pytest.raises(DeviceError, match="needs the option backend.*--device-arg backend=fake_manila"):
        DeviceConfig("qiskit.aer")
    with pytest.raises(DeviceError, match="'fake_manilla' is not allowed.*Did you mean 'fake_manila'"):
        DeviceConfig("qiskit.aer", {"backend": "fake_manilla"})
    with pytest.raises(DeviceError, match="option = 'noise_model' is not allowed"):
        DeviceConfig("qiskit.aer", {"backend": "fake_manila", "noise_model": "x"})
    with pytest.raises(DeviceError, match="seed = 'one' must be an integer"):
        DeviceConfig("qiskit.aer", {"backend": "fake_manila", "seed": "one"})
    with pytest.raises(DeviceError, match="6 qubits but backend 'fake_manila' has 5"):
        check_capacity(DeviceConfig("qiskit.aer", {"backend": "fake_manila"}), 6, 32)


def test_aer_and_qnas_noise_models_of_one_calibration_agree():
    """<Z0 Z1> of a Bell pair: ideal 1; both models lose about the same to noise on manila's 0-1."""

    def bell():
        qml.Hadamard(0)
        qml.CNOT([0, 1])
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

    aer = qml.QNode(bell, make_device(DeviceConfig("qiskit.aer", {"backend": "fake_manila", "seed": 0}), 2), shots=20_000)
    # Aer's transpiler places the pair on the least noisy coupled qubits (3 and 4 on manila), as
    # qnas's `low_noise` layout does; the trivial layout (0, 1) reads out with 2x the error.
    ours = noisy_qnode(bell, 2, DeviceConfig("noisy", {"calibration": "ibm_manila"}), CalibrationSpec(layout="low_noise"))
    aer_value, our_value = float(aer()), float(ours())
    assert 0.85 < aer_value < 0.99 and 0.85 < our_value < 0.99  # noisy, but not far from 1
    assert abs(aer_value - our_value) < 0.03  # shot noise at 20,000 shots is about 0.003


def test_a_candidate_is_scored_there_and_one_without_shots_fails_with_the_fix():
    task = make_task(FEW_MOONS)
    device = DeviceConfig("qiskit.aer", {"backend": "fake_perth", "seed": 0})
    spec = CandidateSpec(n_qubits=2, training=TrainingSpec(epochs=2), calibration=CalibrationSpec(shots=1000))
    scored = evaluate(spec, task, device, Budget(seed=0))
    assert scored.status == "ok", scored.error
    metrics = scored.metrics
    assert metrics["shots"] == 1000 and metrics["noise_gap"] == metrics["ideal_val_accuracy"] - metrics["val_accuracy"]

    analytic = evaluate(CandidateSpec(n_qubits=2, training=TrainingSpec(epochs=2)), task, device, Budget(seed=0))
    assert analytic.status == "failed"
    assert "device 'qiskit.aer' samples" in analytic.error and "calibration.shots" in analytic.error


def test_search_on_qiskit_aer_records_the_device_and_both_scores(tmp_path):
    space = tmp_path / "tiny_aer.yaml"
    space.write_text(AER_SPACE)
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    code = main(
        ["search", "--task", "moons", "--task-arg", "n_samples=60", "--space", str(space), "--trials", "1",
         "--workers", "0", "--pruner", "none", "--study", "aer", "--storage", storage,
         "--device", "qiskit.aer", "--device-arg", "backend=fake_manila", "--device-arg", "seed=1"]
    )
    assert code == 0
    study = load_study(storage, "aer")
    assert study.user_attrs["device"] == {"name": "qiskit.aer", "options": {"backend": "fake_manila", "seed": 1}}
    for trial in study.trials:
        assert trial.state.name == "COMPLETE"
        assert {"noise_gap", "ideal_val_accuracy", "val_accuracy"} <= set(trial.user_attrs["metrics"])
