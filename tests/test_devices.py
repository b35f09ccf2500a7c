"""Tests for qnas.devices: config validation, capacity from memory, real PennyLane devices."""

from __future__ import annotations

import json

import pytest

from qnas.devices import (
    HARD_LIMITS,
    SIMULATORS,
    STATE_FACTOR,
    DeviceConfig,
    check_capacity,
    make_device,
    max_qubits,
    total_memory_bytes,
)
from qnas.errors import DeviceError
from tests.conftest import needs_qiskit


def test_default_config_round_trips_through_json():
    config = DeviceConfig()
    assert config.name == "default.qubit" and config.options == {}
    data = json.loads(json.dumps(config.to_dict()))
    assert DeviceConfig.from_dict(data) == config
    assert DeviceConfig.from_dict("default.mixed") == DeviceConfig("default.mixed")
    with_options = DeviceConfig("lightning.qubit", {"seed": 3})
    assert DeviceConfig.from_dict(with_options.to_dict()) == with_options
    assert hash(with_options) == hash(DeviceConfig("lightning.qubit", {"seed": 3}))


def test_unknown_name_suggests_the_closest_device():
    with pytest.raises(DeviceError, match=r"'default\.qbit'.*Did you mean 'default\.qubit'\?"):
        DeviceConfig("default.qbit")
    with pytest.raises(DeviceError, match="allowed values"):
        DeviceConfig("qiskit.ibmq")


@pytest.mark.parametrize("key", ["token", "api_key", "IBMQ_TOKEN", "password", "client-secret"])
def test_secret_looking_options_are_refused(key):
    with pytest.raises(DeviceError, match="environment variable"):
        DeviceConfig("default.qubit", {key: "abc"})


def test_options_must_be_json_and_not_wires_or_shots():
    with pytest.raises(DeviceError, match="JSON"):
        DeviceConfig("default.qubit", {"seed": object()})
    with pytest.raises(DeviceError, match="shots"):
        DeviceConfig("default.qubit", {"shots": 100})
    with pytest.raises(DeviceError, match="unknown|not allowed"):
        DeviceConfig.from_dict({"name": "default.qubit", "option": {}})


def test_options_are_copied_so_the_config_stays_frozen():
    options = {"seed": 1}
    config = DeviceConfig("default.qubit", options)
    options["seed"] = 2
    assert config.options == {"seed": 1}


def test_max_qubits_follows_memory_and_hard_limits():
    budget = 0.5 * total_memory_bytes()
    for name in SIMULATORS:
        for batch in (1, 32, 1024):
            m = max_qubits(name, batch)
            assert 0 <= m <= HARD_LIMITS[name]
            per_state = 16 * batch * 16 * 2 ** (STATE_FACTOR[name] * m)
            assert per_state <= budget
            if m < HARD_LIMITS[name]:  # one more qubit would not fit
                assert 16 * batch * 16 * 2 ** (STATE_FACTOR[name] * (m + 1)) > budget
    assert STATE_FACTOR["noisy"] == STATE_FACTOR["default.mixed"] == 2
    assert max_qubits("default.mixed", 32) < max_qubits("default.qubit", 32)
    assert max_qubits("default.qubit", 1024) < max_qubits("default.qubit", 1)


def test_capacity_message_names_the_numbers():
    limit = max_qubits("default.qubit", 64)
    check_capacity(DeviceConfig(), limit, 64)  # at the limit: fine
    with pytest.raises(DeviceError) as info:
        check_capacity(DeviceConfig(), limit + 1, 64)
    message = str(info.value)
    assert f"spec asks for {limit + 1} qubits but default.qubit can hold at most {limit} here (batch 64" in message
    assert "GiB memory); lower n_qubits or the batch size" in message


def test_make_device_returns_a_real_seeded_device():
    import pennylane as qml

    def coin_flips(seed: int) -> list[int]:
        dev = make_device(DeviceConfig("default.qubit", {"seed": seed}), wires=3)
        assert len(dev.wires) == 3

        @qml.set_shots(64)
        @qml.qnode(dev)
        def coin():
            qml.Hadamard(0)
            return qml.sample(qml.PauliZ(0))

        return coin().reshape(-1).tolist()

    flips = coin_flips(7)
    assert sorted(set(flips)) == [-1, 1]
    assert coin_flips(7) == flips
    assert coin_flips(8) != flips


@pytest.mark.parametrize("name", [pytest.param("qiskit.aer", marks=needs_qiskit), "qiskit.remote", "braket.aws.qubit"])
def test_sampling_only_devices_refuse_a_candidate_without_shots_before_training(name, monkeypatch):
    from qnas.devices import HARDWARE_CREDENTIALS
    from qnas.evaluation import Budget, evaluate
    from qnas.spec import CandidateSpec, TrainingSpec
    from qnas.tasks import make_task

    for variable in HARDWARE_CREDENTIALS.get(name, ()):
        monkeypatch.delenv(variable, raising=False)
    device = DeviceConfig(name, {"backend": "fake_manila"} if name == "qiskit.aer" else {})
    assert device.samples_only
    device.check_shots(1000)  # any shot count is fine
    analytic = CandidateSpec(n_qubits=2, training=TrainingSpec(epochs=50))
    failed = evaluate(analytic, make_task({"name": "moons", "n_samples": 40}), device, Budget(seed=0))
    # The shots come first (not the credentials, read only when the device is built), and no epoch ran.
    assert failed.status == "failed"
    assert f"device {name!r} samples, and calibration.shots is not set" in failed.error
    assert "calibration.shots: 4000" in failed.error
    assert "train_time_s" not in failed.metrics


@pytest.mark.parametrize("space", ["classification", "state_prep"])
def test_a_search_on_a_sampling_device_refuses_a_space_without_shots_before_the_study_opens(space, tmp_path):
    from qnas.search import SearchConfig, run_search

    storage = tmp_path / "studies.db"
    task = {"name": "moons", "n_samples": 40} if space == "classification" else {"name": "bell"}
    config = SearchConfig(task=task, space=space, device={"name": "qiskit.remote"}, trials=2, workers=0,
                          storage=f"sqlite:///{storage}", study="s")
    with pytest.raises(DeviceError) as refused:
        run_search(config)
    message = str(refused.value)
    assert f"device 'qiskit.remote' samples, and space {space!r} lets candidates run without shots" in message
    assert "shots: {choices: [1000, 4000]}" in message and "aer_classification" in message
    assert not storage.exists()  # refused before any study was opened or trial run


@pytest.mark.parametrize("name", SIMULATORS)
def test_simulators_take_analytic_candidates(name):
    config = DeviceConfig(name, {"calibration": "ibm_manila"} if name == "noisy" else {})
    assert not config.samples_only
    config.check_shots(None)
