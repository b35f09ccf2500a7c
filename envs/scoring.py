"""Scores of partial circuits, computed after every action of the circuit-design environment.

Gate-level tasks (state preparation, VQE) re-optimize all angles with a few Adam steps on a
`CompiledCircuit`, so a step costs milliseconds. Classification trains the layer stack for a few
epochs with the same code `qnas.evaluation` uses; that is seconds per step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from qnas.evaluation import make_model_config
from qnas.models import build_model
from qnas.spec import CandidateSpec, GateSpec
from qnas.statevector import CompiledCircuit, Observable
from qnas.tasks.vqe import dense_matrix
from qnas.training import accuracy, train_classifier

CHEMICAL_ACCURACY = 1.6e-3
"""Hartree: the usual VQE success criterion (1 kcal/mol)."""
DEFAULT_THRESHOLDS: dict[str, float | None] = {"state_prep": 0.95, "vqe": CHEMICAL_ACCURACY, "classification": None}
"""Per task kind: fidelity to reach, energy error (Ha) to get under, validation accuracy to reach."""

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


def adam(
    value_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]], start: np.ndarray, steps: int, lr: float
) -> tuple[np.ndarray, float]:
    """Minimize with `steps` Adam steps from `start`; return the best point evaluated and its value.

    Written out rather than torch.optim.Adam: on a dozen angles its per-step overhead (~150 us
    measured) is as large as the whole circuit gradient.
    """
    x = start.copy()
    m, v = np.zeros_like(x), np.zeros_like(x)
    best_x, best_value = x.copy(), np.inf
    for step in range(steps + 1):
        value, grad = value_and_grad(x)
        if value < best_value:
            best_x, best_value = x.copy(), value
        if step == steps:
            break
        m = ADAM_BETAS[0] * m + (1 - ADAM_BETAS[0]) * grad
        v = ADAM_BETAS[1] * v + (1 - ADAM_BETAS[1]) * grad * grad
        m_hat = m / (1 - ADAM_BETAS[0] ** (step + 1))
        v_hat = v / (1 - ADAM_BETAS[1] ** (step + 1))
        x -= lr * m_hat / (np.sqrt(v_hat) + ADAM_EPS)
    return best_x, best_value


class CircuitScorer:
    """Fidelity (state preparation) or energy (VQE) of a growing gate list at its best angles.

    The VQE score is normalized: -(energy error) / scale, where scale is the reference state's
    error (Hartree-Fock for molecules) floored at chemical accuracy. So the start scores -1 and
    the exact ground state 0 whatever the molecule, and a reward of 0.1 is a tenth of the way.
    """

    def __init__(self, task: Any, angle_steps: int, angle_lr: float) -> None:
        self.task = task
        self.n_qubits: int = task.required_qubits
        self.angle_steps = angle_steps
        self.angle_lr = angle_lr
        if task.kind == "vqe":
            self.initial_bits: tuple[int, ...] | None = tuple(task.reference_state)
            self.observable = Observable(matrix=dense_matrix(task.hamiltonian, self.n_qubits))
            self._sign = 1.0
        else:
            self.initial_bits = None
            self.observable = Observable(target=task.target_state)
            self._sign = -1.0  # maximize fidelity
        self.scale = 1.0
        start = self.reset()
        if task.kind == "vqe":
            self.scale = max(start["energy_error"], CHEMICAL_ACCURACY)

    def reset(self) -> dict[str, float]:
        """Start from the empty circuit; return the metrics of the start state."""
        self.circuit = CompiledCircuit(self.n_qubits, self.initial_bits)
        self.angles = np.zeros(0)
        return self._metrics(self.circuit.value_and_grad(None, self.observable)[0])

    def add(self, gate: GateSpec) -> dict[str, float]:
        """Append `gate` (a new trainable angle starts at 0), re-optimize every angle, return the metrics."""
        self.circuit.append(gate)
        if gate.trainable:
            self.angles = np.append(self.angles, 0.0)
        if self.circuit.n_trainable == 0:
            return self._metrics(self.circuit.value_and_grad(None, self.observable)[0])

        def signed(angles: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = self.circuit.value_and_grad(angles, self.observable)
            return self._sign * value, self._sign * grad

        self.angles, best = adam(signed, self.angles, self.angle_steps, self.angle_lr)
        return self._metrics(self._sign * best)

    def _metrics(self, value: float) -> dict[str, float]:
        if self.task.kind == "vqe":
            error = float(self.task.energy_error(value))
            return {"score": -error / self.scale, "energy": value, "energy_error": error}
        return {"score": value, "fidelity": value}

    def reached(self, metrics: dict[str, float], threshold: float) -> bool:
        """Whether the metrics meet `threshold`: an energy error at most it, or a fidelity at least it."""
        if self.task.kind == "vqe":
            return metrics["energy_error"] <= threshold
        return metrics["fidelity"] >= threshold


class ClassifierScorer:
    """Validation accuracy of a layered spec after a short training (`epochs` epochs)."""

    def __init__(self, task: Any, epochs: int) -> None:
        self.task = task
        self.epochs = epochs

    def baseline(self) -> dict[str, float]:
        """What a model that ignores its input scores: the majority class's share of the validation set."""
        share = float(np.bincount(self.task.y_val).max() / len(self.task.y_val))
        return {"score": share, "val_accuracy": share}

    def score(self, spec: CandidateSpec, seed: int) -> dict[str, float]:
        """Train `spec` from a fresh `seed`-ed initialization; torch's global RNG is restored afterwards,
        so an agent sampling from torch is not reseeded by the environment."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_model(make_model_config(spec, self.task))
            model.set_standardization(self.task.feature_mean, self.task.feature_std)
            task = self.task
            train_classifier(model, task.x_train, task.y_train, task.x_val, task.y_val, spec.training, self.epochs, seed)
            value = accuracy(model, task.x_val, task.y_val)
        return {"score": value, "val_accuracy": value}
