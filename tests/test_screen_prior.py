"""The gradient screen as an observation (CircuitDesignEnv(screen_observation=True)) and as a prior
on MaskablePPO's logits (qnas.agents.screen_prior): an untrained policy already picks as ADAPT ranks."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
import torch
from sb3_contrib import MaskablePPO

from qnas.agents.adapt import AdaptScreen
from qnas.agents.screen_prior import ScreenPriorPolicy
from qnas.envs import CIRCUIT_DESIGN_ID
from qnas.errors import QnasError

LIH6 = {"name": "npz", "path": str(Path(__file__).resolve().parents[2] / "shared/benchmarks/hamiltonians/lih_6q_jw_2.2A.npz")}


def screened_env() -> gym.Env:
    return gym.make(CIRCUIT_DESIGN_ID, task=LIH6, gate_set="pauli", screen_observation=True, max_gates=6)


def test_the_observation_carries_the_screen_and_info_counts_its_probes():
    env = screened_env()
    n = env.action_space.n
    obs, info = env.reset(seed=0)
    assert obs.shape == (6 * n + 2 + n,) and info["probes"] == n - 1
    screen = AdaptScreen(env)
    best = screen.choose()
    features = obs[-n:]
    assert features[best] == pytest.approx(1.0) and features[-1] == 0.0 and features.max() == pytest.approx(1.0)
    obs, _, terminated, truncated, info = env.step(best)
    assert info["probes"] == (0 if terminated or truncated else n - 1)
    with pytest.raises(QnasError, match="screen_observation = True screens Pauli rotations; gate_set = 'blocks'"):
        gym.make(CIRCUIT_DESIGN_ID, task=LIH6, gate_set="blocks", screen_observation=True)


def test_an_untrained_policy_with_the_prior_samples_the_steepest_rotation_first(tmp_path: Path):
    env = screened_env()
    obs, _ = env.reset(seed=0)
    masks = env.unwrapped.action_masks()
    best = AdaptScreen(env).choose()
    plain = MaskablePPO("MlpPolicy", env, seed=0, n_steps=16, batch_size=16)
    informed = MaskablePPO(ScreenPriorPolicy, env, seed=0, n_steps=16, batch_size=16)
    probabilities = {}
    for name, model in (("plain", plain), ("informed", informed)):
        with torch.no_grad():
            distribution = model.policy.get_distribution(model.policy.obs_to_tensor(obs)[0], action_masks=masks)
        probabilities[name] = distribution.distribution.probs[0].numpy()
    steep = obs[-len(masks):] > 0.5  # the rotations the screen ranks within a factor 2 of the best (ties)
    assert steep[best] and 0 < steep.sum() < 0.2 * masks.sum()
    assert probabilities["plain"][steep].sum() < 2 * steep.sum() / masks.sum()  # uniform-ish: random search
    assert probabilities["informed"][steep].sum() > 0.7
    informed.save(tmp_path / "agent")
    loaded = MaskablePPO.load(tmp_path / "agent")
    assert isinstance(loaded.policy, ScreenPriorPolicy) and loaded.policy.prior_weight == 2.0
