"""evaluate(spec, task, device, budget) -> EvalResult: the one function a worker runs per candidate.

It is pure: everything it uses arrives as an argument (the spec may come as a plain dict), it seeds
torch and numpy from the budget, and it never lets an exception escape, so a bad candidate costs
one "failed" row in the study rather than a dead worker. The steps:

1. check the spec fits the task (data or no data, qubits fixed by a Hamiltonian or a target) and
   the machine (`check_capacity`);
2. build the model from a JSON-able model_config and train it on the ideal simulator (analytic,
   backprop);
3. score it: on `device` with the spec's `calibration.shots` when those differ from the ideal
   analytic simulator (a second model built from the same config gets the trained weights), and
   also record the ideal score under `ideal_*` and their difference as `noise_gap`; on a noisy
   device also the two-qubit gates after routing onto its coupling map (`two_qubit_gates_routed`).
   A noisy device with the option `noise_aware: true` also trains there (noise-aware training).
4. for classification, train the parameter-matched classical MLP baseline on the same split.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pennylane as qml
import torch

from qnas.baselines import mlp_baseline
from qnas.circuits import circuit_resources, make_qnode
from qnas.devices import DeviceConfig, check_capacity
from qnas.errors import QnasError, TaskError
from qnas.models import build_model, count_parameters
from qnas.noise_model import routed_resources
from qnas.spec import CandidateSpec
from qnas.training import EVAL_CHUNK, Report, TrainResult, accuracy, train_classifier, train_variational

TRAINING_DEVICE = DeviceConfig("default.qubit")
"""Training always runs on the ideal analytic simulator, where backprop is exact and batched."""


@dataclass(frozen=True)
class Budget:
    """What one evaluation may spend: the seed of everything random, and an optional epoch cap.

    `fast_path` trains on the compiled torch simulator (`qnas.compiled_circuit`) where the training
    device is ideal `default.qubit`; False keeps PennyLane there too (same results, slower).
    """

    seed: int = 0
    max_epochs: int | None = None
    fast_path: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.fast_path, bool):
            raise QnasError(f"budget fast_path = {self.fast_path!r} must be true or false.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise QnasError(f"budget seed = {self.seed!r} must be an integer in [0, 2**32 - 1].")
        if self.max_epochs is not None and (
            isinstance(self.max_epochs, bool) or not isinstance(self.max_epochs, int) or self.max_epochs < 1
        ):
            raise QnasError(f"budget max_epochs = {self.max_epochs!r} must be a positive integer or None.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Budget:
        return cls(**data)


@dataclass
class EvalResult:
    """The outcome of one evaluation; `to_dict()` is JSON-able and leaves the weights out."""

    status: str
    value: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, Any] | None = None
    history: list[float] = field(default_factory=list)
    error: str | None = None
    model_config: dict[str, Any] | None = None
    weights: dict[str, np.ndarray] | None = None
    spec_hash: str = ""
    worker: dict[str, Any] | None = None
    """Where it ran ({"node_id", "pid"}); set by the executor, not by `evaluate`."""
    values: list[float] | None = None
    """One value per objective in a multi-objective search; set by the driver (`qnas.objectives`)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "value": self.value,
            "metrics": dict(self.metrics),
            "baseline": None if self.baseline is None else dict(self.baseline),
            "history": list(self.history),
            "error": self.error,
            "model_config": self.model_config,
            "spec_hash": self.spec_hash,
            "worker": self.worker,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        """Rebuild a result from `to_dict()` output (weights are not part of it)."""
        known = {"status", "value", "metrics", "baseline", "history", "error", "model_config", "spec_hash", "worker"}
        return cls(**{key: value for key, value in data.items() if key in known})

    @property
    def reason(self) -> str | None:
        """The one-line reason of a failure (the first line of `error`)."""
        return None if self.error is None else self.error.splitlines()[0]


