"""`--agent adapt`: proposals grown by ADAPT's screen (`qnas.agents.adapt`), one episode each.

Each proposal is one episode in the design environment over the space's operator pool
(`gate_set="pauli"`, the space's `pool`): the first greedy, the later ones drawing among the
beam, so a search gets the greedy circuit first and variations of it after. The circuit is pruned
at the task's threshold (`EpisodeProposer`), and the trial records `proposer=adapt`, the
rotations placed (`adapt_actions`), the screening cost (`adapt_probes`: operators screened) and
the full evaluations the episode spent (`adapt_full_evaluations`, plus `adapt_prune_evaluations`
for the pruning replay). With `warm_start` (rotation labels, `qnas scan`'s previous point), each
episode starts from that circuit (the env's warm start: its angles optimized once, one full
evaluation), then screens on from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna

from qnas.agents.adapt import AdaptScreen
from qnas.agents.base import Proposal
from qnas.agents.episode_proposer import EpisodeProposer, design_env
from qnas.errors import QnasError
from qnas.search_spaces import SearchSpace


class AdaptProposer(EpisodeProposer):
    """Grows each proposal with the gradient screen over `space`'s pool for `task`."""

    def __init__(
        self, study: optuna.Study, task: Any, space: SearchSpace, seed: int = 0, warm_start: Sequence[str] = ()
    ) -> None:
        super().__init__(study, "adapt", space)
        self.env = design_env("adapt", task, space, "pauli")
        self.screen = AdaptScreen(self.env)
        labels = [action.label for action in self.env.unwrapped.actions]
        unknown = [label for label in warm_start if label not in labels]
        if unknown:
            raise QnasError(
                f"warm start {unknown[:3]} names rotations this task's pool does not hold "
                f"(e.g. {labels[:3]}); warm start from a task with as many qubits and the same pool."
            )
        self.warm_start = [labels.index(label) for label in warm_start]
        """Actions every episode places first (`qnas scan`: the previous point's best circuit)."""
        self._seed = seed
        self._episodes = 0

    def ask(self) -> Proposal:
        episode = self._episodes
        self._episodes += 1
        rng = None if episode == 0 else np.random.default_rng([self._seed, episode])
        _, info = self.env.reset(
            seed=self._seed * 100_003 + episode, options={"actions": self.warm_start} if self.warm_start else None
        )
        design = self.env.unwrapped
        probes, labels = self.screen.probes, [design.actions[a].label for a in self.warm_start]
        placed, done = (1 if self.warm_start else 0), False  # a warm start is one angle optimization
        while not done:
            # a warm start that already reaches the threshold is proposed as it is (and pruned)
            action = self.screen.stop if design.reached_threshold() else self.screen.choose(rng)
            _, _, terminated, truncated, info = self.env.step(action)
            labels.append(info["action"])
            placed += info["action"] != "stop"
            done = terminated or truncated
        attrs = {"adapt_actions": labels, "adapt_probes": self.screen.probes - probes, "adapt_full_evaluations": placed}
        if "pruned" in info:
            attrs["adapt_prune_evaluations"] = info["pruned"]["evaluations"]
        return self._propose_episode(info, attrs)
