"""Shorter circuits from successful episodes: drop blocks while the circuit still reaches the threshold.

An agent that reaches a task's threshold often keeps blocks that do nothing useful, and some
only cancel in pairs: in `H0 Y0 CNOT0,1 Z1 CNOT0,2` (GHZ-3, 5 gates) removing Y0 or Z1 alone
leaves a relative minus sign and fidelity 0, so no single change of the policy's circuit
improves it, and PPO settles there (BENCHMARKS.md, GHZ-3). `PruneOnSuccess` removes them after
the fact, as QAS methods prune a found circuit:

when an episode ends at the threshold, the wrapper replays the circuit without one block, then
(for circuits of at most `max_pair_blocks` blocks) without two, in the same environment, keeps
the first shorter replay that still reaches the threshold, and repeats until no removal does,
or until `max_replay_steps` are spent. A replay that reaches the threshold early stops there,
so a prefix can win too.

Replays are ordinary episodes of the wrapped environment: every step is a circuit evaluation, and
wrappers inside this one (counters, monitors) see them like any other. A circuit already pruned
is not replayed again. The terminal step's `info["pruned"]` holds the result: "actions" (labels),
"n_gates", "n_two_qubit", "evaluations" (replay steps spent), and the replay's own final info
("spec", "angles", metrics), so a proposer can propose the shorter circuit.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import gymnasium as gym
import numpy as np

DEFAULT_MAX_PAIR_BLOCKS = 10
"""Pairs of blocks are tried only up to this length: a circuit of n blocks has n (n - 1) / 2 pairs."""
DEFAULT_MAX_REPLAY_STEPS = 2_000
"""Replay steps one circuit may spend: on H2, 11-17 gate circuits took 242-837 replay steps."""


class PruneOnSuccess(gym.Wrapper):
    """Prunes every circuit that reaches the threshold; see the module docstring."""

    def __init__(
        self,
        env: gym.Env,
        max_pair_blocks: int = DEFAULT_MAX_PAIR_BLOCKS,
        max_replay_steps: int = DEFAULT_MAX_REPLAY_STEPS,
    ) -> None:
        super().__init__(env)
        self.max_pair_blocks = max_pair_blocks
        self.max_replay_steps = max_replay_steps
        # circuit -> (the shortest found, its final info, replay steps spent finding it)
        self._pruned: dict[tuple[int, ...], tuple[tuple[int, ...], dict[str, Any], int]] = {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        design = self.env.unwrapped
        if terminated and design.reached_threshold():
            placed = design.placed_actions
            if placed not in self._pruned:
                self._pruned[placed] = self._prune(placed, info)
            shortest, final, spent = self._pruned[placed]
            labels = [design.actions[i].label for i in shortest]
            info = {**info, "pruned": {**final, "actions": labels, "evaluations": spent}}
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        return self.env.unwrapped.action_masks()

    def _prune(self, placed: tuple[int, ...], info: dict[str, Any]) -> tuple[tuple[int, ...], dict[str, Any], int]:
        best, final, spent = placed, info, 0
        shorter = True
        while shorter and len(best) > 1:
            shorter = False
            for drop in self._removals(len(best)):
                if spent >= self.max_replay_steps:
                    return best, final, spent  # the shortest so far: pruning is a bonus, not a search
                candidate = tuple(a for i, a in enumerate(best) if i not in drop)
                steps, reached = self._replay(candidate)
                spent += steps
                if reached is not None:
                    (best, final), shorter = reached, True
                    break
        return best, final, spent

    def _removals(self, n: int) -> list[tuple[int, ...]]:
        singles = [(i,) for i in reversed(range(n))]
        return singles + (list(combinations(range(n), 2)) if n <= self.max_pair_blocks else [])

    def _replay(self, candidate: tuple[int, ...]) -> tuple[int, tuple[tuple[int, ...], dict[str, Any]] | None]:
        """Play `candidate`: the steps it took, and the blocks placed with the final info if it
        reached the threshold."""
        design = self.env.unwrapped
        self.env.reset()
        for steps, action in enumerate(candidate, start=1):
            if not design.action_masks()[action]:
                return steps - 1, None  # e.g. the same self-inverse gate twice in a row: a removal covers it
            _, _, terminated, truncated, info = self.env.step(action)
            if terminated or truncated:
                return steps, (design.placed_actions, info) if terminated and design.reached_threshold() else None
        return len(candidate), None
