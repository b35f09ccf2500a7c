"""Scores of partial circuits, computed after every action of the circuit-design environment.

Gate-level tasks (state preparation, VQE) re-optimize all angles on an `AdjointCircuit` after
every gate, so a step is a small optimization. The score must be close to what the circuit can reach,
or the agent learns nothing from a good gate: from a computational-basis start (Hartree-Fock)
many angle gradients are exactly 0 at angle 0, a saddle that a new angle started at 0 never
leaves. So a new angle starts at a small seeded random value, a quasi-Newton optimizer (L-BFGS)
converges where a few Adam steps do not, and a few seeded random restarts of all the angles find
minima the warm start misses. Classification trains the layer stack for a few epochs with the
same code `qnas.evaluation` uses: a training run per step, far costlier than a gate-level step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize

from qnas.adjoint import AdjointCircuit, Observable
from qnas.evaluation import make_model_config
from qnas.models import build_model
from qnas.pauli_rotations import Rotation
from qnas.spec import CandidateSpec, GateSpec
from qnas.training import accuracy, train_classifier

CHEMICAL_ACCURACY = 1.6e-3
"""Hartree: the usual VQE success criterion (1 kcal/mol)."""
DEFAULT_THRESHOLDS: dict[str, float | None] = {"state_prep": 0.95, "vqe": CHEMICAL_ACCURACY, "classification": None}
"""Per task kind: fidelity to reach, energy error (Ha) to get under, validation accuracy to reach."""
ERROR_FLOOR = CHEMICAL_ACCURACY / 100
"""Energy error (Ha) at which the VQE score reaches its top, 0: a hundredth of chemical accuracy."""
ANGLE_OPTIMIZERS = ("lbfgs", "adam")
NEW_ANGLE_SPREAD = 0.1
"""A new angle starts uniform in [-0.1, 0.1] rad: off the saddle at 0, near the previous circuit."""

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


def adam(value_and_grad: Objective, start: np.ndarray, steps: int, lr: float) -> tuple[np.ndarray, float]:
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


def lbfgs(value_and_grad: Objective, start: np.ndarray, steps: int) -> tuple[np.ndarray, float]:
    """Minimize with at most `steps` L-BFGS iterations from `start` (scipy); return the point and its value."""
    if steps == 0:
        return start.copy(), value_and_grad(start)[0]
    result = minimize(value_and_grad, start, jac=True, method="L-BFGS-B", options={"maxiter": steps})
    return result.x, float(result.fun)


class CircuitScorer:
    """Fidelity (state preparation) or energy (VQE) of a growing gate list at its best angles.

    The VQE score is logarithmic in the energy error: -log(error / floor) / log(scale / floor),
    with floor = ERROR_FLOOR and scale the reference state's error (Hartree-Fock for molecules,
    at least chemical accuracy), clipped to [-1, 0]. So the start scores -1 and an error at the
    floor (or below) 0 whatever the molecule, and halving the error is worth as much near
    chemical accuracy as far from it. On a linear scale the last step to chemical accuracy on
    LiH at 3.4 A (from 3e-3 to 1.5e-3 Ha, against 0.12 Ha for Hartree-Fock) was worth 0.013,
    less than a gate's cost, so the agent could not see it. The clip keeps rewards bounded: a
    CNOT that turns the state into a high-energy one would otherwise score far below -1.

    After each gate the angles are optimized from the warm start (the previous angles, the new
    one small and random) and from `restarts` random points in [-pi, pi); the best result wins.
    All randomness comes from the generator passed to `add`, so a seeded episode repeats exactly.
    """

    def __init__(
        self, task: Any, angle_steps: int, angle_lr: float, optimizer: str = "lbfgs", restarts: int = 0
    ) -> None:
        self.task = task
        self.n_qubits: int = task.required_qubits
        self.angle_steps = angle_steps
        self.angle_lr = angle_lr
        self.optimizer = optimizer
        self.restarts = restarts
        if task.kind == "vqe":
            self.initial_bits: tuple[int, ...] | None = tuple(task.reference_state)
            wires = range(self.n_qubits)
            self.observable = Observable(matrix=task.hamiltonian.sparse_matrix(wire_order=wires, format="csr"))
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
        self.circuit = AdjointCircuit(self.n_qubits, self.initial_bits)
        self.angles = np.zeros(0)
        return self._metrics(self.circuit.value_and_grad(None, self.observable)[0])

    def add(self, gates: Sequence[GateSpec], rng: np.random.Generator, optimize: bool = True) -> dict[str, float]:
        """Append `gates` (one gate, or a block), re-optimize every angle (random draws from `rng`),
        return the metrics; with `optimize` False, only append (`optimize` follows)."""
        for gate in gates:
            self.circuit.append(gate)
            if gate.trainable:
                self.angles = np.append(self.angles, rng.uniform(-NEW_ANGLE_SPREAD, NEW_ANGLE_SPREAD))
        return self.optimize(rng) if optimize else {}

    def add_pauli_rotation(self, rotation: Rotation, rng: np.random.Generator, optimize: bool = True) -> dict[str, float]:
        """Append a Pauli rotation or an excitation (one trainable angle, one vector operation per
        Pauli string), re-optimize every angle as `add` does, return the metrics."""
        self.circuit.append_pauli_rotation(rotation.terms, rotation.compile())
        self.angles = np.append(self.angles, rng.uniform(-NEW_ANGLE_SPREAD, NEW_ANGLE_SPREAD))
        return self.optimize(rng) if optimize else {}

    @property
    def minimizes(self) -> bool:
        """Whether the observable's value is minimized (an energy) rather than maximized (a fidelity)."""
        return self._sign > 0

    def state(self) -> np.ndarray:
        """The circuit's state at the current angles."""
        return self.circuit.state(self.angles)

    def optimize(self, rng: np.random.Generator) -> dict[str, float]:
        """Optimize every angle from the warm start and `restarts` random points; keep the best."""
        if self.circuit.n_trainable == 0:
            return self._metrics(self.circuit.value_and_grad(None, self.observable)[0])

        def signed(angles: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = self.circuit.value_and_grad(angles, self.observable)
            return self._sign * value, self._sign * grad

        starts = [self.angles] + [rng.uniform(-np.pi, np.pi, self.angles.size) for _ in range(self.restarts)]
        best_angles, best = self.angles, np.inf
        for start in starts:
            if self.optimizer == "adam":
                angles, value = adam(signed, start, self.angle_steps, self.angle_lr)
            else:
                angles, value = lbfgs(signed, start, self.angle_steps)
            if value < best:
                best_angles, best = angles, value
        self.angles = best_angles
        return self._metrics(self._sign * best)

    def _metrics(self, value: float) -> dict[str, float]:
        if self.task.kind == "vqe":
            error = float(self.task.energy_error(value))
            decades = np.log(max(error, ERROR_FLOOR) / ERROR_FLOOR) / np.log(self.scale / ERROR_FLOOR)
            return {"score": -min(float(decades), 1.0), "energy": value, "energy_error": error}
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
