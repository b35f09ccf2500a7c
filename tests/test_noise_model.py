"""The noisy device: channel strengths match the calibration, readout flips, the noisy QNode on
real circuits, device settings, calibration settings in the spec, and hardware credentials."""

from __future__ import annotations

import json

import numpy as np
import pennylane as qml
import pytest
import torch

from qnas.calibration import SCHEMA, load_calibration
from qnas.circuits import make_qnode, weight_shapes
from qnas.devices import HARDWARE_CREDENTIALS, DeviceConfig, check_capacity, make_device
from qnas.errors import DeviceError, SpecError
from qnas.evaluation import Budget, evaluate
from qnas.noise_model import gate_noise, relaxation_infidelity
from qnas.spec import CalibrationSpec, CandidateSpec, EncodingSpec, LayerSpec, TrainingSpec
from qnas.tasks import make_task

MANILA = DeviceConfig("noisy", {"calibration": "ibm_manila"})


def _average_infidelity(channels: list, wires: list[int]) -> float:
    """1 - average gate fidelity of a sequence of channels, from its Pauli transfer on random states."""
    dev = qml.device("default.mixed", wires=wires)
    rng = np.random.default_rng(0)
    fidelities = []
    for _ in range(200):
        state = rng.normal(size=2 ** len(wires)) + 1j * rng.normal(size=2 ** len(wires))
        state /= np.linalg.norm(state)

        @qml.qnode(dev)
        def run(state=state):
            qml.StatePrep(state, wires=wires)
            for channel in channels:
                qml.apply(channel)
            return qml.density_matrix(wires=wires)

        fidelities.append(np.real(np.conj(state) @ run() @ state))
    return 1 - float(np.mean(fidelities))


def test_gate_noise_reproduces_the_calibrated_gate_error():
    manila = load_calibration("ibm_manila")
    one = gate_noise(qml.RX(0.0, wires=2), manila)
    assert [type(c).__name__ for c in one] == ["DepolarizingChannel", "ThermalRelaxationError"]
    assert _average_infidelity(one, [2]) == pytest.approx(manila.qubits[2].gate_error_1q, rel=0.15)
    two = gate_noise(qml.CNOT([1, 2]), manila)
    assert _average_infidelity(two, [1, 2]) == pytest.approx(manila.coupler(1, 2).gate_error_2q, rel=0.15)
    assert gate_noise(qml.RZ(0.3, wires=0), manila) == []  # a virtual frame change
    q = manila.qubits[0]
    relaxation = [qml.ThermalRelaxationError(0.0, q.t1_ns, q.t2_ns, 5000.0, wires=0)]
    assert _average_infidelity(relaxation, [0]) == pytest.approx(relaxation_infidelity(5000.0, q.t1_ns, q.t2_ns), rel=0.1)


def _readout_only_device(tmp_path, readout: float) -> DeviceConfig:
    """Two qubits with perfect gates and very long coherence: only readout errors remain."""
    qubit = {"t1_ns": 1e15, "t2_ns": 1e15, "readout_error": readout, "gate_error_1q": 0.0, "gate_time_1q_ns": 0.0}
    data = {
        "schema": SCHEMA, "name": "readout_only", "technology": "test", "source": "test",
        "qubits": [qubit, qubit], "couplers": [{"qubits": [0, 1], "gate_error_2q": 0.0, "gate_time_2q_ns": 0.0}],
    }
    path = tmp_path / "readout_only.json"
    path.write_text(json.dumps(data))
    return DeviceConfig("noisy", {"calibration": str(path)})


def _spec(calibration: CalibrationSpec | None = None, n_qubits: int = 2) -> CandidateSpec:
    return CandidateSpec(
        split="quantum_first", n_qubits=n_qubits, layers=(LayerSpec(("RY",), "linear", "CNOT"),),
        calibration=calibration or CalibrationSpec(),
    )


def test_readout_error_flips_bits_and_mitigation_undoes_it(tmp_path):
    device = _readout_only_device(tmp_path, 0.1)
    spec = _spec()
    weights = {name: torch.full(shape, 0.3, dtype=torch.float64) for name, shape in weight_shapes(spec).items()}
    x = torch.tensor([[0.2, -0.7], [1.1, 0.4]], dtype=torch.float64)
    ideal = torch.stack(make_qnode(spec)(inputs=x, **weights))
    noisy = torch.stack(make_qnode(spec, device=device)(inputs=x, **weights))
    torch.testing.assert_close(noisy, 0.8 * ideal)  # <Z> shrinks by 1 - 2p
    mitigated_spec = _spec(CalibrationSpec(readout_mitigation=True))
    mitigated = torch.stack(make_qnode(mitigated_spec, device=device)(inputs=x, **weights))
    torch.testing.assert_close(mitigated, ideal)


def test_noisy_qnode_is_close_to_ideal_and_differentiable():
    spec = _spec(n_qubits=3)
    weights = {name: torch.full(shape, 0.5, dtype=torch.float64, requires_grad=True) for name, shape in weight_shapes(spec).items()}
    x = torch.tensor([[0.1, 0.5, -0.3]], dtype=torch.float64)
    ideal = torch.stack(make_qnode(spec)(inputs=x, **weights))
    noisy = torch.stack(make_qnode(spec, device=MANILA)(inputs=x, **weights))
    error = (noisy - ideal).abs().max().item()
    assert 1e-3 < error < 0.2
    noisy.sum().backward()
    assert weights["rot0"].grad.abs().sum() > 0


