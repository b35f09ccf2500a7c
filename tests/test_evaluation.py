"""Tests for qnas.evaluation (and the training loops and baseline it runs): real tasks, real
training, every status, and a result that crosses process boundaries as JSON."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from qnas.baselines import matched_hidden_width, mlp_parameter_count
from qnas.errors import QnasError
from qnas.evaluation import Budget, EvalResult, evaluate, make_model_config
from qnas.models import build_model
from qnas.spec import CalibrationSpec, CandidateSpec, EncodingSpec, GateSpec, LayerSpec, TrainingSpec
from qnas.tasks import make_task
from qnas.tasks.vqe import dense_matrix
from qnas.training import REPORTS_PER_RUN, TrainingDiverged, report_due, train_classifier


@functools.cache
def task(name: str, **kwargs):
    return make_task(name, **kwargs)


def moons():
    return task("moons", n_samples=200)


def small_classifier(**overrides) -> CandidateSpec:
    fields = dict(
        split="quantum_head",
        n_qubits=2,
        encoding=EncodingSpec("angle_y"),
        layers=(LayerSpec(("RY",), "linear", "CNOT"),),
        training=TrainingSpec(learning_rate=0.1, epochs=5, batch_size=16),
    )
    return CandidateSpec(**{**fields, **overrides})


def quantum_only(n_qubits: int, layers: int = 2, epochs: int = 60, shots: int | None = None) -> CandidateSpec:
    return CandidateSpec(
        split="quantum_only",
        n_qubits=n_qubits,
        encoding=EncodingSpec("none"),
        layers=(LayerSpec(("RY",), "linear", "CNOT"),) * layers,
        calibration=CalibrationSpec(shots=shots),
        training=TrainingSpec(learning_rate=0.1, epochs=epochs),
    )


@pytest.fixture(scope="module")
def moons_result() -> EvalResult:
    return evaluate(small_classifier(), moons(), "default.qubit", Budget(seed=0))


def test_moons_trains_scores_and_has_a_baseline(moons_result):
    result = moons_result
    assert result.status == "ok", result.error
    assert result.value == result.metrics["val_accuracy"] > 0.7
    assert 0.6 < result.metrics["test_accuracy"] <= 1.0
    for key in (
        "n_params",
        "depth",
        "two_qubit_gates",
        "n_gates",
        "shots",
        "wall_time_s",
        "train_time_s",
        "epochs_run",
    ):
        assert key in result.metrics
    assert result.metrics["epochs_run"] == 5 and len(result.history) == 5
    assert result.metrics["two_qubit_gates"] == 1 and result.metrics["shots"] == 0
    assert result.value == max(result.history)  # best-validation weights were restored and rescored
    baseline = result.baseline
    assert baseline["model"] == "mlp" and baseline["val_accuracy"] > 0.7
    assert abs(baseline["n_params"] - result.metrics["n_params"]) <= 2 + 1 + 2  # one hidden unit's worth
    assert result.spec_hash == small_classifier().hash


def test_result_is_json_without_weights_and_weights_rebuild_the_model(moons_result):
    data = json.loads(json.dumps(moons_result.to_dict(), allow_nan=False))
    assert "weights" not in data
    again = EvalResult.from_dict(data)
    assert again.value == moons_result.value and again.weights is None
    model = build_model(moons_result.model_config)
    model.load_state_dict({k: torch.as_tensor(v) for k, v in moons_result.weights.items()})
    predictions = model(torch.as_tensor(moons().x_val)).argmax(dim=1).numpy()
    assert np.mean(predictions == moons().y_val) == pytest.approx(moons_result.value)


def test_same_seed_same_result_other_seed_other_start():
    first = evaluate(quantum_only(2, epochs=10), task("bell"), budget=Budget(seed=3))
    second = evaluate(quantum_only(2, epochs=10), task("bell"), budget=Budget(seed=3))
    other = evaluate(quantum_only(2, epochs=10), task("bell"), budget=Budget(seed=4))
    assert first.history == second.history
    assert other.history != first.history


def test_h2_reaches_a_small_energy_error():
    """Its wall time is measured by benchmarks/vqe_evaluation.py, not asserted here."""
    result = evaluate(quantum_only(4, layers=2, epochs=60), task("h2"), budget=Budget(seed=0))
    assert result.status == "ok", result.error
    assert result.value == result.metrics["energy_error"] < 0.05
    assert result.metrics["energy"] == pytest.approx(task("h2").exact_energy + result.value)
    assert result.history[0] > result.value  # it learned


def test_the_vqe_evaluation_benchmark_refuses_zero_repeats():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "vqe_evaluation.py"
    result = subprocess.run([sys.executable, str(script), "--repeats", "0"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "--repeats = 0 must be at least 1" in result.stderr


def test_bell_reaches_high_fidelity():
    result = evaluate(quantum_only(2, layers=1, epochs=60), task("bell"), budget=Budget(seed=0))
    assert result.status == "ok", result.error
    assert result.value == result.metrics["fidelity"] > 0.95


def test_training_starts_from_given_angles_and_refuses_angles_of_another_spec():
    """Bell from H0 CNOT: RY(pi/2) on wire 0 then CNOT is the optimum; starting there, one epoch keeps it."""
    spec = CandidateSpec(split="quantum_only", n_qubits=2, encoding=EncodingSpec("none"), layers=(),
                         gates=(GateSpec("RY", (0,)), GateSpec("CNOT", (0, 1))), training=TrainingSpec(epochs=1))
    started = evaluate(spec, task("bell"), budget=Budget(seed=0), start_angles=(np.pi / 2,))
    assert started.status == "ok" and started.value == pytest.approx(1.0, abs=1e-9)
    assert started.weights["weights.gate_angles"][0] == pytest.approx(np.pi / 2, abs=0.1)
    at_random = evaluate(spec, task("bell"), budget=Budget(seed=0))
    assert at_random.value < 0.99
    wrong = evaluate(spec, task("bell"), budget=Budget(seed=0), start_angles=(0.1, 0.2))
    assert wrong.status == "failed" and "start angles: 2 given, but the spec has 1 trainable gate angles" in wrong.error


def test_nan_in_the_training_data_fails_with_the_epoch():
    broken = copy.copy(moons())
    broken.x_train = moons().x_train.copy()
    broken.x_train[7, 1] = np.nan  # a missing value that slipped into the data
    result = evaluate(small_classifier(), broken, budget=Budget(seed=0))
    assert result.status == "failed"
    assert result.reason == "loss became NaN at epoch 1"
    assert result.value is None and result.weights is None


def test_a_diverging_loss_stops_training_with_the_epoch():
    # Plain SGD at the largest allowed rate on unscaled features through two linear layers: the
    # loss grows each epoch until it overflows. The run stops there instead of returning a score.
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 2)) * 10).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Linear(16, 2))
    training = TrainingSpec(learning_rate=10.0, epochs=50, batch_size=16, optimizer="sgd")
    with pytest.raises(TrainingDiverged, match=r"^loss became inf at epoch \d+$") as diverged:
        train_classifier(model, x, y, x, y, training, training.epochs, seed=0)
    assert int(str(diverged.value).rsplit(" ", 1)[1]) < 10  # 3 here: stopped early, not at the end


def test_report_true_prunes_with_the_last_reported_value():
    calls = []

    def report(step: int, value: float) -> bool:
        calls.append((step, value))
        return step >= 20

    result = evaluate(quantum_only(2, epochs=100), task("bell"), budget=Budget(seed=0), report=report)
    assert result.status == "pruned"
    assert [step for step, _ in calls] == [4, 8, 12, 16, 20]
    assert result.value == calls[-1][1]
    assert result.metrics["epochs_run"] == 20 and len(result.history) == 20
    assert result.weights is not None


def test_reports_stay_few_and_include_the_last_epoch():
    for epochs in (1, 7, 25, 26, 49, 100, 1003):
        steps = [e for e in range(1, epochs + 1) if report_due(e, epochs)]
        assert steps[-1] == epochs
        if epochs <= REPORTS_PER_RUN:
            assert len(steps) == epochs
        else:
            assert REPORTS_PER_RUN // 2 < len(steps) <= REPORTS_PER_RUN + 1


def test_finite_shots_change_the_scoring_path():
    result = evaluate(small_classifier(calibration=CalibrationSpec(shots=100)), moons(), budget=Budget(seed=0))
    assert result.status == "ok", result.error
    assert result.metrics["shots"] == 100
    assert result.metrics["ideal_val_accuracy"] > 0.7
    assert result.value == result.metrics["val_accuracy"] > 0.6
    energy = evaluate(quantum_only(4, epochs=40, shots=1000), task("h2"), budget=Budget(seed=0))
    assert energy.status == "ok", energy.error
    assert energy.metrics["energy"] != energy.metrics["ideal_energy"]  # sampled, not exact
    assert abs(energy.metrics["energy"] - energy.metrics["ideal_energy"]) < 0.1


def test_incompatible_spec_and_task_fail_with_a_clear_reason():
    no_data = evaluate(quantum_only(2), moons())
    assert no_data.status == "failed"
    assert "quantum_only' reads no data" in no_data.reason and "quantum_head" in no_data.reason
    wrong_qubits = evaluate(quantum_only(3), task("h2"))
    assert wrong_qubits.status == "failed"
    assert wrong_qubits.reason == (
        "task 'h2' needs n_qubits = 4 (fixed by its Hamiltonian), but the spec has 3; set n_qubits to 4."
    )
    data_on_vqe = evaluate(small_classifier(), task("h2"))
    assert "needs split = 'quantum_only'" in data_on_vqe.reason


def test_bad_inputs_fail_instead_of_raising():
    assert "Did you mean 'default.qubit'" in evaluate(small_classifier(), moons(), "default.qbit").reason
    assert "split" in evaluate({"split": "sideways"}, moons()).reason
    too_big = evaluate(small_classifier(n_qubits=30), moons())
    assert too_big.status == "failed" and "spec asks for 30 qubits" in too_big.reason


def test_budget_caps_epochs_and_validates():
    result = evaluate(quantum_only(2, epochs=50), task("bell"), budget=Budget(seed=0, max_epochs=3))
    assert result.metrics["epochs_run"] == 3
    with pytest.raises(QnasError, match="max_epochs"):
        Budget(max_epochs=0)


def test_baseline_width_is_the_closest_parameter_match():
    assert mlp_parameter_count(2, 3, 2) == 3 * 3 + 2 * 4
    for n_features, n_classes, target in [(2, 2, 14), (30, 2, 100), (4, 3, 1), (8, 10, 500)]:
        hidden = matched_hidden_width(n_features, n_classes, target)
        best = min(range(1, 200), key=lambda h: abs(mlp_parameter_count(n_features, h, n_classes) - target))
        assert hidden >= 1
        assert abs(mlp_parameter_count(n_features, hidden, n_classes) - target) == abs(
            mlp_parameter_count(n_features, best, n_classes) - target
        )


def test_vqe_circuits_start_from_the_hartree_fock_state() -> None:
    """With every angle at zero the ansatz is the identity, so the energy is <HF|H|HF>."""
    h2 = task("h2")
    assert h2.reference_state == (1, 1, 0, 0)
    assert task("tfim").reference_state == (0, 0, 0, 0)
    spec = CandidateSpec(
        split="quantum_only", n_qubits=4, encoding=EncodingSpec("none"), layers=(LayerSpec(("RY",), "linear", "CZ"),)
    )
    model = build_model(make_model_config(spec, h2))
    with torch.no_grad():
        for weight in model.weights.values():
            weight.zero_()
    hf_index = int("1100", 2)
    expected = dense_matrix(h2.hamiltonian, 4)[hf_index, hf_index].real
    assert np.isclose(float(model().detach()), expected, atol=1e-10)
    assert expected - h2.exact_energy > 0.01  # Hartree-Fock misses the correlation energy


H2_GATES = (GateSpec("RY", (2,)), GateSpec("CNOT", (2, 3)), GateSpec("CNOT", (2, 0)), GateSpec("CNOT", (2, 1)))
"""From Hartree-Fock |1100>: cos(t/2)|1100> + sin(t/2)|0011>, which holds H2's ground state."""