def make_model_config(spec: CandidateSpec, task: Any) -> dict[str, Any]:
    """The JSON-able description `qnas.models.build_model` rebuilds the model from."""
    config: dict[str, Any] = {"spec": spec.to_dict(), "n_features": 0, "class_names": [], "feature_names": []}
    if task.kind == "classification":
        config.update(
            kind="classifier",
            n_features=int(task.n_features),
            n_outputs=int(task.n_classes),
            class_names=[str(c) for c in task.class_names],
            feature_names=[str(f) for f in task.feature_names],
        )
    elif task.kind == "vqe":
        config.update(
            kind="energy",
            n_outputs=1,
            pauli_terms=[[float(c), str(w)] for c, w in task.pauli_terms()],
            reference_state=list(task.reference_state),
        )
    elif task.kind == "state_prep":
        config.update(kind="state", n_outputs=2**spec.n_qubits)
    else:
        raise TaskError(f"task kind {task.kind!r} is not one of classification, vqe, state_prep.")
    return config


def check_compatible(spec: CandidateSpec, task: Any) -> None:
    """Raise TaskError when the spec cannot be trained on the task, saying what to change."""
    if task.kind == "classification":
        if spec.split == "quantum_only":
            raise TaskError(
                f"split = 'quantum_only' reads no data, but task {task.name!r} is a classification task; "
                "use split quantum_first, quantum_head or quantum_middle."
            )
        return
    if spec.split != "quantum_only":
        raise TaskError(
            f"task {task.name!r} ({task.kind}) has no input data, so it needs split = 'quantum_only', "
            f"got {spec.split!r}."
        )
    if spec.n_qubits != task.required_qubits:
        raise TaskError(
            f"task {task.name!r} needs n_qubits = {task.required_qubits} (fixed by its "
            f"{'Hamiltonian' if task.kind == 'vqe' else 'target state'}), but the spec has {spec.n_qubits}; "
            f"set n_qubits to {task.required_qubits}."
        )


def _scoring_device(device: DeviceConfig, seed: int) -> DeviceConfig:
    """Seed a sampling device from the budget unless its options already fix a seed."""
    if "seed" in device.options:
        return device
    return DeviceConfig(device.name, {**device.options, "seed": seed})


def _variational_objective(task: Any) -> Callable[[torch.Tensor], tuple[torch.Tensor, float]]:
    """(loss, objective) for a model output: (energy, energy error) or (1 - fidelity, fidelity)."""
    if task.kind == "vqe":
        return lambda energy: (energy, float(task.energy_error(energy.item())))
    target = torch.as_tensor(task.target_state, dtype=torch.complex128)

    def objective(state: torch.Tensor) -> tuple[torch.Tensor, float]:
        fidelity = torch.abs(torch.vdot(target, state.to(torch.complex128))) ** 2
        return 1.0 - fidelity, fidelity.item()

    return objective


def _task_metrics(model: torch.nn.Module, task: Any) -> dict[str, float]:
    """The task's metrics for a model: accuracies, energy and its error, or fidelity."""
    with torch.no_grad():
        if task.kind == "classification":
            return {
                "val_accuracy": accuracy(model, task.x_val, task.y_val),
                "test_accuracy": accuracy(model, task.x_test, task.y_test),
            }
        if task.kind == "vqe":
            energy = model().item()
            return {"energy": energy, "energy_error": float(task.energy_error(energy))}
        return {"fidelity": task.fidelity(model())}


def _higher_is_better(task: Any, metrics: dict[str, float]) -> float:
    """The task's score oriented so that higher is better (accuracy, fidelity, -energy error)."""
    if task.kind == "classification":
        return metrics["val_accuracy"]
    value = metrics[task.metric]
    return value if task.direction == "maximize" else -value


def _rebuilt(model: torch.nn.Module, config: dict[str, Any], device: DeviceConfig, shots: int | None) -> torch.nn.Module:
    """The same model, weights included, on another device or with shots."""
    rebuilt = build_model(config, device=device, shots=shots)
    rebuilt.load_state_dict(model.state_dict())
    return rebuilt


