"""The compiled fast path against PennyLane: every encoding, rotation, entangler pattern and gate,
explicit gate and measurement the spec allows gives the same outputs and gradients (w.r.t. inputs
and weights) to 1e-6; models move between the paths; the off switch keeps PennyLane."""

from __future__ import annotations

import itertools

import numpy as np
import optuna
import pennylane as qml
import pytest
import safetensors.torch
import torch

from qnas.cli import build_parser
from qnas.compiled_circuit import FUSED_WIRES, FastCircuit, FastQuantumLayer, is_real
from qnas.devices import DeviceConfig
from qnas.errors import QnasError
from qnas.evaluation import Budget, evaluate
from qnas.models import build_model
from qnas.search import SearchConfig, run_search
from qnas.spec import (
    ANGLE_GATES,
    ENCODINGS,
    ENTANGLERS,
    ENTANGLING_GATES,
    GATES,
    MEASUREMENTS,
    ROTATIONS,
    SPLITS,
    TWO_QUBIT_GATES,
    CandidateSpec,
    EncodingSpec,
    GateSpec,
    LayerSpec,
    TrainingSpec,
)
from qnas.tasks import make_task
from tests.conftest import SMALL_MOONS

TOL = 1e-6
N_QUBITS = 3
N_FEATURES = 5
DATA_ENCODINGS = [kind for kind in ENCODINGS if kind != "none"]


def classifier_config(spec: CandidateSpec, n_features: int = N_FEATURES) -> dict:
    return {
        "kind": "classifier",
        "spec": spec.to_dict(),
        "n_features": n_features,
        "n_outputs": 2,
        "class_names": ["a", "b"],
        "feature_names": [f"f{i}" for i in range(n_features)],
    }