def gate_level(n_qubits: int, gates: tuple[GateSpec, ...], shots: int | None = None) -> CandidateSpec:
    return CandidateSpec(
        split="quantum_only",
        n_qubits=n_qubits,
        encoding=EncodingSpec("none"),
        layers=(),
        gates=gates,
        calibration=CalibrationSpec(shots=shots),
        training=TrainingSpec(learning_rate=0.1, epochs=60),
    )


def test_a_gate_level_h2_ansatz_reaches_chemical_accuracy():
    result = evaluate(gate_level(4, H2_GATES).to_dict(), task("h2"), budget=Budget(seed=0))
    assert result.status == "ok", result.error
    assert result.value == result.metrics["energy_error"] < 1.6e-3
    assert result.metrics["n_params"] == 1 and result.metrics["two_qubit_gates"] == 3
    assert list(result.weights) == ["weights.gate_angles"]
    assert result.history[0] > result.value  # it learned


@pytest.mark.parametrize("shots", [None, 2000])
def test_a_fixed_gate_bell_circuit_is_scored_without_training(shots):
    result = evaluate(gate_level(2, (GateSpec("H", (0,)), GateSpec("CNOT", (0, 1))), shots), task("bell"))
    assert result.status == "ok", result.error
    assert result.metrics["n_params"] == 0 and result.metrics["epochs_run"] == 0 and result.weights == {}
    assert result.value == pytest.approx(1.0, abs=1e-12 if shots is None else 0.05)
