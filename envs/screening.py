"""The gradient screen of Pauli rotations: how much each candidate rotation would change the
score, appended to the circuit at angle 0, for the price of one vector operation per Pauli string.

    dS/dtheta = sum over its strings of scale * Re <O psi| -iP |psi>

with O the task's observable (the Hamiltonian, or the target's projector) and psi the circuit's
state at its optimized angles. ADAPT (`qnas.agents.adapt`) picks by it; the design environment
can show it to an agent (`screen_observation=True`). Each rotation screened is one cheap probe.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qnas.adjoint import pauli_kick
from qnas.envs.scoring import CircuitScorer
from qnas.pauli_rotations import Rotation


class RotationScreen:
    """The screen of a fixed list of rotations (one kick K = -iP and scale per Pauli string)."""

    def __init__(self, rotations: Sequence[Rotation]) -> None:
        self._kicks = [[(pauli_kick(word), scale) for word, scale in rotation.terms] for rotation in rotations]

    def __len__(self) -> int:
        return len(self._kicks)

    def gradients(self, scorer: CircuitScorer) -> np.ndarray:
        """Each rotation's gradient at angle 0 after the circuit `scorer` holds (its angles as they are)."""
        psi = scorer.state()
        o_psi = scorer.observable.apply(psi)
        return np.array([sum(scale * np.vdot(o_psi, kick(psi)).real for kick, scale in kicks) for kicks in self._kicks])