def both_paths(config: dict, **kwargs) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The same config and seed built on the fast path and on PennyLane, in float64."""
    torch.manual_seed(0)
    fast = build_model(config, **kwargs)
    torch.manual_seed(0)
    slow = build_model(config, fast_path=False, **kwargs)
    return fast.double(), slow.double()


def assert_same_outputs_and_gradients(fast, slow, *args: torch.Tensor) -> None:
    """Outputs agree; so do the gradients of a random projection w.r.t. every input and weight."""
    fast_inputs = [a.clone().requires_grad_() for a in args]
    slow_inputs = [a.clone().requires_grad_() for a in args]
    out_fast, out_slow = fast(*fast_inputs), slow(*slow_inputs)
    assert out_fast.shape == out_slow.shape
    assert out_fast.dtype == out_slow.dtype
    torch.testing.assert_close(out_fast, out_slow, atol=TOL, rtol=0)
    projection = torch.randn(out_fast.shape, dtype=torch.float64)
    if out_fast.is_complex():
        projection = torch.complex(projection, torch.randn_like(projection))
    torch.real(torch.sum(out_fast * projection)).backward()
    torch.real(torch.sum(out_slow * projection)).backward()
    for a, b in zip(fast_inputs, slow_inputs, strict=True):
        torch.testing.assert_close(a.grad, b.grad, atol=TOL, rtol=0)
    slow_params = dict(slow.named_parameters())
    for name, param in fast.named_parameters():
        assert slow_params[name].grad is not None, name
        torch.testing.assert_close(param.grad, slow_params[name].grad, atol=TOL, rtol=0, msg=name)


def quantum_block_pair(spec: CandidateSpec, n_features: int = N_FEATURES):
    """The two quantum blocks of a quantum_first classifier (same initial weights)."""
    fast, slow = both_paths(classifier_config(spec, n_features))
    assert isinstance(fast.quantum, FastQuantumLayer)
    assert isinstance(slow.quantum, qml.qnn.TorchLayer)
    return fast.quantum, slow.quantum


ENCODING_CASES = [
    (kind, reupload, n_features)
    for kind in DATA_ENCODINGS
    for reupload in ((False,) if kind == "amplitude" else (False, True))
    for n_features in (2, N_QUBITS, N_FEATURES)
]


@pytest.mark.parametrize(("kind", "reupload", "n_features"), ENCODING_CASES)
def test_every_encoding_matches_pennylane(kind, reupload, n_features):
    spec = CandidateSpec(
        split="quantum_first",
        n_qubits=N_QUBITS,
        encoding=EncodingSpec(kind, reupload),
        layers=(LayerSpec(("RX", "RY"), "ring", "CRZ"), LayerSpec(("RZ", "RY"), "linear", "CNOT")),
    )
    fast, slow = quantum_block_pair(spec, n_features)
    x = torch.randn(4, n_features, dtype=torch.float64)
    assert_same_outputs_and_gradients(fast, slow, x)


LAYER_CASES = [
    (rotations, entangler, gate)
    for rotations in [(r,) for r in ROTATIONS] + [ROTATIONS, ROTATIONS[::-1]]
    for entangler, gate in itertools.product(ENTANGLERS, ENTANGLING_GATES)
    if entangler != "none" or gate == ENTANGLING_GATES[0]
]


@pytest.mark.parametrize(("rotations", "entangler", "gate"), LAYER_CASES)
def test_every_layer_option_matches_pennylane(rotations, entangler, gate):
    layers = (LayerSpec(rotations, entangler, gate),) * 2
    for n_qubits in (2, 4):  # two wires: ring is a chain; four: ring closes, full has 6 pairs
        spec = CandidateSpec(split="quantum_first", n_qubits=n_qubits, encoding=EncodingSpec("angle_y"), layers=layers)
        fast, slow = quantum_block_pair(spec, n_qubits)
        assert_same_outputs_and_gradients(fast, slow, torch.randn(3, n_qubits, dtype=torch.float64))


def gate_cases() -> list[GateSpec]:
    """Every gate of the spec; angle gates both trainable and with a fixed angle."""
    cases = []
    for name in GATES:
        wires = (2, 0) if name in TWO_QUBIT_GATES else (1,)
        cases.append(GateSpec(name, wires))
        if name in ANGLE_GATES:
            cases.append(GateSpec(name, wires, angle=0.7))
    return cases


@pytest.mark.parametrize("gate", gate_cases(), ids=lambda gate: gate.summary())
def test_every_explicit_gate_matches_pennylane(gate):
    # Before the gate, a layer puts the state in general position; a trainable RY after it keeps
    # every gate's effect visible in the gradients.
    gates = (gate, GateSpec("RY", (0,)), GateSpec("CNOT", (0, 2)), GateSpec("RX", (2,)))
    spec = CandidateSpec(
        split="quantum_first",
        n_qubits=N_QUBITS,
        encoding=EncodingSpec("angle_x"),
        layers=(LayerSpec(("RY", "RZ"), "linear", "CNOT"),),
        gates=gates,
    )
    fast, slow = quantum_block_pair(spec, N_QUBITS)
    assert_same_outputs_and_gradients(fast, slow, torch.randn(3, N_QUBITS, dtype=torch.float64))


@pytest.mark.parametrize("measurement", MEASUREMENTS)
@pytest.mark.parametrize("split", [s for s in SPLITS if s != "quantum_only"])
def test_every_measurement_and_split_matches_pennylane_end_to_end(measurement, split):
    widths = {"quantum_first": ((), (4,)), "quantum_head": ((6,), ()), "quantum_middle": ((6,), (4,))}[split]
    spec = CandidateSpec(
        split=split,
        n_qubits=N_QUBITS,
        pre_layers=widths[0],
        post_layers=widths[1],
        encoding=EncodingSpec("iqp", reupload=True),
        layers=(LayerSpec(("RX", "RY"), "full", "CZ"), LayerSpec(("RY",), "ring", "CRZ")),
        measurement=measurement,
    )
    fast, slow = both_paths(classifier_config(spec))
    assert fast.state_dict().keys() == slow.state_dict().keys()
    for name, value in slow.state_dict().items():  # same seed, same initial weights on both paths
        torch.testing.assert_close(fast.state_dict()[name], value, atol=0, rtol=0)
    assert_same_outputs_and_gradients(fast, slow, torch.randn(5, N_FEATURES, dtype=torch.float64))


def quantum_only_config(kind: str, gates: tuple[GateSpec, ...] = ()) -> dict:
    spec = CandidateSpec(
        split="quantum_only",
        n_qubits=N_QUBITS,
        encoding=EncodingSpec("none"),
        layers=(LayerSpec(("RY", "RZ"), "ring", "CRZ"), LayerSpec(("RY",), "linear", "CNOT")),
        gates=gates,
    )
    config = {"kind": kind, "spec": spec.to_dict(), "n_features": 0, "n_outputs": 1, "class_names": [], "feature_names": []}
    if kind == "energy":
        config.update(pauli_terms=[[0.5, "ZIZ"], [-0.3, "XXI"], [0.2, "IYY"], [0.1, "III"]], reference_state=[1, 0, 1])
    return config


@pytest.mark.parametrize("kind", ["energy", "state"])
def test_energy_and_state_models_match_pennylane(kind):
    fast, slow = both_paths(quantum_only_config(kind, gates=(GateSpec("T", (1,)), GateSpec("RX", (2,)))))
    assert fast.fast and not slow.fast
    assert_same_outputs_and_gradients(fast, slow)


def test_energies_of_a_batch_of_angle_sets_equal_one_call_each():
    fast, slow = both_paths(quantum_only_config("energy"))
    torch.manual_seed(1)
    angle_sets = {name: torch.rand(6, *value.shape, dtype=torch.float64) * 6 for name, value in fast.weights.items()}
    angle_sets = {name: value.requires_grad_() for name, value in angle_sets.items()}
    batched = fast.energies(angle_sets)
    one_each = slow.energies(angle_sets)  # PennyLane: one circuit call per angle set
    assert batched.shape == (6,)
    torch.testing.assert_close(batched, one_each, atol=TOL, rtol=0)
    batched.sum().backward()  # differentiable w.r.t. the angle sets themselves
    assert all(value.grad.shape == value.shape for value in angle_sets.values())
    with torch.no_grad(), pytest.raises(QnasError, match="leading batch dimension"):
        fast.energies({name: value[0] for name, value in angle_sets.items()})
    with torch.no_grad(), pytest.raises(QnasError, match="rot0"):
        fast.energies({**angle_sets, "rot0": angle_sets["rot0"][:, :1]})


def test_real_circuits_are_simulated_in_real_arithmetic():
    real = CandidateSpec(split="quantum_first", n_qubits=2, encoding=EncodingSpec("angle_y"))
    assert is_real(real)
    assert FastCircuit(real, 2)({"rot0": torch.zeros(1, 2)}, torch.zeros(3, 2)).dtype == torch.float64
    assert not is_real(CandidateSpec(split="quantum_first", n_qubits=2, encoding=EncodingSpec("angle_x")))


def test_bad_inputs_are_refused_with_the_expected_shape():
    spec = CandidateSpec(split="quantum_first", n_qubits=2, encoding=EncodingSpec("angle_y"))
    circuit = FastCircuit(spec, 2)
    with pytest.raises(QnasError, match=r"\(batch, 2\)"):
        circuit({"rot0": torch.zeros(1, 2)}, torch.zeros(3, 5))
    with pytest.raises(QnasError, match="reference_state"):
        FastCircuit(CandidateSpec(split="quantum_only", encoding=EncodingSpec("none")), reference_state=(1, 2, 0, 0))


def test_a_fast_trained_model_reloads_through_pennylane(tmp_path):
    spec = CandidateSpec(
        split="quantum_head", n_qubits=N_QUBITS, pre_layers=(4,), encoding=EncodingSpec("angle_z", reupload=True),
        layers=(LayerSpec(("RX", "RY"), "ring", "CRZ"),) * 2,
    )
    config = classifier_config(spec)
    torch.manual_seed(0)
    model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    x, y = torch.randn(32, N_FEATURES), torch.randint(0, 2, (32,))
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    path = tmp_path / "weights.safetensors"
    safetensors.torch.save_file(model.state_dict(), path)
    for kwargs in ({"fast_path": False}, {"device": DeviceConfig("lightning.qubit")}):
        reloaded = build_model(config, **kwargs)
        assert isinstance(reloaded.quantum, qml.qnn.TorchLayer)
        reloaded.load_state_dict(safetensors.torch.load_file(path))
        with torch.no_grad():
            torch.testing.assert_close(reloaded(x), model(x), atol=1e-5, rtol=0)


def test_fast_path_is_the_ideal_default_and_can_be_turned_off():
    config = classifier_config(CandidateSpec(split="quantum_first", n_qubits=2, encoding=EncodingSpec("angle_y")))
    assert isinstance(build_model(config).quantum, FastQuantumLayer)
    assert isinstance(build_model(config, device=DeviceConfig("default.qubit")).quantum, FastQuantumLayer)
    assert isinstance(build_model(config, fast_path=False).quantum, qml.qnn.TorchLayer)
    assert isinstance(build_model(config, shots=100).quantum, qml.qnn.TorchLayer)
    assert isinstance(build_model(config, device=DeviceConfig("default.mixed")).quantum, qml.qnn.TorchLayer)


@pytest.mark.parametrize("task_name", ["moons", "h2"])
def test_evaluations_agree_with_the_fast_path_on_and_off(task_name):
    if task_name == "moons":
        task = make_task("moons", n_samples=120)
        spec = CandidateSpec(
            split="quantum_head", n_qubits=3, encoding=EncodingSpec("angle_x"),
            layers=(LayerSpec(("RZ", "RY"), "ring", "CNOT"),), training=TrainingSpec(learning_rate=0.1, epochs=3),
        )
    else:
        task = make_task("h2")
        spec = CandidateSpec(
            split="quantum_only", n_qubits=4, encoding=EncodingSpec("none"),
            layers=(LayerSpec(("RY",), "linear", "CNOT"),) * 2, training=TrainingSpec(learning_rate=0.1, epochs=20),
        )
    fast = evaluate(spec, task, budget=Budget(seed=3))
    slow = evaluate(spec, task, budget=Budget(seed=3, fast_path=False))
    assert fast.status == slow.status == "ok", (fast.error, slow.error)
    assert fast.value == pytest.approx(slow.value, abs=1e-5)
    assert fast.history == pytest.approx(slow.history, abs=1e-5)
    for name, value in slow.weights.items():
        np.testing.assert_allclose(fast.weights[name], value, atol=1e-4, err_msg=name)
    with pytest.raises(QnasError, match="fast_path"):
        Budget(fast_path="no")


def test_search_cli_has_the_off_switch():
    from qnas.cli import search_config
    from qnas.search_record import new_settings

    def fast_path(*flags: str) -> bool:
        return new_settings(search_config(build_parser().parse_args(["search", *flags])))[0].fast_path

    assert fast_path() is True
    assert fast_path("--no-fast-path") is False


def test_more_wires_than_one_fused_block_match_pennylane():
    assert FUSED_WIRES < 6
    spec = CandidateSpec(
        split="quantum_first", n_qubits=6, encoding=EncodingSpec("angle_x", reupload=True),
        layers=(LayerSpec(("RX", "RY"), "ring", "CNOT"), LayerSpec(("RZ", "RY"), "full", "CRZ")),
    )
    fast, slow = quantum_block_pair(spec, 6)
    assert_same_outputs_and_gradients(fast, slow, torch.randn(3, 6, dtype=torch.float64))


def test_a_search_gives_the_same_trials_with_the_fast_path_on_and_off(tiny_space, storage, monkeypatch):
    built = []  # which path each trained model took: the flag must reach the evaluator

    def recording_build_model(*args, **kwargs):
        model = build_model(*args, **kwargs)
        built.append(isinstance(model.quantum, FastQuantumLayer))
        return model

    monkeypatch.setattr("qnas.evaluation.build_model", recording_build_model)
    values = {}
    for fast_path in (True, False):
        built.clear()
        study = f"fast-{fast_path}"
        config = SearchConfig(
            space=tiny_space, task=SMALL_MOONS, trials=2, workers=0, storage=storage, study=study, fast_path=fast_path
        )
        run_search(config)
        trials = optuna.load_study(study_name=study, storage=storage).trials
        values[fast_path] = [(trial.params, trial.value) for trial in trials]
        assert built and all(fast == fast_path for fast in built)
    assert [params for params, _ in values[True]] == [params for params, _ in values[False]]
    assert [value for _, value in values[True]] == pytest.approx([value for _, value in values[False]], abs=1e-6)