def _score(
    model: torch.nn.Module,
    config: dict[str, Any],
    spec: CandidateSpec,
    task: Any,
    device: DeviceConfig,
    seed: int,
    trained_on: DeviceConfig = TRAINING_DEVICE,
) -> dict[str, float]:
    """Task metrics of the trained model; when `device` or the spec's shots differ from the ideal
    analytic simulator, the metrics come from there, the ideal ones are kept as ideal_*, and
    `noise_gap` is the ideal score minus the scored one (scores oriented so higher is better)."""
    ideal_model = model if trained_on == TRAINING_DEVICE else _rebuilt(model, config, TRAINING_DEVICE, None)
    ideal = _task_metrics(ideal_model, task)
    shots = spec.calibration.shots
    if shots is None and device == TRAINING_DEVICE:
        return ideal
    scoring_device = _scoring_device(device, seed)
    if task.kind == "state_prep":
        # A state vector cannot be sampled; the fidelity is the expectation of the target's projector.
        projector = qml.Projector(task.target_state, wires=range(spec.n_qubits))
        qnode = make_qnode(spec, device=scoring_device, shots=shots, measurement=projector)
        with torch.no_grad():
            scored = {"fidelity": float(qnode(**model.circuit_weights()))}
    else:
        scored = _task_metrics(_rebuilt(model, config, scoring_device, shots), task)
    gap = _higher_is_better(task, ideal) - _higher_is_better(task, scored)
    return {**scored, **{f"ideal_{key}": value for key, value in ideal.items()}, "noise_gap": gap}


def _raw_device_config(config: dict[str, Any], spec: CandidateSpec) -> dict[str, Any]:
    """The model config with mitigation off: noise-aware training runs the raw noisy device, since
    ZNE would multiply every training step's circuits; mitigation applies when the model is scored."""
    raw = replace(spec.calibration, readout_mitigation=False, zne_factors=())
    return {**config, "spec": replace(spec, calibration=raw).to_dict()}


def _training_device(device: DeviceConfig, task: Any) -> DeviceConfig:
    """The ideal simulator, or the noisy device itself when its options ask for noise-aware training."""
    if not (device.name == "noisy" and device.options.get("noise_aware")):
        return TRAINING_DEVICE
    if task.kind == "state_prep":
        raise TaskError(
            "noise-aware training needs a measured objective, but a state-preparation task trains on the state "
            "vector, which a noisy device does not have; drop noise_aware or use a classification or VQE task."
        )
    return DeviceConfig("noisy", {k: v for k, v in device.options.items() if k != "seed"})


def _error_text(exc: BaseException) -> str:
    """A one-line reason first; then a traceback, only for errors that are not the user's input."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, QnasError):
        return message
    reason = f"{type(exc).__name__}: {message}"
    return f"{reason}\n\n{traceback.format_exc()}"


def _start_from(model: torch.nn.Module, angles: tuple[float, ...]) -> None:
    """Set a data-free circuit's gate angles (the `gate_angles` weight) to `angles`."""
    weights = getattr(model, "weights", {})
    current = weights["gate_angles"] if "gate_angles" in weights else None
    if current is None or current.numel() != len(angles):
        have = 0 if current is None else current.numel()
        raise QnasError(
            f"start angles: {len(angles)} given, but the spec has {have} trainable gate angles to start from; "
            "a proposer passes the angles of the spec it proposes."
        )
    with torch.no_grad():
        current.copy_(torch.as_tensor(angles, dtype=current.dtype))


