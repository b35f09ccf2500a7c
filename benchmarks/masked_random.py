"""Masked-uniform random search: each action drawn uniformly among the legal ones (issue 20, point 4).

Optuna's random sampler draws every action index, so it spends evaluations on actions the
environment refuses (stop before the first gate, the same self-inverse gate twice), which
MaskablePPO never draws. This proposer reads the same action mask, so a learner compared with it
is compared with random search on equal terms.
"""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np
from episode_trials import CountedEnv
from profiling import PhaseTimers


class MaskedEnv(CountedEnv, Protocol):
    """A counted environment that also says which actions are legal now."""

    def action_masks(self) -> np.ndarray: ...


def play_masked_random(env: MaskedEnv, seed: int, evaluations: int, timers: PhaseTimers) -> None:
    """Run episodes until `env` has spent `evaluations` steps, each action uniform among
    `env.action_masks()`; episode k resets with the seed `play_trials` gives it, so runs replay."""
    rng = np.random.default_rng(seed)
    episode = 0
    while env.evaluations < evaluations:
        env.reset(seed=seed * 1_000_003 + episode)
        episode += 1
        done = False
        while not done and env.evaluations < evaluations:
            mark = time.perf_counter()
            action = int(rng.choice(np.flatnonzero(env.action_masks())))
            timers.add("proposer: draw", mark)
            _, _, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
