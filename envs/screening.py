"""The screen of Pauli rotations: how much each candidate rotation would change the score,
appended to the circuit, for the price of a few vector operations per rotation.

- gradient: dS/dtheta at angle 0 = sum over its strings of scale * Re <O psi| -iP |psi>, with O the
  task's observable (the Hamiltonian, or the target's projector) and psi the circuit's state at
  its optimized angles; one permutation per Pauli string;
- landscape (single Pauli words): the whole one-parameter curve. With P^2 = 1 the score after
  exp(-i theta P / 2) is exactly A + B cos(theta) + C sin(theta), where A and B come from <O> and
  <P O P> and C is the gradient, so its best value over theta is A -/+ sqrt(B^2 + C^2). It sees a
  gain where the gradient is 0 (a rotation whose best angle is pi), for one product with O more.

- curvatures (pairs): the score's second derivatives in the angles of rotation i appended at 0
  and rotation j after it, -<[G_i, [G_j, O]]> / 4 for generators G, from the products
  <G_i O G_j> and <G_i G_j O>: one product with O per rotation and two small matrix products. Where
  every gradient is 0 (a stationary point, such as a Hartree-Fock state), a pair whose 2 x 2
  curvature has a descent direction still lowers the energy, where neither rotation alone does.

ADAPT (`qnas.agents.adapt`) picks by these; the design environment can show the gradient to an
agent (`screen_observation=True`). Each rotation screened is one cheap probe; each pair, one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qnas.adjoint import pauli_kick
from qnas.envs.scoring import CircuitScorer
from qnas.errors import QnasError
from qnas.pauli_rotations import Rotation


class RotationScreen:
    """The screen of a fixed list of rotations (one kick K = -iP and scale per Pauli string)."""

    def __init__(self, rotations: Sequence[Rotation]) -> None:
        self._kicks = [[(pauli_kick(word), scale) for word, scale in rotation.terms] for rotation in rotations]
        self.single_words = all(len(kicks) == 1 and kicks[0][1] == 1.0 for kicks in self._kicks)
        """Whether every rotation is one Pauli word (the landscape's sinusoid needs it)."""

    def __len__(self) -> int:
        return len(self._kicks)

    def gradients(self, scorer: CircuitScorer) -> np.ndarray:
        """Each rotation's gradient at angle 0 after the circuit `scorer` holds (its angles as they are)."""
        psi = scorer.state()
        o_psi = scorer.observable.apply(psi)
        return np.array([sum(scale * np.vdot(o_psi, kick(psi)).real for kick, scale in kicks) for kicks in self._kicks])

    def curvatures(self, scorer: CircuitScorer) -> np.ndarray:
        """C[i, j]: d^2 S / d theta_i d theta_j at 0 for rotation i appended after the circuit
        `scorer` holds, then rotation j after it (C[i, i]: rotation i's own curvature)."""
        psi = scorer.state()
        o_psi = scorer.observable.apply(psi)

        def generated(vector: np.ndarray) -> np.ndarray:
            """G_k vector for every rotation k, one per row (P v = i K v for the kick K = -iP)."""
            return np.array([sum(scale * 1j * kick(vector) for kick, scale in kicks) for kicks in self._kicks])

        g_psi = generated(psi)
        o_g_psi = np.array([scorer.observable.apply(row) for row in g_psi])
        g_o_psi = generated(o_psi)
        return ((g_psi.conj() @ o_g_psi.T).real - (g_psi.conj() @ g_o_psi.T).real) / 2

    def landscape_gains(self, scorer: CircuitScorer) -> np.ndarray:
        """Each single-word rotation's best improvement of the score over its angle (energy drop,
        or fidelity gain), with the circuit's other angles as they are."""
        if not self.single_words:
            raise QnasError(
                "the landscape screen needs single Pauli words (excitations tie several); use the gradient screen."
            )
        psi = scorer.state()
        o_psi = scorer.observable.apply(psi)
        before = np.vdot(psi, o_psi).real
        gains = np.empty(len(self._kicks))
        for index, ((kick, _),) in enumerate(self._kicks):
            flipped = kick(psi)  # -iP psi: <P O P> = <K psi|O|K psi>
            a_plus_b, a_minus_b = before, scorer.observable.value(flipped)
            b, c = (a_plus_b - a_minus_b) / 2, np.vdot(o_psi, flipped).real
            gains[index] = np.hypot(b, c) + (b if scorer.minimizes else -b)
        return gains