def evaluate(
    spec: CandidateSpec | dict[str, Any],
    task: Any,
    device: DeviceConfig | dict[str, Any] | str | None = None,
    budget: Budget | None = None,
    report: Report | None = None,
    start_angles: tuple[float, ...] | None = None,
) -> EvalResult:
    """Train and score one candidate on `task`; see the module docstring. Never raises.

    `start_angles`: where training starts for the spec's trainable gates (a gate-level proposer's
    optimized angles, `Proposal.angles`) instead of random angles."""
    started = time.perf_counter()
    metrics: dict[str, float] = {}
    spec_hash = ""
    try:
        spec = spec if isinstance(spec, CandidateSpec) else CandidateSpec.from_dict(spec)
        spec_hash = spec.hash
        device = device if isinstance(device, DeviceConfig) else DeviceConfig.from_dict(device or "default.qubit")
        budget = budget or Budget()
        torch.manual_seed(budget.seed)
        np.random.seed(budget.seed)

        check_compatible(spec, task)
        device.check_shots(spec.calibration.shots)  # before training, not after it
        classification = task.kind == "classification"
        batch_size = spec.training.batch_size if classification else 1
        # Validation and scoring run EVAL_CHUNK rows per circuit call: check the larger of the two.
        simulated_rows = max(batch_size, EVAL_CHUNK) if classification else 1
        check_capacity(TRAINING_DEVICE, spec.n_qubits, simulated_rows)
        if device != TRAINING_DEVICE:
            check_capacity(device, spec.n_qubits, simulated_rows)
        epochs = spec.training.epochs if budget.max_epochs is None else min(spec.training.epochs, budget.max_epochs)

        config = make_model_config(spec, task)
        trained_on = _training_device(device, task)
        if trained_on == TRAINING_DEVICE:
            model = build_model(config, fast_path=budget.fast_path)
        else:
            model = build_model(_raw_device_config(config, spec), device=trained_on)
        if classification:
            model.set_standardization(task.feature_mean, task.feature_std)
        if start_angles is not None:
            _start_from(model, start_angles)
        metrics["n_params"] = count_parameters(model)
        metrics.update(
            circuit_resources(
                spec,
                task.n_features if classification else None,
                tuple(config["reference_state"]) if "reference_state" in config else None,
            )
        )
        metrics["shots"] = spec.calibration.shots or 0
        if device.name == "noisy":
            metrics.update(routed_resources(spec, device, task.n_features if classification else None))

        train_started = time.perf_counter()
        if metrics["n_params"] == 0:
            # Fixed gates only (e.g. H, CNOT for a Bell state): nothing to train, so score the circuit as is.
            run = TrainResult()
        elif classification:
            run = train_classifier(
                model,
                task.x_train,
                task.y_train,
                task.x_val,
                task.y_val,
                spec.training,
                epochs,
                seed=budget.seed,
                report=report,
            )
        else:
            run = train_variational(model, _variational_objective(task), spec.training, epochs, report=report)
        metrics["train_time_s"] = time.perf_counter() - train_started
        metrics["epochs_run"] = run.epochs_run
        weights = {name: tensor.detach().cpu().numpy().copy() for name, tensor in model.state_dict().items()}

        if run.pruned:
            metrics["wall_time_s"] = time.perf_counter() - started
            return EvalResult(
                "pruned",
                value=run.last_reported,
                metrics=metrics,
                history=run.history,
                model_config=config,
                weights=weights,
                spec_hash=spec_hash,
            )

        metrics.update(_score(model, config, spec, task, device, budget.seed, trained_on))
        baseline = None
        if classification:
            baseline = mlp_baseline(task, metrics["n_params"], epochs, budget.seed)
        value = metrics["val_accuracy" if classification else task.metric]
        if not math.isfinite(value):
            raise QnasError(f"the scored {task.metric} is {value}; the trained model produces non-finite outputs")
        metrics["wall_time_s"] = time.perf_counter() - started
        return EvalResult(
            "ok",
            value=float(value),
            metrics=metrics,
            baseline=baseline,
            history=run.history,
            model_config=config,
            weights=weights,
            spec_hash=spec_hash,
        )
    except Exception as exc:  # a failed candidate is a result, never a crashed worker
        metrics["wall_time_s"] = time.perf_counter() - started
        return EvalResult("failed", metrics=metrics, error=_error_text(exc), spec_hash=spec_hash)
