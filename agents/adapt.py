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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qnas.envs.screening import RotationScreen
from qnas.errors import QnasError, not_allowed

DEFAULT_GRADIENT_TOLERANCE = 1e-4
"""Per radian, in the score's units (Ha, or fidelity): under it for every operator, stop. The
landscape criterion compares each rotation's best gain (Ha, or fidelity) with it."""
DEFAULT_BEAM = 3
CRITERIA = ("gradient", "landscape")


class AdaptScreen:
    """Chooses the next action of a `CircuitDesignEnv(gate_set="pauli")` from the pool's gradients."""

    def __init__(
        self,
        env: Any,
        gradient_tolerance: float = DEFAULT_GRADIENT_TOLERANCE,
        beam: int = DEFAULT_BEAM,
        criterion: str = "gradient",
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
        self.stop = len(actions) - 1
        self._screen = RotationScreen([action.rotation for action in actions[: self.stop]])
        self.probes = 0
        """Operators screened so far: the cheap probes this proposer charged."""

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

    def choose(self, rng: np.random.Generator | None = None) -> int:
        """The next action: stop when every gradient is under the tolerance and stop is legal;
        else with `rng` None the legal rotation of largest |gradient|, or one drawn with `rng`
        among the `beam` largest (an empty circuit must place something, however flat)."""
        mask = self.env.action_masks()
        strength = np.where(mask[: self.stop], self.strengths(), -np.inf)
        if mask[self.stop] and not strength.max() >= self.gradient_tolerance:
            return self.stop
        ranked = np.argsort(-strength, kind="stable")[: self.beam]
        ranked = ranked[np.isfinite(strength[ranked])]
        return int(ranked[0] if rng is None else rng.choice(ranked))
