"""ADAPT: grow a circuit one pool operator at a time, each picked by a cheap screen (issue 21).

Why: blind proposers (random search, TPE, an untrained policy) spend their first hundreds of
full evaluations learning what one pass over the pool tells for the price of a few vector
products. ADAPT-VQE (Grimsley et al., Nat. Commun. 10, 3007, 2019) and qubit-ADAPT (Tang et
al., PRX Quantum 2, 020310, 2021) rank every operator P of the pool by the energy gradient of
exp(-i theta P / 2) appended at theta = 0:

    dE/dtheta = Re <H psi| -iP |psi>,

one product with H and one permutation per operator: a cheap probe. The best one is appended and
every angle re-optimized, exactly as the design environment does after an action (the same
`CircuitScorer`): a full evaluation. The growth stops at the target, when every gradient is
under `gradient_tolerance` (nothing in the pool lowers the energy to first order), or at
`max_operators`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qnas.adjoint import pauli_kick
from qnas.envs.scoring import CHEMICAL_ACCURACY, CircuitScorer
from qnas.errors import QnasError
from qnas.pauli_rotations import PauliRotation

DEFAULT_GRADIENT_TOLERANCE = 1e-4
"""Ha per radian: under it for every operator, the screen sees nothing left to gain."""


@dataclass(frozen=True)
class AdaptStep:
    """One operator added: which, its screened gradient, the energy error after re-optimizing,
    and the circuit's CNOTs (compiled) so far."""

    word: str
    gradient: float
    energy_error: float
    n_cnots: int


class Adapt:
    """Grows a circuit for a VQE `task` from `pool`; `run` returns the steps taken."""

    def __init__(
        self,
        task: Any,
        pool: Sequence[PauliRotation],
        *,
        threshold: float = CHEMICAL_ACCURACY,
        gradient_tolerance: float = DEFAULT_GRADIENT_TOLERANCE,
        max_operators: int = 40,
        angle_steps: int = 50,
        restarts: int = 1,
    ) -> None:
        if task.kind != "vqe":
            raise QnasError(f"ADAPT grows circuits for ground-state (vqe) tasks; task {task.name!r} is {task.kind}.")
        wrong = [rotation.word for rotation in pool if len(rotation.word) != task.required_qubits]
        if not pool or wrong:
            raise QnasError(
                f"the pool must hold Pauli words of {task.required_qubits} letters (the task's qubits); "
                f"got {len(pool)} operators, of which {wrong[:3]} do not fit. Build it with qnas.pauli_rotations.make_pool."
            )
        self.pool = tuple(pool)
        self.threshold = threshold
        self.gradient_tolerance = gradient_tolerance
        self.max_operators = max_operators
        self.scorer = CircuitScorer(task, angle_steps, 0.0, "lbfgs", restarts)
        self._kicks = [pauli_kick(rotation.word) for rotation in self.pool]
        self.start_error = self.scorer.reset()["energy_error"]
        self.steps: list[AdaptStep] = []

    def screen(self) -> np.ndarray:
        """dE/dtheta of every pool operator appended to the circuit at theta = 0 (cheap probes)."""
        psi = self.scorer.state()
        h_psi = self.scorer.observable.apply(psi)
        return np.array([np.vdot(h_psi, kick(psi)).real for kick in self._kicks])

    @property
    def reached(self) -> bool:
        error = self.steps[-1].energy_error if self.steps else self.start_error
        return error <= self.threshold

    def step(self, rng: np.random.Generator) -> AdaptStep | None:
        """Screen the pool, append the operator with the largest gradient and re-optimize every
        angle; None (and nothing added) when every gradient is under the tolerance."""
        gradients = self.screen()
        best = int(np.argmax(np.abs(gradients)))
        if abs(gradients[best]) < self.gradient_tolerance:
            return None
        rotation = self.pool[best]
        metrics = self.scorer.add_pauli_rotation(rotation, rng)
        n_cnots = (self.steps[-1].n_cnots if self.steps else 0) + rotation.n_cnots
        self.steps.append(AdaptStep(rotation.word, float(gradients[best]), metrics["energy_error"], n_cnots))
        return self.steps[-1]

    def run(self, rng: np.random.Generator) -> list[AdaptStep]:
        """Add operators until the target, a vanishing screen, or `max_operators`."""
        while not self.reached and len(self.steps) < self.max_operators and self.step(rng) is not None:
            pass
        return self.steps
