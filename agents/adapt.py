"""ADAPT: grow a circuit one Pauli rotation at a time, each picked by a cheap screen (issue 21).

Why: blind proposers (random search, TPE, an untrained policy) spend their first hundreds of
full evaluations learning what one pass over the pool tells for the price of a few vector
products. ADAPT-VQE (Grimsley et al., Nat. Commun. 10, 3007, 2019) and qubit-ADAPT (Tang et
al., PRX Quantum 2, 020310, 2021) rank every operator P of the pool by the gradient of
exp(-i theta P / 2) appended at theta = 0 (`qnas.envs.screening`): one product with the
observable and one permutation per operator, a cheap probe. The proposer acts in the design environment with
`gate_set="pauli"`, so the step that appends the chosen rotation and re-optimizes every angle is
a full evaluation counted exactly as any other proposer's, and the circuits can be pruned and
compared on equal terms.

The first episode is greedy: the largest gradient, and stop when every gradient is under
`gradient_tolerance` (nothing in the pool changes the score to first order). With
`criterion="landscape"` the screen ranks each single-word rotation by the best it can do over its
whole angle, exactly (`qnas.envs.screening`), which also sees gains that start flat. A greedy episode
repeats itself, so later ones keep a small beam: each step draws among the `beam` largest
gradients, which reaches circuits one greedy misstep away.

Where the screen is flat (every gradient under the tolerance) the circuit sits at a stationary
point, which need not be a minimum: with `lookahead` (the default) ADAPT then screens every pair
of rotations by the curvature of the score in their two angles (`RotationScreen.curvatures`) and
places the pair with the steepest descent direction, one rotation per step, before it stops. On
BeH2 at 2.5 Å over the `pairs` pool no single rotation has a gradient at the Hartree-Fock state,
and a greedy episode without the lookahead places one arbitrary rotation and stops there; the
pair screen finds a descent of curvature -0.08 Ha/rad^2 and leaves it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qnas.envs.screening import RotationScreen
from qnas.errors import QnasError, not_allowed

DEFAULT_GRADIENT_TOLERANCE = 1e-4
"""Per radian, in the score's units (Ha, or fidelity): under it for every operator, stop. The
landscape criterion compares each rotation's best gain (Ha, or fidelity) with it, and the lookahead
each pair's curvature (per radian squared)."""
DEFAULT_BEAM = 3
CRITERIA = ("gradient", "landscape")
PairChoice = tuple[int, int, int]
"""A pair the lookahead chose: (first action, second action, rotations placed before the first)."""


class AdaptScreen:
    """Chooses the next action of a `CircuitDesignEnv(gate_set="pauli")` from the pool's gradients."""

    def __init__(
        self,
        env: Any,
        gradient_tolerance: float = DEFAULT_GRADIENT_TOLERANCE,
        beam: int = DEFAULT_BEAM,
        criterion: str = "gradient",
        lookahead: bool = True,
    ) -> None:
        if criterion not in CRITERIA:
            raise QnasError(not_allowed("criterion", criterion, CRITERIA))
        self.criterion = criterion
        self.env = env.unwrapped
        actions = self.env.actions
        if any(action.kind not in ("rotation", "stop") for action in actions):
            raise QnasError(
                "ADAPT screens Pauli rotations: build the environment with gate_set='pauli' "
                f"(its actions are {sorted({a.kind for a in actions})})."
            )
        self.gradient_tolerance = gradient_tolerance
        self.beam = beam
        self.lookahead = lookahead
        self._pending: PairChoice | None = None
        self.stop = len(actions) - 1
        self._screen = RotationScreen([action.rotation for action in actions[: self.stop]])
        self.probes = 0
        """Operators and pairs screened so far: the cheap probes this proposer charged."""

    def gradients(self) -> np.ndarray:
        """The score's gradient for each rotation action appended at theta = 0, in action order."""
        self.probes += len(self._screen)
        return self._screen.gradients(self.env.scorer)

    def strengths(self) -> np.ndarray:
        """What `choose` ranks by: |gradient|, or each rotation's best gain over its angle (landscape)."""
        if self.criterion == "landscape":
            self.probes += len(self._screen)
            return self._screen.landscape_gains(self.env.scorer)
        return np.abs(self.gradients())

    def pair_strengths(self) -> np.ndarray:
        """S[i, j]: the steepest improvement of the score's curvature over the two angles of
        rotation i appended, then j after it (the 2 x 2 curvature's eigenvalue on the side the
        score improves: the most negative for an energy, as a positive strength)."""
        self.probes += len(self._screen) ** 2
        sign = -1.0 if self.env.scorer.minimizes else 1.0
        curvature = sign * self._screen.curvatures(self.env.scorer)
        own = np.diag(curvature)
        mean, half_gap = (own[:, None] + own[None, :]) / 2, (own[:, None] - own[None, :]) / 2
        return mean + np.hypot(half_gap, curvature)

    def choose(self, rng: np.random.Generator | None = None) -> int:
        """The next action: the second rotation of a pair the lookahead chose last step; else, when
        every gradient is under the tolerance, the first of the best pair (`lookahead`), or stop
        where it is legal; else with `rng` None the legal rotation of largest |gradient|, or one
        drawn with `rng` among the `beam` largest (an empty circuit must place something, however
        flat)."""
        mask = self.env.action_masks()
        placed = self.env.placed_actions
        pending, self._pending = self._pending, None
        if pending is not None and placed[pending[2]:] == (pending[0],) and mask[pending[1]]:
            return pending[1]
        strength = np.where(mask[: self.stop], self.strengths(), -np.inf)
        if not strength.max() >= self.gradient_tolerance:
            pair = self._choose_pair(mask, rng) if self.lookahead else None
            if pair is not None:
                self._pending = (*pair, len(placed))
                return pair[0]
            if mask[self.stop]:
                return self.stop
        return self._pick(strength, rng)

    def _choose_pair(self, mask: np.ndarray, rng: np.random.Generator | None) -> tuple[int, int] | None:
        """The pair of legal, distinct rotations whose curvature improves the score most (with
        `rng`: one drawn among the `beam` best), or None where none reaches the tolerance."""
        legal = mask[: self.stop]
        strength = np.where(legal[:, None] & legal[None, :], self.pair_strengths(), -np.inf)
        np.fill_diagonal(strength, -np.inf)
        if not strength.max() >= self.gradient_tolerance:
            return None
        flat = self._pick(strength.ravel(), rng)
        return int(flat // self.stop), int(flat % self.stop)

    def _pick(self, strength: np.ndarray, rng: np.random.Generator | None) -> int:
        """The index of the largest finite strength, or one drawn with `rng` among the `beam` largest."""
        ranked = np.argsort(-strength, kind="stable")[: self.beam]
        ranked = ranked[np.isfinite(strength[ranked])]
        return int(ranked[0] if rng is None else rng.choice(ranked))