def test_noisy_device_config_is_validated():
    with pytest.raises(DeviceError, match="needs a calibration.*--device-arg calibration=ibm_manila"):
        DeviceConfig("noisy")
    with pytest.raises(DeviceError, match="noisy device option = 'calibraton'.*Did you mean 'calibration'"):
        DeviceConfig("noisy", {"calibraton": "ibm_manila"})
    with pytest.raises(DeviceError, match="Did you mean 'ionq_harmony'"):
        DeviceConfig("noisy", {"calibration": "ionq_harmoni"})
    with pytest.raises(DeviceError, match="noise_aware = 'yes' must be true or false"):
        DeviceConfig("noisy", {"calibration": "ibm_manila", "noise_aware": "yes"})
    with pytest.raises(DeviceError, match="spec asks for 6 qubits but device 'ibm_manila' has 5"):
        check_capacity(MANILA, 6, 32)
    with pytest.raises(DeviceError, match="built per circuit"):
        make_device(MANILA, 2)
    assert DeviceConfig.from_dict(MANILA.to_dict()) == MANILA


def test_calibration_settings_validate_and_keep_default_hashes():
    assert CandidateSpec().hash == "970acdd023c03dc7"
    assert CandidateSpec(calibration=CalibrationSpec(zne_method="linear")).hash == "970acdd023c03dc7"  # no ZNE
    settings = CalibrationSpec(shots=100, readout_mitigation=True, zne_factors=[1, 3, 5], zne_method="linear", layout=[2, 1])
    spec = CandidateSpec(calibration=settings)
    assert spec.to_dict()["calibration"] == {
        "shots": 100, "readout_mitigation": True, "zne_factors": [1, 3, 5], "zne_method": "linear", "layout": [2, 1]
    }
    assert CandidateSpec.from_json(spec.to_json()) == spec and spec.hash != CandidateSpec().hash
    for factors in ([3, 5], [1, 2], [1], [1, 5, 3], [1, 23]):
        with pytest.raises(SpecError, match="must be odd, increasing fold factors that start at 1"):
            CalibrationSpec(zne_factors=factors)
    with pytest.raises(SpecError, match="zne_method = 'cubic' is not allowed"):
        CalibrationSpec(zne_factors=[1, 3], zne_method="cubic")
    with pytest.raises(SpecError, match="layout = 'dense' is not allowed.*list of physical qubits"):
        CalibrationSpec(layout="dense")
    with pytest.raises(SpecError, match="readout_mitigation = 'yes' must be true or false"):
        CalibrationSpec(readout_mitigation="yes")


def test_evaluate_scores_on_ideal_and_noisy_devices_and_records_the_gap():
    task = make_task({"name": "moons"})
    spec = CandidateSpec(
        split="quantum_first", n_qubits=3, layers=(LayerSpec(("RY",), "full", "CNOT"),), training=TrainingSpec(epochs=2)
    )
    result = evaluate(spec, task, MANILA, Budget(seed=1))
    assert result.status == "ok", result.error
    m = result.metrics
    assert m["noise_gap"] == pytest.approx(m["ideal_val_accuracy"] - m["val_accuracy"])
    assert result.value == m["val_accuracy"]
    assert m["two_qubit_gates"] == 3 and m["two_qubit_gates_routed"] == 3 + 3 * m["swaps"] and m["swaps"] >= 1
    vqe = CandidateSpec(
        split="quantum_only", n_qubits=4, encoding=EncodingSpec("none"), layers=(LayerSpec(("RY",), "linear", "CNOT"),),
        training=TrainingSpec(epochs=5, learning_rate=0.1),
    )
    aware = DeviceConfig("noisy", {"calibration": "iqm_garnet", "noise_aware": True})
    result = evaluate(vqe, make_task({"name": "h2"}), aware, Budget(seed=1))
    assert result.status == "ok", result.error
    assert result.metrics["noise_gap"] == pytest.approx(result.metrics["energy_error"] - result.metrics["ideal_energy_error"])
    bell = CandidateSpec(split="quantum_only", n_qubits=2, encoding=EncodingSpec("none"), layers=(LayerSpec(),))
    failed = evaluate(bell, make_task({"name": "bell"}), DeviceConfig("noisy", {"calibration": "ionq_harmony", "noise_aware": True}))
    assert failed.status == "failed" and "noise-aware training needs a measured objective" in failed.error


def test_hardware_devices_read_credentials_only_from_the_environment(monkeypatch):
    for name, variables in HARDWARE_CREDENTIALS.items():
        for variable in variables:
            monkeypatch.delenv(variable, raising=False)
        with pytest.raises(DeviceError, match=f"needs the environment variable\\(s\\) {variables[0]}"):
            make_device(DeviceConfig(name, {}), 2)
    with pytest.raises(DeviceError, match="looks like a credential"):
        DeviceConfig("qiskit.remote", {"token": "abc"})


@pytest.mark.hardware
@pytest.mark.parametrize("name", sorted(HARDWARE_CREDENTIALS))
def test_hardware_device_runs_a_bell_circuit(name):
    import os

    missing = [v for v in HARDWARE_CREDENTIALS[name] if not os.environ.get(v)]
    if missing:
        pytest.skip(f"{name}: set {', '.join(missing)} to run on real hardware")
    options = {"backend": os.environ.get("QNAS_IBM_BACKEND", "ibm_fez")} if name == "qiskit.remote" else {
        "device_arn": os.environ.get("QNAS_BRAKET_ARN", "arn:aws:braket:::device/quantum-simulator/amazon/sv1")
    }
    dev = make_device(DeviceConfig(name, options), 2)

    @qml.set_shots(200)
    @qml.qnode(dev)
    def bell():
        qml.Hadamard(0)
        qml.CNOT([0, 1])
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

    assert float(bell()) > 0.5
