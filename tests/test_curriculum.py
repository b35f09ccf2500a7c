"""The design env's moving threshold (`curriculum=True`): it starts halfway (log scale) between the
reference state's error and the target, and moves down after each run of successes, never past it."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

from qnas.agents.adapt import AdaptScreen
from qnas.envs import CIRCUIT_DESIGN_ID
from qnas.envs.scoring import CHEMICAL_ACCURACY
from qnas.errors import QnasError


def test_the_threshold_moves_down_to_the_target_after_successes():
    env = gym.make(CIRCUIT_DESIGN_ID, task="h2", gate_set="pauli", curriculum=True, curriculum_successes=2,
                   curriculum_shrink=0.5)
    _, info = env.reset(seed=0)
    start = env.unwrapped.threshold
    assert start == pytest.approx(math.sqrt(info["energy_error"] * CHEMICAL_ACCURACY))
    assert info["threshold"] == start and env.unwrapped.target == CHEMICAL_ACCURACY
    screen, thresholds = AdaptScreen(env), []
    for episode in range(12):  # the greedy circuit reaches every threshold: two successes per move
        env.reset(seed=episode)
        done = False
        while not done:
            *_, terminated, truncated, info = env.step(screen.choose())
            done = terminated or truncated
        thresholds.append(env.unwrapped.threshold)
    assert thresholds[:4] == pytest.approx([start, start / 2, start / 2, max(start / 4, CHEMICAL_ACCURACY)])
    assert thresholds[-1] == CHEMICAL_ACCURACY and min(thresholds) == CHEMICAL_ACCURACY


@pytest.mark.parametrize(
    ("options", "message"),
    [({"task": "bell", "curriculum": True}, "moves an energy threshold; task 'bell' is state_prep"),
     ({"task": "h2", "curriculum": True, "curriculum_shrink": 1.5}, "curriculum_shrink = 1.5 must be in (0, 1)"),
     ({"task": "h2", "curriculum": True, "curriculum_successes": 0}, "curriculum_successes = 0 must be an integer")],
)
def test_bad_curriculum_settings_name_the_fix(options, message):
    with pytest.raises(QnasError, match=message.replace("(", r"\(").replace(")", r"\)")):
        gym.make(CIRCUIT_DESIGN_ID, **options)
